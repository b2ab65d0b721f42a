from typing import List, Optional

from .._base import BaseModel


class Message(BaseModel):
    role: str
    content: Optional[str] = None


class Choice(BaseModel):
    index: int
    message: Message


class ChatCompletion(BaseModel):
    id: str
    model: str
    choices: List[Choice]
