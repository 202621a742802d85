"""Fixtures for the review tests: rendered bundles on disk, tiny hand-made bundles, and the external tools
(checkov, Chromium) that some tests need: under CI=true a missing tool fails the test, locally it skips."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from drgen.render import write_bundles
from drgen.scan.checkov import find_checkov


def require(tool: str, found: Any, remedy: str) -> Any:
    """``found`` when it is there; else fail under CI (it must be installed there), skip locally."""
    if found:
        return found
    message = f"{tool} is not available: {remedy}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def checkov() -> Path:
    return require("checkov", find_checkov(), "run `drgen scan --setup` (make test does) or set $DRGEN_CHECKOV")


@pytest.fixture(scope="session")
def chromium() -> str:
    return require("chromium", shutil.which("chromium"), "install Debian's chromium (make test does, as root)")


@pytest.fixture(scope="session")
def bundle_root(tmp_path_factory: pytest.TempPathFactory, bundles) -> Path:
    """Every preset's bundle written to disk once per session."""
    out = tmp_path_factory.mktemp("bundles")
    write_bundles(list(bundles.values()), out)
    return out


def write_tiny_bundle(root: Path, templates: dict[str, dict[str, Any]], name: str = "tiny") -> Path:
    """A hand-made bundle: each template deployed once, as a global stack in us-east-1."""
    bundle = root / name
    stacks = []
    for layer, document in sorted(templates.items()):
        path = bundle / "templates" / f"{layer}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()
        path.write_bytes(data)
        stacks.append(
            {
                "name": f"{name}-{layer}",
                "layer": layer,
                "region": "us-east-1",
                "role": "global",
                "template": f"templates/{layer}.json",
                "sha256": hashlib.sha256(data).hexdigest(),
                "depends_on": [],
                "parameters": {},
                "inputs": {},
                "tags": {},
            }
        )
    manifest = {
        "format": 1,
        "scenario": name,
        "description": "a tiny test bundle",
        "suffix": "t",
        "regions": {"primary": "us-east-1", "secondary": "us-west-2", "global": "us-east-1"},
        "objectives": {"rto_seconds": 60, "rpo_seconds": 1},
        "notes": [],
        "stacks": stacks,
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return bundle


def template(resources: dict[str, Any]) -> dict[str, Any]:
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
