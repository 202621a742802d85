"""Render: scenario in, bundle out. Pure until ``write_bundles``, which replaces directories atomically.

A bundle is ``templates_out/<scenario>/``: ``manifest.json``, ``templates/<layer>.json`` and the Lambda zips
under ``functions/``. One regional template per layer serves both regions; the manifest places it twice
(primary and DR) with per-role parameters, and once more for each global stack. Templates name their code by
S3 key parameters whose values (content-addressed keys) the manifest carries, with the zips under
``artifacts``; the deployer uploads each zip to the region's artifact bucket and passes that bucket as
``ArtifactBucket``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drgen.budget import BUDGET_FILE, budget_for_bundle, budget_json
from drgen.builders.context import StackContext
from drgen.builders.tags import apply_tags
from drgen.bundle.manifest import FORMAT, MANIFEST, LayerName, StackEntry, serialize
from drgen.bundle.names import OWNER_TAG
from drgen.errors import DrgenError
from drgen.layers import AFTER, LAYERS, Layer
from drgen.naming import Names
from drgen.packaging import Artifact, build_artifacts, key_parameter
from drgen.regions import ROUTE53_METRICS_REGION
from drgen.scenario.loader import definition
from drgen.scenario.model import Role, Scenario

TEMPLATE_DIR = "templates"


@dataclass(frozen=True)
class Bundle:
    scenario: Scenario
    # relative path -> file bytes, manifest included
    files: dict[str, bytes]
    stacks: tuple[StackEntry, ...]
    # relative template path -> regions it is deployed to (cfn-lint checks each)
    template_regions: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.scenario.name


def stack_name(scenario: Scenario, layer: str, role: Role) -> str:
    suffix = scenario.suffix
    if role is Role.GLOBAL:
        return f"{scenario.prefix}-{layer}-{suffix}"
    return f"{scenario.prefix}-{layer}-{role.value}-{suffix}"


def _roles(layer: Layer) -> tuple[Role, ...]:
    return (Role.SECONDARY, Role.PRIMARY) if layer.regional else (Role.GLOBAL,)


def _region(scenario: Scenario, role: Role) -> str:
    return ROUTE53_METRICS_REGION if role is Role.GLOBAL else scenario.region(role)


def _build_template(
    scenario: Scenario, names: Names, layer: Layer, artifacts: tuple[Artifact, ...]
) -> tuple[StackContext, dict[str, Any]]:
    """The layer's stack context and its template document (``to_dict`` of the finished template)."""
    ctx = StackContext(scenario=scenario, names=names, layer=layer.name, regional=layer.regional)
    ctx.template.set_version("2010-09-09")
    ctx.template.set_description(f"drgen {scenario.name} {layer.name} layer: {layer.description}.")
    layer.build(ctx)
    apply_tags(ctx)
    document = _drop_unused_conditions(ctx)
    _code_keys(ctx, artifacts, _roles(layer))
    return ctx, document


def _drop_unused_conditions(ctx: StackContext) -> dict[str, Any]:
    """Remove conditions nothing refers to: every regional template starts with IsPrimary and IsSecondary, and a
    layer whose resources exist in one role only (or in both alike) leaves one unused, which cfn-lint flags.

    Returns the template's document without them: what ``to_dict`` gives after the removal (it leaves out an
    empty Conditions section), without encoding every resource a second time."""
    document = ctx.template.to_dict()
    conditions = document.get("Conditions", {})
    body = json.dumps({k: v for k, v in document.items() if k != "Conditions"}, sort_keys=True)
    unused = []
    for name in list(conditions):
        others = json.dumps({k: v for k, v in conditions.items() if k != name}, sort_keys=True)
        if f'"{name}"' not in body and f'"{name}"' not in others:
            unused.append(name)
    for name in unused:
        del ctx.template.conditions[name]
        del conditions[name]
    if "Conditions" in document and not conditions:
        del document["Conditions"]
    return document


def _code_keys(ctx: StackContext, artifacts: tuple[Artifact, ...], roles: tuple[Role, ...]) -> None:
    """Give each code-key parameter the template declares its package's content-addressed S3 key."""
    for artifact in artifacts:
        parameter = key_parameter(artifact.package)
        if parameter in ctx.template.parameters:
            ctx.values[parameter] = {role: artifact.key for role in roles}


def _stack_tags(scenario: Scenario, region: str, role: Role) -> dict[str, str]:
    tags = {}
    for key, value in scenario.tags:
        tags[key] = (
            value.replace("{suffix}", scenario.suffix or "").replace("{region}", region).replace("{role}", role.value)
        )
    tags[OWNER_TAG] = scenario.name
    return tags


def render(scenario: Scenario) -> Bundle:
    """Build every template and the manifest in memory. Raises ScenarioError on an illegal name."""
    names = Names(scenario)
    artifacts = build_artifacts(scenario)
    files: dict[str, bytes] = {artifact.file: artifact.data for artifact in artifacts}
    contexts: dict[str, StackContext] = {}
    template_regions: dict[str, tuple[str, ...]] = {}
    layers = [layer for layer in LAYERS if layer.present(scenario)]
    for layer in layers:
        ctx, document = _build_template(scenario, names, layer, artifacts)
        path = f"{TEMPLATE_DIR}/{layer.name}.json"
        files[path] = serialize(document)
        contexts[layer.name] = ctx
        template_regions[path] = tuple(sorted({_region(scenario, r) for r in _roles(layer)}))

    entries: dict[tuple[LayerName, Role], StackEntry] = {}
    for layer in layers:
        ctx = contexts[layer.name]
        path = f"{TEMPLATE_DIR}/{layer.name}.json"
        digest = hashlib.sha256(files[path]).hexdigest()
        for role in _roles(layer):
            inputs = {}
            deps = set(AFTER.get((layer.name, role), ()))
            for parameter, sources in sorted(ctx.inputs.items()):
                source = sources.get(role)
                if source is None:
                    continue
                inputs[parameter] = {
                    "stack": stack_name(scenario, source.layer, source.role),
                    "region": _region(scenario, source.role),
                    "output": source.output,
                }
                deps.add((source.layer, source.role))
            parameters = {p: by_role[role] for p, by_role in sorted(ctx.values.items()) if role in by_role}
            region = _region(scenario, role)
            entries[(layer.name, role)] = StackEntry(
                name=stack_name(scenario, layer.name, role),
                layer=layer.name,
                region=region,
                role=role,
                template=path,
                sha256=digest,
                depends_on=tuple(sorted(stack_name(scenario, dl, dr) for dl, dr in deps)),
                parameters=parameters,
                inputs=inputs,
                tags=_stack_tags(scenario, region, role),
            )
    ordered = _topological(entries)
    manifest = {
        "format": FORMAT,
        "scenario": scenario.name,
        "description": scenario.description,
        "seed": scenario.seed,
        "suffix": scenario.suffix,
        "regions": {
            "primary": scenario.regions.primary,
            "secondary": scenario.regions.secondary,
            "global": ROUTE53_METRICS_REGION,
        },
        "objectives": {
            "rto_seconds": scenario.objectives.rto_seconds,
            "rpo_seconds": scenario.objectives.rpo_seconds,
        },
        "notes": list(scenario.notes),
        "deployment": deployment_facts(scenario),
        "definition": definition(scenario),
        "stacks": [e.to_dict() for e in ordered],
        "artifacts": [artifact.to_dict() for artifact in artifacts],
    }
    files[MANIFEST] = serialize(manifest)
    files[BUDGET_FILE] = budget_json(budget_for_bundle(files))  # the RTO/RPO budget the review renders
    return Bundle(scenario=scenario, files=files, stacks=tuple(ordered), template_regions=template_regions)


def deployment_facts(scenario: Scenario) -> dict[str, Any]:
    """What deploy must find (or create) in the account before any stack: the account, the zone, the image."""
    routing = scenario.routing
    return {
        "account": scenario.account,
        "zone": {"domain": routing.domain, "id": routing.zone_id, "create": routing.create_zone},
        "image": {"kind": scenario.compute.kind.value, "ref": scenario.compute.image},
    }


def _topological(entries: dict[tuple[LayerName, Role], StackEntry]) -> list[StackEntry]:
    """Dependencies first; ties keep the catalogue order, so the manifest is stable."""
    by_name = {e.name: e for e in entries.values()}
    order = list(entries.values())
    done: list[StackEntry] = []
    placed: set[str] = set()
    while len(done) < len(order):
        ready = [e for e in order if e.name not in placed and all(d in placed for d in e.depends_on)]
        if not ready:
            cycle = sorted(e.name for e in order if e.name not in placed)
            raise RuntimeError(f"dependency cycle among stacks: {cycle}")  # a catalogue bug, not user input
        done.append(ready[0])
        placed.add(ready[0].name)
    assert set(by_name) == placed
    return done


def write_bundles(bundles: list[Bundle], out: Path) -> list[Path]:
    """Write each bundle to ``out/<scenario>``: into a temp dir first, then swapped in by rename.

    Either a scenario's directory is the complete new bundle or it is untouched. A directory that cannot be
    written (a file in the way, no permission, a full disk) is one DrgenError naming it.
    """
    try:
        return _write_bundles(bundles, out)
    except OSError as exc:
        where = exc.filename or out
        reason = exc.strerror or str(exc)
        raise DrgenError(f"cannot write the bundles to {where}: {reason}; choose another --out") from None


def _write_bundles(bundles: list[Bundle], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".render-tmp-", dir=out))
    written = []
    try:
        for bundle in bundles:
            stage = staging / bundle.name
            for relative, data in bundle.files.items():
                target = stage / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        for bundle in bundles:
            final = out / bundle.name
            previous = staging / f"{bundle.name}.previous"
            if final.exists():
                os.replace(final, previous)
            try:
                os.replace(staging / bundle.name, final)
            except OSError:
                if previous.exists():
                    os.replace(previous, final)  # put the old bundle back: never leave a hole
                raise
            written.append(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
