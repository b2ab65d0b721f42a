from .chat_completion import ChatCompletion as ChatCompletion
from .completion import Completion as Completion
