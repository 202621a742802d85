"""The one reader of rendered bundles: from a directory, from files in memory, or rendered from a preset.

Every template and artifact is checked against the sha256 the manifest recorded, so a hand-edited file never
reaches an account, a review or a budget. Nothing here imports the renderer, except ``from_scenario``, which
renders a preset in memory when that is what was asked for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from drgen.bundle.manifest import MANIFEST, Artifact, Deployment, Manifest, StackEntry, parse
from drgen.errors import DrgenError

BUDGET = "budget.json"  # written beside the manifest by render; not listed in it (it is derived from the rest)
ROLE_ORDER = {"primary": 0, "secondary": 1, "global": 2}


@dataclass(frozen=True)
class RenderedBundle:
    """A rendered bundle, verified: the manifest, the bytes of every file it lists, and where it was read."""

    manifest: Manifest
    files: dict[str, bytes]  # relative path -> bytes, for every template and artifact
    manifest_bytes: bytes = b""  # manifest.json as rendered
    path: Path | None = None  # the directory it was read from (None: rendered in memory)

    @property
    def scenario(self) -> str:
        return self.manifest.scenario

    @property
    def suffix(self) -> str:
        return self.manifest.suffix

    @property
    def regions(self) -> dict[str, str]:
        return self.manifest.regions

    @property
    def stacks(self) -> tuple[StackEntry, ...]:
        return self.manifest.stacks

    @property
    def artifacts(self) -> tuple[Artifact, ...]:
        return self.manifest.artifacts

    @property
    def deployment(self) -> Deployment | None:
        return self.manifest.deployment

    @property
    def definition(self) -> dict[str, Any] | None:
        return self.manifest.definition

    @property
    def stack_regions(self) -> tuple[str, ...]:
        return tuple(sorted({e.region for e in self.stacks}))

    @property
    def admin_region(self) -> str:
        """Where stack sets are administered: the global layer's region (us-east-1), which a failover away from a
        us-east-1 primary has lost with it; a failover therefore reads plain stacks in their own Region."""
        return self.regions["global"]

    def template(self, entry: StackEntry) -> bytes:
        return self.files[entry.template]

    @cached_property
    def templates(self) -> dict[str, dict[str, Any]]:
        """Relative template path -> its JSON document, each template parsed once."""
        try:
            return {path: json.loads(self.files[path]) for path in sorted({e.template for e in self.stacks})}
        except ValueError as exc:
            raise DrgenError(f"{self.where}: a template is not JSON ({exc}); re-render the bundle") from None

    def document(self, entry: StackEntry) -> dict[str, Any]:
        return self.templates[entry.template]

    def rendered_files(self) -> dict[str, bytes]:
        """The bundle as `drgen render` keeps it: the manifest, the templates and the artifacts."""
        return {MANIFEST: self.manifest_bytes, **self.files}

    def stacks_of(self, template: str) -> list[StackEntry]:
        """The stacks that deploy ``template``, primary first."""
        return sorted((s for s in self.stacks if s.template == template), key=lambda s: ROLE_ORDER.get(s.role, 9))

    def stack(self, name: str) -> StackEntry | None:
        return next((s for s in self.stacks if s.name == name), None)

    def stack_of(self, layer: str, role: str) -> StackEntry | None:
        return next((s for s in self.stacks if s.layer == layer and s.role == role), None)

    def layers(self) -> list[str]:
        """Layers in deploy order of their first stack (the manifest lists stacks dependencies first)."""
        return list(dict.fromkeys(s.layer for s in self.stacks))

    def digest(self, template: str) -> str:
        return _sha256(self.files[template]) if template in self.files else ""

    def budget(self) -> Any | None:
        """The RTO/RPO budget (``budget.json``) that render wrote beside the manifest, when there is one."""
        path = self.directory / BUDGET
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DrgenError(f"cannot read {path} as JSON ({exc}); run `drgen render` again") from None

    @property
    def directory(self) -> Path:
        """The directory the bundle was read from: the review finds the drill report and budget beside it."""
        if self.path is None:
            raise DrgenError(f"the rendered {self.scenario} has no directory; write it with `drgen render` first")
        return self.path

    @property
    def where(self) -> str:
        return str(self.path) if self.path is not None else f"the rendered {self.scenario}"


def is_bundle(directory: Path) -> bool:
    """Whether ``directory`` holds a rendered bundle (a manifest)."""
    return (directory / MANIFEST).is_file()


def manifest_sha256(directory: Path) -> str:
    """The sha256 of the directory's manifest ("" when there is none): how a report names the bundle it read."""
    path = directory / MANIFEST
    return _sha256(path.read_bytes()) if path.is_file() else ""


def read_manifest(directory: Path) -> Manifest:
    """The manifest alone, for lint and scan: they judge the files as they are, and lint reports an edited
    template (``changed_files``) as a finding rather than refusing the bundle."""
    if not is_bundle(directory):
        raise DrgenError(f"{directory} holds no rendered bundle (no {MANIFEST}); run `drgen render` first")
    try:
        raw = (directory / MANIFEST).read_bytes()
    except OSError as exc:
        raise DrgenError(f"{directory / MANIFEST}: {exc.strerror}; re-render the bundle") from None
    return parse(raw, str(directory))


def from_files(files: dict[str, bytes], where: str) -> RenderedBundle:
    """A bundle rendered in memory (``drgen.render.render(...).files``)."""
    if MANIFEST not in files:
        raise DrgenError(f"{where} is not a rendered bundle (no {MANIFEST}); run `drgen render` first")
    return _verified(files.__getitem__, where, None)


def from_directory(path: Path, suffix: str | None = None) -> RenderedBundle:
    """Read ``path/manifest.json`` and the files it lists; refuse a bundle rendered for another suffix (None:
    take the bundle's)."""
    if not is_bundle(path):
        raise DrgenError(f"{path} holds no rendered bundle (no {MANIFEST}); run `drgen render` first")

    def read(relative: str) -> bytes:
        try:
            return (path / relative).read_bytes()
        except OSError as exc:
            raise DrgenError(f"{path / relative}: {exc.strerror}; re-render the bundle") from None

    bundle = _verified(read, str(path), path)
    if suffix is not None and bundle.suffix != suffix:
        raise DrgenError(
            f"{path} was rendered for suffix '{bundle.suffix}', not '{suffix}'; "
            f"pass --suffix {bundle.suffix} or re-render with `drgen render --suffix {suffix}`"
        )
    return bundle


def from_scenario(name: str, suffix: str) -> RenderedBundle:
    """Render a preset in memory; nothing is written to templates_out/."""
    from drgen.render import render
    from drgen.scenario import load

    return from_files(render(load(name, suffix=suffix)).files, f"the rendered {name}")


def changed_files(directory: Path, manifest: Manifest, relatives: Iterable[str]) -> dict[str, str | None]:
    """Which of ``relatives`` (files ``manifest`` lists) are not as render wrote them -> the sha256 they have now
    (None: the file is gone or unreadable). Lint reports these as findings; the readers above refuse the bundle."""
    expected = manifest.expected()
    changed: dict[str, str | None] = {}
    for relative in sorted(set(relatives)):
        try:
            actual: str | None = _sha256((directory / relative).read_bytes())
        except OSError:
            actual = None
        if actual != expected[relative]:
            changed[relative] = actual
    return changed


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verified(read: Callable[[str], bytes], where: str, path: Path | None) -> RenderedBundle:
    raw = read(MANIFEST)
    manifest = parse(raw, where)
    files: dict[str, bytes] = {}
    for relative, digest in sorted(manifest.expected().items()):
        data = read(relative)
        if _sha256(data) != digest:
            raise DrgenError(
                f"{where}: {relative} was edited after rendering (it differs from the sha256 in {MANIFEST}); "
                "re-render the bundle"
            )
        files[relative] = data
    return RenderedBundle(manifest, files, raw, path)
