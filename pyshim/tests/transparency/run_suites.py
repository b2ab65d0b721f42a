"""Transparency check: the own test suites of popular pure-Python libraries,
run under plain python and with their source and tests rewritten by aco's
import hook, must give the same pass/fail counts.

    python pyshim/tests/transparency/run_suites.py [--sdists DIR] [NAME ...]

Downloads each pinned sdist with pip (unless --sdists holds it), unpacks it
in a temporary directory, and runs its tests twice with pytest
(--assert=plain, so pytest's own assertion rewriting does not take the test
modules from our hook). Prints the counts and exits 1 on any difference or
when the rewritten run rewrote nothing.
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# name: (pinned version, test path inside the sdist)
SUITES = {
    "more-itertools": ("11.2.1", "tests"),
    "six": ("1.17.0", "test_six.py"),
    "boltons": ("26.2.0", "tests"),
}

_COUNT = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|warnings?|deselected)")


def fetch(name, version, sdists):
    pattern = os.path.join(sdists, "%s-%s.tar.gz" % (name.replace("-", "[-_]"), version))
    found = glob.glob(pattern)
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", sdists, "%s==%s" % (name, version)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        found = glob.glob(pattern)
    return found[0]


def unpack(archive, dest):
    with tarfile.open(archive) as t:
        t.extractall(dest, filter="data")
    (top,) = os.listdir(dest)
    return os.path.join(dest, top)


def counts(output):
    lines = [l for l in output.splitlines() if " in " in l and ("passed" in l or "failed" in l)]
    if not lines:
        return None
    got = {}
    for n, what in _COUNT.findall(lines[-1]):
        what = {"error": "errors", "warning": "warnings"}.get(what, what)
        if what != "warnings":
            got[what] = int(n)
    return got


def run(name, srcdir, rewritten):
    version, tests = SUITES[name]
    args = [tests, "-q", "-p", "no:cacheprovider", "--assert=plain", "-o", "addopts=", "-W", "ignore::DeprecationWarning"]
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("ACO_REWRITE", None)
    env["ACO_HOME"] = os.path.join(os.path.dirname(srcdir), "aco-home")
    report = os.path.join(os.path.dirname(srcdir), "rewritten-%s.txt" % name)
    if rewritten:
        cmd = [sys.executable, os.path.join(HERE, "bootstrap.py"), srcdir, report] + args
    else:
        cmd = [sys.executable, "-m", "pytest"] + args
        env["PYTHONPATH"] = srcdir
    start = time.monotonic()
    p = subprocess.run(cmd, cwd=srcdir, env=env, capture_output=True, text=True)
    took = time.monotonic() - start
    n_rewritten = None
    if rewritten:
        with open(report) as f:
            n_rewritten = len([l for l in f.read().splitlines() if l])
    return counts(p.stdout), took, n_rewritten, p.stdout


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sdists", help="directory holding (or to receive) the sdists")
    ap.add_argument("names", nargs="*", default=sorted(SUITES))
    opts = ap.parse_args(argv)
    ok = True
    with tempfile.TemporaryDirectory(prefix="aco-transparency-") as tmp:
        sdists = opts.sdists or os.path.join(tmp, "sdists")
        os.makedirs(sdists, exist_ok=True)
        for name in opts.names:
            version, _ = SUITES[name]
            work = os.path.join(tmp, name)
            os.makedirs(work)
            srcdir = unpack(fetch(name, version, sdists), os.path.join(work, "src"))
            plain, t_plain, _, out_plain = run(name, srcdir, rewritten=False)
            # A fresh tree, so the rewritten run starts from no cache at all.
            srcdir2 = unpack(fetch(name, version, sdists), os.path.join(work, "src2"))
            rw, t_rw, n, out_rw = run(name, srcdir2, rewritten=True)
            same = plain is not None and plain == rw and n
            ok = ok and bool(same)
            print(
                "%-15s %-8s plain %-40s %5.1fs | rewritten (%d modules) %-40s %5.1fs  %s"
                % (name, version, plain, t_plain, n or 0, rw, t_rw, "same" if same else "DIFFERENT")
            )
            if not same:
                print("--- plain output tail:\n" + "\n".join(out_plain.splitlines()[-30:]))
                print("--- rewritten output tail:\n" + "\n".join(out_rw.splitlines()[-30:]))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
