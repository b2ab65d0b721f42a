import os
import sys

# The shim is not installed anywhere: aco-launch puts pyshim/ on PYTHONPATH,
# and the tests do the same.
_PYSHIM = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _PYSHIM not in sys.path:
    sys.path.insert(0, _PYSHIM)
