"""Write the review files into a bundle directory (each file replaced atomically)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from drgen.lint.findings import Finding
from drgen.review.baseline import Baseline
from drgen.review.diagram import build_diagram
from drgen.review.report import build_review


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_review(
    bundle_dir: Path,
    lint: list[Finding],
    scan: list[Finding] | None,
    compare: Path | Baseline | None = None,
    drill_report: Path | None = None,
    out: Path | None = None,
) -> list[Path]:
    """Build REVIEW.md, review.html and the diagrams (diagram.*, diagram-full.*) and write them into ``bundle_dir``
    (or into ``out``)."""
    files = {**build_review(bundle_dir, lint, scan, compare, drill_report), **build_diagram(bundle_dir)}
    destination = out or bundle_dir
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in sorted(files.items()):
        target = destination / name
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=destination)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; the team reads the review (as other files)
        os.replace(temporary, target)
        written.append(target)
    return written
