"""Virtualenvs holding an SDK at the oldest version its declaration claims,
for running the same flow tests against it.

Each is built with pip under .venv/sdk-versions/<dist>-<version>/ (ignored by
git, with the project's own .venv) and reused while its stamp matches.
Run by hand: python pyshim/tests/sdk_versions.py openai
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GENERATED = os.path.join(ROOT, "pyshim", "aco", "patches", "_generated")


def oldest(dist):
    """The lower bound of the declared range of dist, e.g. "1.66" from ">=1.66,<4"."""
    src = open(os.path.join(GENERATED, dist.replace("-", "_") + ".py"), encoding="utf-8").read()
    versions = re.search(r'"versions": "([^"]+)"', src).group(1)
    m = re.search(r">=\s*([0-9][0-9.]*)", versions)
    if not m:
        raise ValueError("%s declares no lower bound (>=) in %r" % (dist, versions))
    return m.group(1)


def venv(dist, version, extra=("pytest",)):
    """The python of a virtualenv with dist==version and extra, built once."""
    home = os.environ.get("ACO_TEST_VENVS") or os.path.join(ROOT, ".venv", "sdk-versions")
    path = os.path.join(home, "%s-%s" % (dist, version))
    python = os.path.join(path, "bin", "python")
    want = "\n".join(["%s==%s" % (dist, version), *extra]) + "\n"
    stamp = os.path.join(path, ".aco-stamp")
    try:
        if open(stamp, encoding="utf-8").read() == want:
            return python
    except OSError:
        pass
    subprocess.run([sys.executable, "-m", "venv", "--clear", path], check=True)
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "%s==%s" % (dist, version), *extra],
        check=True,
        timeout=900,
    )
    with open(stamp, "w", encoding="utf-8") as f:
        f.write(want)
    return python


if __name__ == "__main__":
    dist = sys.argv[1] if len(sys.argv) > 1 else "openai"
    version = sys.argv[2] if len(sys.argv) > 2 else oldest(dist)
    print(venv(dist, version))
