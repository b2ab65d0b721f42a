"""The flow tests again, against the oldest SDK version each declaration
claims (the lower bound of its `versions`), each in a virtualenv of its own
built by sdk_versions.py. The first run builds them all at once (about a
minute); later runs reuse them."""

import concurrent.futures
import os
import subprocess

import pytest

import sdk_versions
from mockllm_server import aco_bin  # noqa: F401 (fixture)

HERE = os.path.dirname(os.path.abspath(__file__))

# declaration -> the flow tests that exercise it
FLOWS = {
    "openai": "test_patches_flow.py",
    "anthropic": "test_sdk_anthropic.py",
    "google-genai": "test_sdk_google_genai.py",
    "together": "test_sdk_together.py",
    "mcp": "test_sdk_mcp.py",
}

# What an old release needs beside itself: mcp 1.9's FastMCP imports a
# pydantic internal that pydantic 2.12 removed.
EXTRA = {"mcp": ("pydantic<2.12",)}


def test_every_declaration_has_flows():
    declared = {name[: -len(".py")].replace("_", "-") for name in os.listdir(sdk_versions.GENERATED) if name.endswith(".py") and name != "__init__.py"}
    assert declared == set(FLOWS), "declarations without oldest-version flows (or flows without a declaration)"


@pytest.fixture(scope="module")
def venvs():
    """dist -> (version, python), every virtualenv built at once: pip waits
    on the network mostly."""

    def build(dist):
        version = sdk_versions.oldest(dist)
        return dist, (version, sdk_versions.venv(dist, version, extra=("pytest",) + EXTRA.get(dist, ())))

    with concurrent.futures.ThreadPoolExecutor(len(FLOWS)) as pool:
        return dict(pool.map(build, sorted(FLOWS)))


@pytest.mark.parametrize("dist", sorted(FLOWS))
def test_flows_pass_at_the_oldest_claimed_version(dist, venvs, aco_bin):
    version, python = venvs[dist]
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
