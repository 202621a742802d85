"""Hand-made bundles for tests: a manifest with every field the reader requires, around the stacks a test gives."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from drgen.bundle.manifest import FORMAT, MANIFEST, serialize

REGIONS = {"primary": "us-east-1", "secondary": "us-west-2", "global": "us-east-1"}


def manifest(stacks: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """A manifest as `drgen render` writes one (format, scenario, suffix, regions), with ``fields`` overriding."""
    return {"format": FORMAT, "scenario": "hand-made", "suffix": "t", "regions": REGIONS, "stacks": stacks, **fields}


def put_template(files: dict[str, bytes], path: str, document: dict[str, Any]) -> None:
    """Replace a template in a bundle's files and record its new sha256, as a render of the change would: the
    reader refuses a template that differs from its manifest."""
    data = json.dumps(document).encode()
    files[path] = data
    listed = json.loads(files[MANIFEST])
    for stack in listed["stacks"]:
        if stack["template"] == path:
            stack["sha256"] = hashlib.sha256(data).hexdigest()
    files[MANIFEST] = serialize(listed)


def rehash(bundle_dir: Path) -> None:
    """Record the current sha256 of every template in ``bundle_dir``'s manifest after a test edited them."""
    path = bundle_dir / MANIFEST
    listed = json.loads(path.read_text())
    for stack in listed["stacks"]:
        stack["sha256"] = hashlib.sha256((bundle_dir / stack["template"]).read_bytes()).hexdigest()
    path.write_bytes(serialize(listed))
