from typing import List, Optional, overload

from .._base import NOT_GIVEN
from ..types import ChatCompletion, Completion

__all__ = ["Completions", "AsyncCompletions"]


class Completions:
    def __init__(self, client):
        self._client = client

    @overload
    def create(self, *, model: str, messages: List[dict], stream: bool) -> ChatCompletion: ...

    def create(
        self,
        *,
        model: str,
        messages: List[dict],
        temperature: Optional[float] = NOT_GIVEN,
        stream: bool = False,
    ) -> ChatCompletion:
        raise NotImplementedError

    def legacy_complete(self, prompt: str, *, model: str) -> Completion:
        raise NotImplementedError


class AsyncCompletions:
    async def create(
        self,
        *,
        model: str,
        messages: List[dict],
        temperature: Optional[float] = NOT_GIVEN,
        stream: bool = False,
    ) -> ChatCompletion:
        raise NotImplementedError
