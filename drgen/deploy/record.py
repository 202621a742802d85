"""The deployment record ``.drgen/<scenario>-<suffix>.json``: what is deployed where, read by later commands.

Written atomically (a temp file in the same directory, then rename) after every deploy and destroy, so a
crash never leaves half a record. A partial run (``--only``, or a failure) updates only the stacks it touched.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drgen.deploy.bundle import DeployBundle
from drgen.deploy.executor import Outcome, StackResult
from drgen.errors import DrgenError

RECORD_DIR = Path(".drgen")
FORMAT = 1


def path_for(scenario: str, suffix: str, root: Path = RECORD_DIR) -> Path:
    return root / f"{scenario}-{suffix}.json"


def load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DrgenError(f"cannot read the deployment record {path}: {exc}; delete it and redeploy") from None


def update(
    path: Path,
    bundle: DeployBundle,
    results: Sequence[StackResult],
    operation: str,
    mode: str,
    endpoint: str | None,
    account: str,
) -> dict[str, Any]:
    """Merge ``results`` into the record at ``path`` and write it; returns the new record."""
    previous = load(path) or {}
    stacks = {s["name"]: s for s in previous.get("stacks", [])}
    for result in results:
        if result.outcome is Outcome.SKIPPED and result.name in stacks:
            continue  # a skipped stack is as it was
        entry = next(e for e in bundle.stacks if e.name == result.name)
        before = stacks.get(result.name, {})
        stacks[result.name] = {
            "name": result.name,
            "layer": entry.layer,
            "role": entry.role.value,
            "region": entry.region,
            "status": result.status or result.outcome.value,
            "outcome": result.outcome.value,
            "reason": result.reason,
            "outputs": result.outputs if result.outcome.ok else before.get("outputs", {}),
            "template_sha256": entry.sha256,
            "seconds": round(result.seconds, 2),
        }
    order = [e.name for e in bundle.stacks]
    record = {
        "format": FORMAT,
        "scenario": bundle.scenario,
        "suffix": bundle.suffix,
        "mode": mode,
        "endpoint": endpoint,
        "account": account,
        "regions": bundle.regions,
        "operation": operation,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "stacks": sorted(stacks.values(), key=lambda s: order.index(s["name"]) if s["name"] in order else len(order)),
    }
    _write_atomically(path, record)
    return record


def _write_atomically(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
