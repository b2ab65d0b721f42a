"""The real mock LLM server (`aco mockllm`) for tests of the real SDKs.

The aco binary is built once per test session from this checkout (or taken
from $ACO_TEST_ACO_BIN) and the server runs on a free port it reports on its
first line of output, so no test waits on a timer.
"""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def aco_binary(tmpdir):
    given = os.environ.get("ACO_TEST_ACO_BIN")
    if given:
        return given
    out = os.path.join(tmpdir, "aco")
    r = subprocess.run(["go", "build", "-o", out, "./cmd/aco"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("building aco for the mock LLM server failed:\n" + r.stderr)
    return out


class MockLLM:
    def __init__(self, binary, *flags):
        self.proc = subprocess.Popen([binary, "mockllm", "--port", "0", *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http://(127\.0\.0\.1:\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("aco mockllm did not report its address: %r %s" % (line, self.proc.stderr.read()))
        self.addr = m.group(1)
        self.base_url = "http://%s/v1" % self.addr

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture(scope="session")
def aco_bin():
    tmp = tempfile.mkdtemp(prefix="aco-test-bin-")
    try:
        yield aco_binary(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def mockllm(aco_bin):
    s = MockLLM(aco_bin)
    yield s
    s.close()
