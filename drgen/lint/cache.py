"""Lint results kept by content, so an unchanged template is never linted twice (issue 17: lint is most of a render).

The key is everything a template's findings depend on: its text, the regions it is checked in, cfn-lint's version
and drgen's rule set (every file under drgen/lint/, so editing a rule invalidates what it found). The value is the
findings without their path (the same bytes may sit in another bundle). One JSON file per key, written atomically;
an entry that cannot be read or written is a miss, never an error. ``$DRGEN_CACHE_DIR`` (else
``$XDG_CACHE_HOME/drgen``, else ``~/.cache/drgen``) holds it; ``DRGEN_NO_CACHE=1`` turns it off. The review's
diagrams are kept beside it the same way (``drgen.review.diagram``).

A hit needs no cfn-lint: its version comes from the installed distribution's metadata, and the regions were
checked when the entry was made (the key holds them and the version), so a warm lint never imports cfn-lint.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, replace
from functools import cache
from pathlib import Path

from drgen.lint.findings import Finding

LINT_DIR = Path(__file__).resolve().parent
FORMAT = 1  # bump when the stored shape changes


def root() -> Path:
    """drgen's cache directory: ``$DRGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/drgen``, else ``~/.cache/drgen``."""
    explicit = os.environ.get("DRGEN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "drgen"


def directory() -> Path:
    return root() / "lint"


def enabled() -> bool:
    return os.environ.get("DRGEN_NO_CACHE", "") in ("", "0")


@cache
def rule_set() -> str:
    """A digest of drgen's lint package (its rules, severities and runner) and of cfn-lint's version."""
    digest = hashlib.sha256(f"format {FORMAT}; cfn-lint {_cfnlint_version()}".encode())
    for path in sorted(LINT_DIR.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(LINT_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _cfnlint_version() -> str:
    """cfn-lint's version without importing it (importing cfn-lint takes longer than a warm lint)."""
    from importlib import metadata

    try:
        return metadata.version("cfn-lint")
    except metadata.PackageNotFoundError:  # not installed as a distribution: ask the module
        from cfnlint.version import __version__

        return str(__version__)


def key(text: str, regions: tuple[str, ...]) -> str:
    return hashlib.sha256(f"{rule_set()}\0{','.join(regions)}\0{text}".encode()).hexdigest()


def load(entry: str, shown: str) -> tuple[Finding, ...] | None:
    """The findings stored under ``entry``, placed at ``shown``; None on a miss."""
    if not enabled():
        return None
    try:
        stored = json.loads(_path(entry).read_text(encoding="utf-8"))
        return tuple(replace(Finding(**item), path=shown) for item in stored)
    except (OSError, ValueError, TypeError):
        return None


def save(entry: str, findings: tuple[Finding, ...]) -> None:
    if not enabled():
        return
    data = json.dumps([asdict(replace(f, path="")) for f in findings], sort_keys=True)
    store(_path(entry), data.encode("utf-8"))


def store(path: Path, data: bytes) -> None:
    """Write a cache file atomically; a cache that cannot be written is only slower."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except OSError:
        return


def _path(entry: str) -> Path:
    return directory() / entry[:2] / f"{entry}.json"
