"""Run pytest with aco's import hook rewriting everything under ROOT:
``python bootstrap.py ROOT REPORT [pytest args...]``. REPORT gets the number
of modules that were loaded from rewritten code, so a run that rewrote
nothing cannot pass for a transparent one."""

import os
import sys

root, report = sys.argv[1], sys.argv[2]
shim = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.append(shim)
sys.path.insert(0, root)

from aco.rewrite import hook  # noqa: E402

if hook.install([root]) is None:
    raise SystemExit("aco: the import hook did not install")

import pytest  # noqa: E402

code = pytest.main(sys.argv[3:])
rewritten = sorted(
    name for name, m in list(sys.modules.items()) if type(getattr(m, "__loader__", None)).__name__ == "RewritingLoader"
)
with open(report, "w") as f:
    f.write("\n".join(rewritten))
raise SystemExit(code)
