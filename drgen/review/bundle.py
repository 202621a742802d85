"""A rendered bundle as the review reads it: the manifest, its templates, and one view per stack.

Each stack view knows the values its template's parameters take in that stack (render-time values from the
manifest, else the template's defaults) so that conditions such as IsPrimary, Fn::If branches and
``${AWS::Region}`` in names resolve the way CloudFormation will resolve them there. Values fed from another
stack's outputs stay symbolic, but can be traced to the resource that produces them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drgen.errors import DrgenError

MANIFEST = "manifest.json"
BUDGET = "budget.json"
ROLE_LABELS = {"primary": "primary", "secondary": "DR", "global": "global"}
ROLE_ORDER = {"primary": 0, "secondary": 1, "global": 2}


@dataclass(frozen=True)
class StackView:
    """One stack of the deploy graph: where a template runs and with which parameter values."""

    name: str
    layer: str
    region: str
    role: str  # primary | secondary | global
    template: str  # relative path inside the bundle
    sha256: str
    # excluded from equality and hashing (a stack is identified by the fields above)
    parameters: dict[str, str] = field(compare=False)
    inputs: dict[str, dict[str, str]] = field(compare=False)  # parameter -> {stack, region, output}

    @property
    def label(self) -> str:
        return place_label(self.role, self.region)


def place_label(role: str, region: str) -> str:
    """``primary eu-central-1``, ``DR eu-west-2``, ``global us-east-1``."""
    return f"{ROLE_LABELS.get(role, role)} {region}"


@dataclass
class BundleView:
    """A bundle directory, read once: manifest, template documents, stacks, and the raw bytes for hashing."""

    path: Path
    manifest: dict[str, Any]
    templates: dict[str, dict[str, Any]]
    raw: dict[str, bytes]
    stacks: list[StackView] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.manifest.get("scenario", self.path.name))

    def stacks_of(self, template: str) -> list[StackView]:
        """The stacks that deploy ``template``, primary first."""
        return sorted((s for s in self.stacks if s.template == template), key=lambda s: ROLE_ORDER.get(s.role, 9))

    def stack(self, name: str) -> StackView | None:
        return next((s for s in self.stacks if s.name == name), None)

    def layers(self) -> list[str]:
        """Layers in deploy order of their first stack (the manifest lists stacks dependencies first)."""
        seen: list[str] = []
        for s in self.stacks:
            if s.layer not in seen:
                seen.append(s.layer)
        return seen

    def digest(self, template: str) -> str:
        return hashlib.sha256(self.raw[template]).hexdigest() if template in self.raw else ""

    def budget(self) -> Any | None:
        """The RTO/RPO budget (``budget.json``) when a later step has written one into the bundle."""
        path = self.path / BUDGET
        return _read_json(path) if path.is_file() else None


def load_bundle(bundle_dir: Path) -> BundleView:
    """Read ``bundle_dir`` (manifest.json plus the templates it names); DrgenError when it is not a bundle."""
    manifest_path = bundle_dir / MANIFEST
    if not manifest_path.is_file():
        raise DrgenError(f"{bundle_dir} is not a rendered bundle (no {MANIFEST}); run `drgen render` first")
    manifest = _read_json(manifest_path)
    try:
        stacks = [
            StackView(
                name=s["name"],
                layer=s["layer"],
                region=s["region"],
                role=s["role"],
                template=s["template"],
                sha256=s.get("sha256", ""),
                parameters=dict(s.get("parameters", {})),
                inputs=dict(s.get("inputs", {})),
            )
            for s in manifest["stacks"]
        ]
    except (KeyError, TypeError) as error:
        raise DrgenError(f"{manifest_path} is not a drgen manifest (missing {error}); run `drgen render`") from error
    templates: dict[str, dict[str, Any]] = {}
    raw: dict[str, bytes] = {}
    for relative in sorted({s.template for s in stacks}):
        path = bundle_dir / relative
        if path.is_file():
            raw[relative] = path.read_bytes()
            templates[relative] = _read_json(path)
    return BundleView(path=bundle_dir, manifest=manifest, templates=templates, raw=raw, stacks=stacks)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DrgenError(f"cannot read {path} as JSON ({error}); run `drgen render` again") from error
