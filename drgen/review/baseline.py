"""The bundle a review compares against: a directory, or the bundle as committed at a git ref.

``--compare HEAD~1`` reads the reviewed bundle's own directory (``templates_out/<scenario>/``) as it was at
that ref: ``git archive`` of that path, unpacked into a temporary directory that lives as long as the review
needs it. The report names the baseline by the directory, or by path, ref and commit, and by the sha256 of its
manifest, so the board knows exactly what "before" was.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from drgen.bundle.manifest import MANIFEST
from drgen.bundle.reader import is_bundle, manifest_sha256
from drgen.errors import DrgenError


@dataclass(frozen=True)
class Baseline:
    """Where the previous bundle was read (``path``) and how the report names it (``label``)."""

    path: Path
    label: str
    # how to deploy it again: the directory to pass to `drgen deploy --bundle`, and for a git ref the command that
    # checks that commit out first (the temporary copy the review read is gone by then)
    bundle_dir: str = ""
    checkout: str = ""

    @property
    def manifest_sha256(self) -> str:
        return manifest_sha256(self.path)


@contextmanager
def open_baseline(spec: str, target: Path) -> Iterator[Baseline]:
    """The previous bundle for ``target``: ``spec`` as a directory (the bundle, or a directory of bundles holding
    one named like ``target``), else as a git ref of the repository ``target`` lives in."""
    directory = Path(spec)
    if directory.is_dir():
        found = _bundle_in(directory, target)
        yield Baseline(found, f"`{found.as_posix()}`", found.as_posix())
        return
    with _from_git(spec, target) as baseline:
        yield baseline


def check_baselines(spec: str, targets: list[Path]) -> None:
    """Raise DrgenError unless ``spec`` gives a previous bundle for every target."""
    for target in targets:
        with open_baseline(spec, target):
            pass


def _bundle_in(directory: Path, target: Path) -> Path:
    if is_bundle(directory):
        return directory
    candidate = directory / target.name
    if is_bundle(candidate):
        return candidate
    raise DrgenError(f"--compare {directory}: no previous bundle there for {target.name} (no {MANIFEST})")


@contextmanager
def _from_git(ref: str, target: Path) -> Iterator[Baseline]:
    top = _git(
        target,
        ["rev-parse", "--show-toplevel"],
        f"--compare {ref}: not a directory, and {target} is not in a git work tree to read a ref from",
    ).strip()
    relative = target.resolve().relative_to(Path(top).resolve()).as_posix()
    commit = _git(
        target,
        ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        f"--compare {ref}: neither a directory nor a git ref (git rev-parse knows no such commit)",
    ).strip()
    # from the top: git archive reads the path relative to the working directory
    archive = _git_bytes(
        Path(top),
        ["archive", "--format=tar", commit, "--", relative],
        f"--compare {ref}: {relative} is not committed at {ref} ({commit[:12]})",
    )
    with tempfile.TemporaryDirectory(prefix="drgen-baseline-") as temporary:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            # the "data" filter refuses absolute paths and links out of the directory (Python >= 3.11.4)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(temporary, filter="data")
            else:  # an archive of the user's own commit, made by git
                tar.extractall(temporary)
        found = Path(temporary) / relative
        if not is_bundle(found):
            raise DrgenError(f"--compare {ref}: {relative} at {ref} ({commit[:12]}) holds no {MANIFEST}")
        yield Baseline(
            found,
            f"`{relative}` at git ref `{ref}` (commit {commit[:12]})",
            f"previous/{relative}",
            f"git worktree add previous {commit[:12]}",
        )


def _git(cwd: Path, args: list[str], failure: str) -> str:
    return _git_bytes(cwd, args, failure).decode("utf-8", "replace")


def _git_bytes(cwd: Path, args: list[str], failure: str) -> bytes:
    try:
        result = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, check=False)
    except OSError as error:
        raise DrgenError(f"{failure}: cannot run git ({error})") from error
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DrgenError(failure + (f": {detail[-1]}" if detail else ""))
    return result.stdout
