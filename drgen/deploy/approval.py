"""Approval of broadening: what a deploy would newly allow or expose, compared with what is deployed.

As ``cdk deploy --require-approval broadening`` does, each stack's template is compared with the template its
deployed stack holds (GetTemplate), per stack: a grant (principal, action, resource, condition) or an ingress rule
or public endpoint that the deployed template lacks broadens, and so does a Deny that goes. A stack not deployed
yet compares with nothing, so a first deploy lists everything it grants. The grants and exposures are read the
way `drgen review` reads them (``drgen.review.broadening``), so the change board and the deploy see one list.
Against moto, whose stacks hold the sandbox-adjusted templates, both sides are adjusted alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from drgen.bundle.manifest import StackEntry, serialize
from drgen.bundle.reader import RenderedBundle
from drgen.deploy import moto_templates
from drgen.deploy.plan import Decision, Plan, StackPlan
from drgen.deploy.session import Aws
from drgen.review.broadening import Broadening, broadening, grouped

SHOWN = 25  # lines of the prompt's list; `drgen review` lists everything
# A stack in these states holds the resources its template describes; any other (a failed first create, a
# change set never executed) holds none, so its template grants nothing yet.
_HOLDS_RESOURCES = frozenset({Decision.UPDATE, Decision.WAIT, Decision.CONTINUE_ROLLBACK, Decision.BLOCKED})


def broadened(aws: Aws, bundle: RenderedBundle, plan: Plan) -> Broadening:
    """What the plan's stacks would newly grant or expose, compared with their deployed templates."""
    bodies = _template_bodies(aws, bundle)
    current = _view(bundle, ((s.entry, json.loads(bodies(s.entry))) for s in plan.stacks))
    deployed = ((s.entry, _deployed_template(aws, s)) for s in plan.stacks if s.decision in _HOLDS_RESOURCES)
    return broadening(current, _view(bundle, deployed))


def _template_bodies(aws: Aws, bundle: RenderedBundle) -> Callable[[StackEntry], bytes]:
    if not aws.sandbox:
        return bundle.template
    adapted = {e.template: moto_templates.adapt(bundle.template(e)).body for e in bundle.stacks}  # once each
    return lambda entry: adapted[entry.template]


def _deployed_template(aws: Aws, stack: StackPlan) -> dict[str, Any]:
    cf = aws.client("cloudformation", stack.entry.region)
    body = cf.get_template(StackName=stack.stack_id or stack.entry.name, TemplateStage="Original")["TemplateBody"]
    # botocore decodes a JSON template body into a dict; a YAML one stays text
    return body if isinstance(body, dict) else json.loads(body)


def _view(bundle: RenderedBundle, templates: Iterable[tuple[StackEntry, dict[str, Any]]]) -> RenderedBundle:
    """A bundle with one template per stack (named after the stack), so stacks compare one by one."""
    stacks, files = [], {}
    for entry, document in templates:
        files[entry.name] = serialize(document)
        stacks.append(replace(entry, template=entry.name, sha256=""))
    return RenderedBundle(replace(bundle.manifest, stacks=tuple(stacks), artifacts=()), files)


def describe(found: Broadening, shown: int = SHOWN) -> list[str]:
    """The prompt's lines: new grants, removed Denies and new exposures, at most ``shown`` of them."""
    lines = [
        f"  + {g.holder}: {g.effect} {', '.join(g.actions) or '-'} on {', '.join(g.resources) or '-'}"
        + (f" for {g.principal}" if g.principal else "")
        + (f" when {g.condition}" if g.condition else "")
        + ("  [wildcard]" if g.wildcard else "")
        for g in grouped(found.grants)
    ]
    lines += [
        f"  - {g.holder}: Deny removed: {', '.join(g.actions) or '-'} on {', '.join(g.resources) or '-'}"
        for g in grouped(found.denies_removed)
    ]
    lines += [
        f"  + {e.logical_id} ({e.template}): {e.what}" + ("  [internet]" if e.public else "") for e in found.exposures
    ]
    if len(lines) > shown:
        lines = [*lines[:shown], f"  ... and {len(lines) - shown} more (`drgen review` lists every one)"]
    return lines


def headline(found: Broadening) -> str:
    wildcards = sum(g.wildcard for g in found.grants)
    return (
        f"this deploy broadens IAM permissions or network exposure: {len(found.grants)} new grant(s) "
        f"({wildcards} with a wildcard), {len(found.denies_removed)} Deny grant(s) removed, "
        f"{len(found.exposures)} new ingress rule(s) or endpoint(s) ({len(found.public)} open to the internet)"
    )
