from .._base import BaseModel


class Completion(BaseModel):
    id: str
    text: str
