import os

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "pkg", "data.txt")) as f:
    print(f.read().strip())
