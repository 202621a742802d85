"""Deploy and plan end to end: look at what is there, bootstrap and upload artifacts, walk the graph.

``preflight`` reads every stack's state into a ``Plan`` (so questions such as "delete and recreate?" are
asked before anything runs), ``review`` adds the change set of each existing stack for ``drgen plan``, and
``deploy`` runs the graph in stacks or StackSets mode.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from drgen.bundle.manifest import StackEntry
from drgen.bundle.names import OWNER_TAG
from drgen.bundle.reader import RenderedBundle
from drgen.deploy import changesets, service_roles, zone
from drgen.deploy.artifacts import Artifacts
from drgen.deploy.executor import Outcome, StackResult, run_graph
from drgen.deploy.outputs import Outputs, declared_parameters, parameters_for
from drgen.deploy.plan import LEFT_RESOURCES, Decision, Plan, blocked_advice, decide, dependencies, graph_only
from drgen.deploy.progress import Progress
from drgen.deploy.protection import protected_databases
from drgen.deploy.session import AWS_ERRORS, Aws, error_text
from drgen.deploy.stacks import StackDeploy, StackState, describe
from drgen.deploy.stacksets import InstanceDeploy, StackSetOps, instance_stack
from drgen.errors import DrgenError
from drgen.scenario.model import Role


@dataclass(frozen=True)
class DeployOptions:
    mode: str = "stacks"
    allow_replace: bool = False
    may_recreate: frozenset[str] = frozenset()  # stacks the user agreed to delete and recreate


def uses_stack_set(mode: str, entry: StackEntry) -> bool:
    """In StackSets mode every regional layer is a stack set; the global layer is always a plain stack."""
    return mode == "stacksets" and entry.role is not Role.GLOBAL


def find(aws: Aws, bundle: RenderedBundle, mode: str, entry: StackEntry) -> StackState | None:
    """The deployed stack behind ``entry``: the plain stack, or the stack set instance's stack."""
    if uses_stack_set(mode, entry):
        return instance_stack(aws, bundle, entry)
    return describe(aws.client("cloudformation", entry.region), entry.name)


def preflight(aws: Aws, bundle: RenderedBundle, entries: Sequence[StackEntry], mode: str) -> Plan:
    """Each stack's current status and what it needs (create, update, recreate, ...); read-only.

    Refuses a mode switch: the other mode's stacks would hold the same resource names.
    """
    other = "stacks" if mode == "stacksets" else "stacksets"
    clashes = [e.name for e in entries if e.role is not Role.GLOBAL and find(aws, bundle, other, e)]
    if clashes:
        raise DrgenError(
            f"{', '.join(clashes)} deployed in {other} mode; `drgen destroy` first, or deploy with --mode {other}"
        )
    plan = graph_only(bundle.scenario, bundle.suffix, mode, entries)
    planned = []
    for stack in plan.stacks:
        state = find(aws, bundle, mode, stack.entry)
        _refuse_foreign(stack.entry, state)
        status = state.status if state else None
        stack_id = state.stack_id if state else None
        planned.append(replace(stack, status=status, decision=decide(status, aws.sandbox), stack_id=stack_id))
    return replace(plan, stacks=tuple(planned))


def refuse_stuck(aws: Aws, plan: Plan) -> None:
    """Refuse (DrgenError), before anything is created, a deploy that would stop at a stack it cannot get past:
    one whose status takes no update (``Decision.BLOCKED``: DELETE_FAILED, UPDATE_FAILED, ...), or one whose
    failed first create left a database RDS reports protected, so deleting it to create it again would fail."""
    found = []
    for stack in plan.stacks:
        entry, status = stack.entry, stack.status or ""
        where = f"{entry.name} ({entry.region}) is {status}"
        if stack.decision is Decision.BLOCKED:
            found.append(f"{where}: {blocked_advice(stack.stack_id or entry.name, entry.region, status)}")
        elif stack.decision is Decision.RECREATE and status in LEFT_RESOURCES and stack.stack_id:
            for line in protected_databases(aws, entry.region, stack.stack_id):
                found.append(f"{where}, to be deleted and created again, but {line}")
    if found:
        raise DrgenError("; ".join(found) + "; nothing was deployed")


def _refuse_foreign(entry: StackEntry, state: StackState | None) -> None:
    """A stack of the same name that another scenario deployed is not ours to update (CDK and Sceptre refuse
    the same way): two scenarios with one prefix and suffix would overwrite each other's resources."""
    owner = state.tags.get(OWNER_TAG) if state else None
    if owner is not None and owner != entry.tags.get(OWNER_TAG):
        raise DrgenError(
            f"{entry.name} belongs to scenario {owner} (tag {OWNER_TAG}), not {entry.tags.get(OWNER_TAG)}; "
            "give this scenario its own name or prefix, or another --suffix"
        )


def review(aws: Aws, bundle: RenderedBundle, plan: Plan) -> Plan:
    """The plan with the change set of every stack that exists and can be updated (created, read, discarded).

    Templates over the TemplateBody limit are read from S3, so the artifact buckets are prepared first (as
    deploy would: content-addressed keys, nothing is overwritten).
    """
    given = zone.given_values(aws, bundle.deployment, lambda _: None)
    artifacts = Artifacts(aws, bundle)
    artifacts.prepare({s.entry.region for s in plan.stacks if s.decision is Decision.UPDATE}, lambda _: None)
    outputs = _outputs(aws, bundle, plan.mode, given)
    reviewed = []
    for planned in plan.stacks:
        entry = planned.entry
        template = artifacts.template(entry)
        if planned.decision is not Decision.UPDATE:
            resources = len(json.loads(template.body).get("Resources", {}))
            reviewed.append(replace(planned, note=f"{resources} resources in the template; conditions pick per region"))
            continue
        if uses_stack_set(plan.mode, entry):
            reviewed.append(replace(planned, note="stack set instance: compared when deploying, no change set"))
            continue
        cf = aws.client("cloudformation", entry.region)
        try:
            parameters = parameters_for(
                entry, declared_parameters(template.body), outputs, artifacts.bucket(entry.region)
            )
            request = changesets.ChangeRequest(entry.name, "UPDATE", template, parameters, entry.tags)
            change_set = changesets.create(cf, request, aws.target.poll_seconds)
        except AWS_ERRORS as exc:
            reviewed.append(replace(planned, note=f"no change set: {error_text(exc)}"))
            continue
        changesets.discard(cf, change_set.arn)
        reviewed.append(replace(planned, changes=change_set.changes))
    return replace(plan, stacks=tuple(reviewed))


def deploy(
    aws: Aws,
    bundle: RenderedBundle,
    entries: Sequence[StackEntry],
    options: DeployOptions,
    progress: Progress,
) -> list[StackResult]:
    """Bootstrap the artifact buckets, upload, create the service-linked roles the key policies name, then run
    the graph; one result per entry. Nothing is created before the zone is found (or refused)."""
    given = zone.given_values(aws, bundle.deployment, progress.note)
    artifacts = Artifacts(aws, bundle)
    for path, adapted in sorted(artifacts.adapted.items()):
        if adapted.left_out:
            progress.note(f"sandbox: {path} deployed without what moto cannot emulate: {adapted.summary()}")
    regions = {e.region for e in entries}
    if options.mode == "stacksets":
        regions.add(bundle.admin_region)
    artifacts.prepare(regions, progress.note)
    service_roles.ensure(aws, service_roles.named_roles(bundle), progress.note)
    outputs = _outputs(aws, bundle, options.mode, given)
    gate = zone.DelegationGate(aws, bundle.deployment, lambda: _created_zone(bundle, outputs), progress.note)
    as_stack = StackDeploy(aws, artifacts, outputs, progress, options.allow_replace, options.may_recreate)
    as_instance = InstanceDeploy(StackSetOps(aws, bundle, progress), artifacts, outputs, options.may_recreate)

    def action(entry: StackEntry) -> StackResult:
        waiting = gate.hold_back() if zone.ZONE_PARAMETER in entry.inputs else None
        if waiting:
            return StackResult(entry.name, entry.region, Outcome.SKIPPED, reason=waiting)
        return as_instance(entry) if uses_stack_set(options.mode, entry) else as_stack(entry)

    return run_graph(entries, dependencies(entries), action, progress.done)


def _created_zone(bundle: RenderedBundle, outputs: Outputs) -> str:
    """The zone stack's zone id (create-zone mode), from the stack that feeds the first zone input."""
    source = next(e.inputs[zone.ZONE_PARAMETER] for e in bundle.stacks if zone.ZONE_PARAMETER in e.inputs)
    return outputs.of(source["stack"])[source["output"]]


def _outputs(aws: Aws, bundle: RenderedBundle, mode: str, given: dict[str, str] | None = None) -> Outputs:
    def fetch(entry: StackEntry) -> dict[str, str] | None:
        state = find(aws, bundle, mode, entry)
        return state.outputs if state and decide(state.status) is Decision.UPDATE else None

    return Outputs(bundle.stacks, fetch, given)
