"""Stand-in for the real aco.rewrite.worker in the watcher's Go tests.

It speaks the same protocol (JSON lines: {"id", "path"} in, {"id", "ok",
"error"?} out, exit at end of input) and does comparable work: it compiles
each file and writes the bytecode under __pycache__, atomically, plus a
sidecar holding the SHA-256 of the source it compiled, so a test can tell
fresh bytecode from stale. A marker in a file's text makes it misbehave:
a "fake-worker: crash" comment exits the process, a "fake-worker: hang"
comment never answers.
"""

import hashlib
import json
import marshal
import os
import sys
import time

# Built from halves so that this file itself carries neither marker.
CRASH = b"# fake-worker" + b": crash"
HANG = b"# fake-worker" + b": hang"


def write_atomic(path, data):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def refresh(path):
    with open(path, "rb") as f:
        source = f.read()
    if CRASH in source:
        sys.stderr.write("fake worker: crashing on %s\n" % path)
        sys.stderr.flush()
        os._exit(3)
    if HANG in source:
        time.sleep(3600)
    code = compile(source, path, "exec")
    cache = os.path.join(os.path.dirname(path), "__pycache__")
    os.makedirs(cache, exist_ok=True)
    stem = os.path.basename(path)[: -len(".py")]
    write_atomic(os.path.join(cache, stem + ".aco-fake.pyc"), marshal.dumps(code))
    write_atomic(os.path.join(cache, stem + ".aco-fake.sha256"), hashlib.sha256(source).hexdigest().encode())


def main():
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        req = json.loads(line)
        try:
            refresh(req["path"])
            ans = {"id": req["id"], "ok": True}
        except Exception as e:
            ans = {"id": req["id"], "ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(ans) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
