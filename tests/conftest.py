"""Shared fixtures: rendered bundles of every preset (rendered once per test session)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drgen.bundle.manifest import StackEntry
from drgen.render import Bundle, render
from drgen.scenario import PRESETS, load

REPO = Path(__file__).resolve().parent.parent
# The lint cache (drgen/lint/cache.py) of this test process, not the developer's: a run starts cold.
os.environ.setdefault("DRGEN_CACHE_DIR", tempfile.mkdtemp(prefix="drgen-test-cache-"))


@pytest.fixture(autouse=True)
def _no_env_suffix(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests decide the suffix themselves; a developer's ENVIRONMENT_SUFFIX must not leak in."""
    monkeypatch.delenv("ENVIRONMENT_SUFFIX", raising=False)


@pytest.fixture(scope="session")
def bundles() -> dict[str, Bundle]:
    return {name: render(load(name, suffix="dev")) for name in PRESETS}


def template(bundle: Bundle, layer: str) -> dict[str, Any]:
    return json.loads(bundle.files[f"templates/{layer}.json"])


def resources(doc: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in doc["Resources"].items() if v["Type"] == rtype}


def stack(bundle: Bundle, layer: str, role: str) -> StackEntry:
    return next(s for s in bundle.stacks if s.layer == layer and s.role.value == role)


@pytest.fixture
def without_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if moto were not installed: every import of moto or of a module of it fails, loaded already or not."""
    import moto  # noqa: F401  (so that its modules are in sys.modules to be hidden)

    for name in [n for n in sys.modules if n == "moto" or n.startswith("moto.")]:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's server over HTTP on 127.0.0.1, one per test process (so per xdist worker)."""
    from drgen.operate.moto_server import moto_server

    with moto_server() as url:
        yield url


def sandbox_environment(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, poll_seconds: float) -> str:
    """A clean moto, test credentials, a fast poll and a scratch working directory (the deployment record
    goes to .drgen/ there); returns the endpoint URL."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("DRGEN_POLL_SECONDS", str(poll_seconds))
    monkeypatch.chdir(tmp_path)
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10).close()
    return moto_url
