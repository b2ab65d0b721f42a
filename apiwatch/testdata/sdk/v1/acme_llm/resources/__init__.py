from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .chat import Completions as Completions, AsyncCompletions as AsyncCompletions
else:
    from .chat import *  # noqa: F403
