"""Shared fixtures: rendered bundles of every preset (rendered once per test session)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drgen.render import Bundle, StackEntry, render
from drgen.scenario import PRESETS, load

REPO = Path(__file__).resolve().parent.parent


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
