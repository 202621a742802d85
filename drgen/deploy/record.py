"""The deployment record ``.drgen/<scenario>-<suffix>.json``: what this directory last deployed where.

A cache, never the truth (CloudFormation is): `drgen outputs` falls back to it when CloudFormation cannot be
asked. Written atomically (a temp file in the same directory, then rename) after every deploy and destroy, so a
crash never leaves half a record; a partial run (``--only``, or a failure) updates only the stacks it touched. A
record that cannot be read is rebuilt from the run, and one that cannot be written is a warning (``update``
says why): the stacks have changed by then, and their state is in CloudFormation.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drgen.bundle.reader import RenderedBundle
from drgen.deploy.executor import Outcome, StackResult
from drgen.errors import DrgenError

RECORD_DIR = Path(".drgen")
FORMAT = 1


def path_for(scenario: str, suffix: str, root: Path = RECORD_DIR) -> Path:
    return root / f"{scenario}-{suffix}.json"


def load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DrgenError(f"cannot read the deployment record {path}: {exc}; delete it and redeploy") from None


def update(
    path: Path,
    bundle: RenderedBundle,
    results: Sequence[StackResult],
    operation: str,
    mode: str | None,  # None: as recorded (destroy finds stacks in either mode)
    endpoint: str | None,
    account: str,
) -> str:
    """Merge ``results`` into the record at ``path`` and write it; returns why it could not be written ("" when
    it was): the stacks have changed by then, and the record is only a cache."""
    try:
        previous = load(path) or {}
    except DrgenError:
        previous = {}  # an unreadable cache is rebuilt from this run
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
        "mode": mode or previous.get("mode", "stacks"),
        "endpoint": endpoint,
        "account": account,
        "regions": bundle.regions,
        "operation": operation,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "stacks": sorted(stacks.values(), key=lambda s: order.index(s["name"]) if s["name"] in order else len(order)),
    }
    try:
        _write_atomically(path, record)
    except OSError as error:
        return f"the deployment record {path} was not written ({error.strerror or error}); it is only a cache"
    return ""


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
