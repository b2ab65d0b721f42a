"""acme_llm: a small SDK shaped like the real ones, for apiwatch's tests."""
from ._client import Client as Client
