"""The manifest (``manifest.json``): what a bundle holds, with its format version.

Render writes it with ``serialize``; ``parse`` reads it back into the same types. A manifest of another format
is refused with one line, so a bundle from an older or newer drgen is re-rendered rather than half understood.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from drgen.errors import DrgenError
from drgen.scenario.model import Role

MANIFEST = "manifest.json"
FORMAT = 1  # bump when a field changes meaning; parse refuses any other
ROLE_LABELS = {"primary": "primary", "secondary": "DR", "global": "global"}  # how a reader names each side


class LayerName(enum.StrEnum):
    """The layers a bundle's stacks belong to (a manifest's ``layer``), in deploy order; bootstrap's own stack
    is the one drgen deploys outside a scenario."""

    ZONE = "zone"
    FOUNDATION = "foundation"
    DATA = "data"
    APP = "app"
    GLOBAL = "global"
    ORCHESTRATION = "orchestration"
    BOOTSTRAP = "bootstrap"


def serialize(document: dict[str, Any]) -> bytes:
    """Stable JSON: sorted keys, 1-space indent (cfn-lint line numbers stay meaningful), trailing newline."""
    return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass(frozen=True)
class StackEntry:
    """One stack of the deploy graph, as the manifest lists it."""

    name: str
    layer: LayerName
    region: str
    role: Role
    template: str  # relative path inside the bundle
    sha256: str
    # excluded from equality and hashing: a stack is identified by the fields above
    depends_on: tuple[str, ...] = field(compare=False)
    parameters: dict[str, str] = field(compare=False)  # render-time values
    inputs: dict[str, dict[str, str]] = field(compare=False)  # parameter -> {stack, region, output}
    tags: dict[str, str] = field(compare=False)

    @property
    def label(self) -> str:
        """``primary eu-central-1``, ``DR eu-west-2``, ``global us-east-1``."""
        return place_label(self.role, self.region)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "layer": self.layer,
            "region": self.region,
            "role": self.role.value,
            "template": self.template,
            "sha256": self.sha256,
            "depends_on": list(self.depends_on),
            "parameters": self.parameters,
            "inputs": self.inputs,
            "tags": self.tags,
        }


def place_label(role: str, region: str) -> str:
    return f"{ROLE_LABELS.get(role, role)} {region}"


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
class Manifest:
    """A parsed manifest; ``document`` is the JSON as written, for the fields only a report shows."""

    scenario: str
    suffix: str
    regions: dict[str, str]  # primary, secondary, global
    stacks: tuple[StackEntry, ...]
    artifacts: tuple[Artifact, ...]
    deployment: Deployment | None
    definition: dict[str, Any] | None  # the scenario it was rendered from
    document: dict[str, Any]

    def expected(self) -> dict[str, str]:
        """Every file the manifest lists (templates and artifacts) -> its sha256."""
        return {e.template: e.sha256 for e in self.stacks} | {a.file: a.sha256 for a in self.artifacts}


def parse(raw: bytes, where: str) -> Manifest:
    """``raw`` as a Manifest; one DrgenError naming ``where`` when it is not a drgen manifest of this format."""
    try:
        document = json.loads(raw)
        if document.get("format") != FORMAT:
            raise DrgenError(
                f"{where}: {MANIFEST} has format {document.get('format')!r}, this drgen reads format {FORMAT}; "
                "re-render the bundle with this drgen"
            )
        manifest = Manifest(
            scenario=document["scenario"],
            suffix=document["suffix"],
            regions=dict(document["regions"]),
            stacks=tuple(_entry(s) for s in document["stacks"]),
            artifacts=tuple(Artifact(a["file"], a["key"], a["sha256"]) for a in document.get("artifacts", [])),
            deployment=_deployment(document["deployment"]) if document.get("deployment") else None,
            definition=document.get("definition"),
            document=document,
        )
        if not all(isinstance(v, str) for pair in manifest.expected().items() for v in pair):
            raise TypeError("a template or artifact path, or its sha256, is not text")
        listed = [(e.template, e.sha256) for e in manifest.stacks] + [(a.file, a.sha256) for a in manifest.artifacts]
        if len(set(listed)) != len(manifest.expected()):
            raise ValueError("a file is listed with two different sha256 digests")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DrgenError(f"{where}: {MANIFEST} is not a drgen manifest ({exc}); re-render the bundle") from None
    return manifest


def _deployment(data: dict[str, Any]) -> Deployment:
    zone, image = data["zone"], data["image"]
    return Deployment(data["account"], zone["domain"], zone["id"], bool(zone["create"]), image["kind"], image["ref"])


def _entry(data: dict[str, Any]) -> StackEntry:
    return StackEntry(
        name=data["name"],
        layer=LayerName(data["layer"]),
        region=data["region"],
        role=Role(data["role"]),
        template=data["template"],
        sha256=data["sha256"],
        depends_on=tuple(data.get("depends_on", ())),
        parameters=dict(data.get("parameters", {})),
        inputs={k: dict(v) for k, v in data.get("inputs", {}).items()},
        tags=dict(data.get("tags", {})),
    )
