"""A sandbox kept in another process: `drgen sandbox` serves what the promote step needs; plain moto is named.

moto implements neither RDS FailoverGlobalCluster nor SwitchoverGlobalCluster (it answers them with an HTML 500
page). Against such a server failover stops before it starts, in one line; `drgen sandbox` serves moto with the
stand-ins `drgen drill` uses, so a failover there promotes.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from drgen.main import cli
from tests.operate.conftest import SCENARIO

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # moto's own notes on error shapes


@pytest.fixture
def served(sandbox_url: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``drgen sandbox --port 0`` in its own process, and the URL it prints."""
    server = subprocess.Popen(
        [sys.executable, "-m", "drgen", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        yield server, server.stdout.readline().strip()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_against_a_plain_moto_server_failover_names_what_it_lacks_before_it_starts(deploy):
    deployed = deploy()  # the test's own moto server, without the stand-ins
    result = CliRunner().invoke(cli, ["failover", "--unplanned", "--yes", *deployed.run_options()])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        f"drgen: error: the sandbox at {deployed.url} does not serve RDS FailoverGlobalCluster, which the promote "
        "step calls (moto implements neither FailoverGlobalCluster nor SwitchoverGlobalCluster); run the sandbox "
        "with `drgen sandbox`, which answers them as `drgen drill` does"
    ]


def test_drgen_sandbox_serves_a_failover_and_stops_on_sigterm(served, endpoints):
    server, url = served
    assert url.startswith("http://127.0.0.1:")
    runner = CliRunner()
    target = ["-s", SCENARIO, "--suffix", "kept", "--endpoint-url", url]
    deployed = runner.invoke(cli, ["deploy", *target, "--yes", "--require-approval", "never"])
    assert deployed.exit_code == 0, deployed.output
    failover = runner.invoke(
        cli, ["failover", *target, "--unplanned", "--yes", "--force", "--wait", "--health-url", f"{endpoints}/ok"]
    )
    assert failover.exit_code == 0, failover.output
    assert "Promote " in failover.output and "SUCCEEDED" in failover.output

    taken = subprocess.run(
        [sys.executable, "-m", "drgen", "sandbox", "--port", url.rsplit(":", 1)[1]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert taken.returncode == 2 and taken.stderr.startswith("drgen: error: cannot serve on 127.0.0.1:")

    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=30) == 0
    assert server.stderr is not None and "sandbox: stopped" in server.stderr.read()


def test_without_moto_drgen_sandbox_names_the_extra(without_moto):
    result = CliRunner().invoke(cli, ["sandbox", "--port", "0"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "pip install 'drgen[sandbox]'" in result.output
