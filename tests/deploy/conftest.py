"""Fixtures: one moto server per test process (so per xdist worker), reset before each test that uses it.

Every test that talks to moto runs in its own temporary directory (the deployment record goes to
``.drgen/`` there) with test credentials in the environment and a 0.2 s poll interval.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import boto3
import pytest

from drgen.bundle.reader import RenderedBundle, from_scenario
from drgen.deploy.progress import PlainProgress
from drgen.deploy.session import Aws
from drgen.deploy.target import Target
from drgen.scenario import PRESETS

from ..conftest import sandbox_environment

SUFFIX = "t"
POLL_SECONDS = 0.2


@pytest.fixture
def sandbox(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A clean moto, test credentials, and a scratch working directory; returns the endpoint URL."""
    return sandbox_environment(moto_url, monkeypatch, tmp_path, POLL_SECONDS)


@pytest.fixture
def aws(sandbox: str) -> Aws:
    return Aws(Target(endpoint_url=sandbox, poll_seconds=POLL_SECONDS))


@pytest.fixture(scope="session")
def deploy_bundles() -> dict[str, RenderedBundle]:
    """Every preset rendered in memory once, for suffix ``t``."""
    return {name: from_scenario(name, SUFFIX) for name in PRESETS}


@pytest.fixture
def progress_log() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def progress(progress_log: io.StringIO) -> PlainProgress:
    """Plain progress lines into ``progress_log``."""
    return PlainProgress(progress_log)


def client(url: str, service: str, region: str) -> Any:
    """A plain boto3 client for assertions, independent of drgen's."""
    return boto3.client(service, region_name=region, endpoint_url=url)


def stacks_left(url: str, regions: set[str]) -> dict[str, list[str]]:
    """Live stacks per region (a deleted stack does not count)."""
    left = {}
    for region in sorted(regions):
        names = [s["StackName"] for s in client(url, "cloudformation", region).describe_stacks()["Stacks"]]
        if names:
            left[region] = names
    return left
