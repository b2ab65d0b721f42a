from typing import List, Optional, overload

from .._base import NOT_GIVEN
from ..types import ChatCompletion

__all__ = ["Completions", "AsyncCompletions"]


class Completions:
    def __init__(self, client):
        self._client = client

    @overload
    def create(self, *, model: str, conversation: List[dict], stream: bool) -> ChatCompletion: ...

    # 2.0: messages is called conversation; stream_options is new;
    # legacy_complete is gone; batch is new.
    def create(
        self,
        *,
        model: str,
        conversation: List[dict],
        temperature: Optional[float] = NOT_GIVEN,
        stream: bool = False,
        stream_options: Optional[dict] = NOT_GIVEN,
    ) -> ChatCompletion:
        raise NotImplementedError

    def batch(self, requests: List[dict]) -> List[ChatCompletion]:
        raise NotImplementedError


class AsyncCompletions:
    async def create(
        self,
        *,
        model: str,
        conversation: List[dict],
        temperature: Optional[float] = NOT_GIVEN,
        stream: bool = False,
        stream_options: Optional[dict] = NOT_GIVEN,
    ) -> ChatCompletion:
        raise NotImplementedError

    async def batch(self, requests: List[dict]) -> List[ChatCompletion]:
        raise NotImplementedError
