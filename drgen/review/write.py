"""Write the review files into a bundle directory (each file replaced atomically)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from drgen.lint.findings import Finding
from drgen.review.diagram import build_diagram
from drgen.review.report import build_review


def write_review(
    bundle_dir: Path, lint: list[Finding], scan: list[Finding] | None, compare: Path | None = None
) -> list[Path]:
    """Build REVIEW.md, review.html, diagram.svg and diagram.png and write them into ``bundle_dir``."""
    files = {**build_review(bundle_dir, lint, scan, compare), **build_diagram(bundle_dir)}
    written = []
    for name, data in sorted(files.items()):
        target = bundle_dir / name
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=bundle_dir)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
        written.append(target)
    return written
