"""What is created where: resources per template resolved to the stacks (regions) that create them.

A regional template is deployed twice; a resource's Condition decides which of those stacks creates it.
``where`` says so in words (``primary eu-central-1, DR eu-west-2``), ``trace`` follows a parameter fed from
another stack's output to the resource that produces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drgen.bundle.evaluate import Env, references
from drgen.bundle.manifest import StackEntry, place_label
from drgen.bundle.reader import RenderedBundle


@dataclass(frozen=True)
class Placement:
    """A resource in one stack: certainly created there (True) or only if a deploy-time condition holds."""

    stack: StackEntry
    certain: bool


def placements(bundle: RenderedBundle, template: str, resource: dict[str, Any]) -> list[Placement]:
    """The stacks that create ``resource`` (or may, when its condition depends on a deploy-time value)."""
    doc = bundle.templates[template]
    found = []
    for stack in bundle.stacks_of(template):
        deployed = Env(doc, stack).deployed(resource)
        if deployed is not False:
            found.append(Placement(stack, deployed is True))
    return found


def where(bundle: RenderedBundle, template: str, resource: dict[str, Any]) -> str:
    """``primary eu-central-1, DR eu-west-2``; ``not created (Cond is false)``; ``... if Cond``."""
    found = placements(bundle, template, resource)
    if not found:
        return f"not created ({resource.get('Condition')} is false at render time)"
    return ", ".join(p.stack.label + ("" if p.certain else f" if {resource.get('Condition')}") for p in found)


def resource_rows(bundle: RenderedBundle, template: str) -> list[list[str]]:
    """Logical id, type, where: one row per resource of ``template``."""
    resources = bundle.templates[template].get("Resources", {})
    return [[logical_id, r.get("Type", ""), where(bundle, template, r)] for logical_id, r in sorted(resources.items())]


def counts(bundle: RenderedBundle) -> tuple[list[str], list[list[str]]]:
    """Resource counts per layer (rows) and stack region (columns); ``+n?`` counts deploy-time conditionals."""
    columns: list[tuple[str, str]] = []
    for stack in sorted(bundle.stacks, key=lambda s: (s.role != "primary", s.role != "secondary", s.region)):
        if (stack.role, stack.region) not in columns:
            columns.append((stack.role, stack.region))
    rows = []
    for layer in bundle.layers():
        cells = []
        for role, region in columns:
            certain = maybe = 0
            for stack in bundle.stacks:
                if stack.layer != layer or (stack.role, stack.region) != (role, region):
                    continue
                env = Env(bundle.templates.get(stack.template, {}), stack)
                for resource in bundle.templates.get(stack.template, {}).get("Resources", {}).values():
                    deployed = env.deployed(resource)
                    certain += deployed is True
                    maybe += deployed is None
            cells.append(f"{certain}" + (f" +{maybe}?" if maybe else ""))
        rows.append([layer, *cells])
    headers = ["layer", *[place_label(role, region) for role, region in columns]]
    return headers, rows


@dataclass(frozen=True)
class Traced:
    """The resource behind a value: its stack and logical id."""

    stack: StackEntry
    logical_id: str


def trace(bundle: RenderedBundle, stack: StackEntry, value: Any) -> list[Traced]:
    """Resources ``value`` refers to, following parameters fed from other stacks' outputs to their source."""
    doc = bundle.templates.get(stack.template, {})
    found: list[Traced] = []
    for name in sorted(references(value)):
        resource = doc.get("Resources", {}).get(name)
        if resource is not None:
            if Env(doc, stack).deployed(resource) is not False:
                found.append(Traced(stack, name))
            continue
        source = stack.inputs.get(name)
        upstream = bundle.stack(source["stack"]) if source else None
        if upstream is None or source is None:
            continue
        output = bundle.templates.get(upstream.template, {}).get("Outputs", {}).get(source["output"])
        if output is not None:
            found += trace(bundle, upstream, output.get("Value"))
    return found
