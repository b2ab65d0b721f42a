"""The flow tests again, against the oldest SDK version each declaration
claims (the lower bound of its `versions`), in a virtualenv of its own built
by sdk_versions.py (the first run takes a minute; later runs reuse it)."""

import os
import subprocess

import pytest

import sdk_versions
from mockllm_server import aco_bin  # noqa: F401 (fixture)

HERE = os.path.dirname(os.path.abspath(__file__))

# declaration -> the flow tests that exercise it
FLOWS = {"openai": "test_patches_flow.py"}


@pytest.mark.parametrize("dist", sorted(FLOWS))
def test_flows_pass_at_the_oldest_claimed_version(dist, aco_bin):
    version = sdk_versions.oldest(dist)
    python = sdk_versions.venv(dist, version)
    env = dict(os.environ, ACO_TEST_ACO_BIN=aco_bin)
    r = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", FLOWS[dist]],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, "%s %s:\n%s\n%s" % (dist, version, r.stdout[-6000:], r.stderr[-2000:])
    assert " passed" in r.stdout and "skipped" not in r.stdout.splitlines()[-1], r.stdout[-2000:]
