import sys
data = sys.stdin.read()
print(repr(data.upper()))
print("err line", file=sys.stderr)
