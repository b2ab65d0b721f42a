from .resources import Completions


class Client:
    def __init__(self, api_key=None):
        self.completions = Completions(self)
