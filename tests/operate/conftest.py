"""Fixtures: one moto server per test process, reset per test, and trading-ecs deployed into it.

The deployment goes through drgen's deploy code, then ``moto_standins.provision`` creates what moto's CloudFormation
skips (the Aurora global cluster and clusters, the secret, tables, alarms, ...), as ``drgen drill`` does.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drgen.bundle.reader import RenderedBundle, from_scenario
from drgen.deploy import deployer
from drgen.deploy.progress import PlainProgress
from drgen.deploy.session import Aws
from drgen.deploy.target import Target
from drgen.operate import moto_standins
from drgen.operate.environment import Environment, resolve
from drgen.scenario import load

from ..conftest import sandbox_environment

# tests/lambda/servers.py ("lambda" is a keyword, so no plain import statement can name the package)
http_endpoint = importlib.import_module("tests.lambda.servers").http_endpoint

SCENARIO = "trading-ecs"
SUFFIX = "t"


@pytest.fixture
def sandbox_url(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    return sandbox_environment(moto_url, monkeypatch, tmp_path, poll_seconds=0.05)


@pytest.fixture(scope="session")
def bundle() -> RenderedBundle:
    return from_scenario(SCENARIO, SUFFIX)


@dataclass(frozen=True)
class Deployed:
    url: str
    aws: Aws
    environment: Environment

    health_url: str

    def cli_target(self) -> list[str]:
        return ["-s", SCENARIO, "--suffix", SUFFIX, "--endpoint-url", self.url]

    def run_options(self) -> list[str]:
        """failover / failback: follow the run, and validate against the stand-in DR endpoint."""
        return [*self.cli_target(), "--wait", "--health-url", self.health_url]


@pytest.fixture
def promoting() -> Iterator[list[tuple[str, dict[str, object]]]]:
    """The moto server answers FailoverGlobalCluster and SwitchoverGlobalCluster, as `drgen sandbox` serves it
    (a plain moto server is refused before a failover starts); yields the promotions made."""
    with moto_standins.promotion_standin() as calls:
        yield calls


@pytest.fixture(scope="session")
def endpoints() -> Iterator[str]:
    """A stand-in health endpoint: ``<url>/ok`` answers 200 with a body (moto serves no application)."""
    with http_endpoint() as url:
        yield url


@pytest.fixture
def deploy(sandbox_url: str, bundle: RenderedBundle, endpoints: str) -> Callable[..., Deployed]:
    """``deploy(attach_secondary=True)``: trading-ecs deployed and provisioned in a clean moto."""

    def deployed(attach_secondary: bool = True) -> Deployed:
        aws = Aws(Target(endpoint_url=sandbox_url, max_attempts=2, poll_seconds=0.05))
        results = deployer.deploy(aws, bundle, bundle.stacks, deployer.DeployOptions(), PlainProgress(io.StringIO()))
        assert all(r.outcome.ok for r in results), [r.reason for r in results]
        environment = resolve(aws, load(SCENARIO, suffix=SUFFIX), bundle)
        moto_standins.provision(aws, environment, bundle, attach_secondary=attach_secondary)
        return Deployed(sandbox_url, aws, environment, f"{endpoints}/ok")

    return deployed
