import sys

from .helper import greet

print(greet(sys.argv[1] if len(sys.argv) > 1 else "world"))
print(__name__, __package__)
