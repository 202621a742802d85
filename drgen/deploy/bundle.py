"""What to deploy: a bundle rendered in memory (``--scenario``) or read from a directory (``--bundle``).

Both go through the same manifest parser, which checks every template and artifact against the sha256 the
manifest recorded, so a hand-edited file never reaches an account.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drgen.errors import DrgenError
from drgen.render import MANIFEST, StackEntry
from drgen.scenario.model import Role


@dataclass(frozen=True)
class Artifact:
    """A file the templates reference in the artifact bucket (a Lambda zip), uploaded under ``key``."""

    file: str
    key: str
    sha256: str


@dataclass(frozen=True)
class Deployment:
    """What the account must hold before any stack (the manifest's ``deployment``): render cannot look."""

    account: str | None  # the only account the scenario may deploy to (None: any)
    domain: str
    zone_id: str | None  # an existing zone named by id; None with create_zone False: found by the domain
    create_zone: bool
    compute: str  # the compute kind: what ``image`` names (an ECR image, an SSM parameter of AMIs)
    image: str | None


@dataclass(frozen=True)
class DeployBundle:
    scenario: str
    suffix: str
    regions: dict[str, str]  # primary, secondary, global
    stacks: tuple[StackEntry, ...]
    files: dict[str, bytes]  # relative path -> bytes, for every template and artifact
    artifacts: tuple[Artifact, ...]
    deployment: Deployment | None = None  # None: a bundle that needs nothing in the account (bootstrap's)
    manifest: bytes = b""  # manifest.json as rendered
    definition: dict[str, Any] | None = None  # the scenario it was rendered from (None: a bundle from before)

    def template(self, entry: StackEntry) -> bytes:
        return self.files[entry.template]

    def rendered_files(self) -> dict[str, bytes]:
        """The bundle as `drgen render` keeps it: the manifest, the templates and the artifacts."""
        return {MANIFEST: self.manifest, **self.files}

    @property
    def stack_regions(self) -> tuple[str, ...]:
        return tuple(sorted({e.region for e in self.stacks}))

    @property
    def admin_region(self) -> str:
        """Where stack sets are administered: the global layer's region, which no regional failover takes down."""
        return self.regions["global"]


def from_scenario(name: str, suffix: str) -> DeployBundle:
    """Render a preset in memory; nothing is written to templates_out/."""
    from drgen.render import render
    from drgen.scenario import load

    return from_files(render(load(name, suffix=suffix)).files, f"the rendered {name}")


def from_files(files: dict[str, bytes], where: str) -> DeployBundle:
    """A bundle rendered in memory (``drgen.render.render(...).files``)."""
    return _parse(files.__getitem__, where)


def from_directory(path: Path, suffix: str | None) -> DeployBundle:
    """Read ``path/manifest.json`` and the files it lists; refuse a bundle rendered for another suffix (None:
    take the bundle's)."""
    if not (path / MANIFEST).is_file():
        raise DrgenError(f"{path} holds no rendered bundle (no {MANIFEST}); run `drgen render` first")

    def read(relative: str) -> bytes:
        try:
            return (path / relative).read_bytes()
        except OSError as exc:
            raise DrgenError(f"{path / relative}: {exc.strerror}; re-render the bundle") from None

    bundle = _parse(read, str(path))
    if suffix is not None and bundle.suffix != suffix:
        raise DrgenError(
            f"{path} was rendered for suffix '{bundle.suffix}', not '{suffix}'; "
            f"pass --suffix {bundle.suffix} or re-render with `drgen render --suffix {suffix}`"
        )
    return bundle


def _parse(read: Callable[[str], bytes], where: str) -> DeployBundle:
    try:
        raw = read(MANIFEST)
        manifest = json.loads(raw)
        stacks = tuple(_entry(s) for s in manifest["stacks"])
        artifacts = tuple(Artifact(a["file"], a["key"], a["sha256"]) for a in manifest.get("artifacts", []))
        scenario, suffix, regions = manifest["scenario"], manifest["suffix"], dict(manifest["regions"])
        deployment = _deployment(manifest["deployment"])
        definition = manifest.get("definition")
        expected = {e.template: e.sha256 for e in stacks} | {a.file: a.sha256 for a in artifacts}
        if not all(isinstance(v, str) for pair in expected.items() for v in pair):
            raise TypeError("a template or artifact path, or its sha256, is not text")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DrgenError(f"{where}: {MANIFEST} is not a drgen manifest ({exc}); re-render the bundle") from None
    files: dict[str, bytes] = {}
    for relative, digest in sorted(expected.items()):
        data = read(relative)
        if hashlib.sha256(data).hexdigest() != digest:
            raise DrgenError(f"{where}: {relative} differs from the sha256 in {MANIFEST}; re-render the bundle")
        files[relative] = data
    return DeployBundle(scenario, suffix, regions, stacks, files, artifacts, deployment, raw, definition)


def _deployment(data: dict[str, Any]) -> Deployment:
    zone, image = data["zone"], data["image"]
    return Deployment(data["account"], zone["domain"], zone["id"], bool(zone["create"]), image["kind"], image["ref"])


def _entry(data: dict[str, Any]) -> StackEntry:
    return StackEntry(
        name=data["name"],
        layer=data["layer"],
        region=data["region"],
        role=Role(data["role"]),
        template=data["template"],
        sha256=data["sha256"],
        depends_on=tuple(data["depends_on"]),
        parameters=dict(data["parameters"]),
        inputs={k: dict(v) for k, v in data["inputs"].items()},
        tags=dict(data["tags"]),
    )
