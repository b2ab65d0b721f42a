class BaseModel:
    """Stands in for pydantic's BaseModel."""


NOT_GIVEN = object()
