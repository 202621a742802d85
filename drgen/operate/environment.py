"""The identifiers of a deployed scenario, in one place: what every operate command looks at or changes.

Names drgen chose itself (the global cluster, each region's cluster, the secret, the table, the buckets, the
state parameter) come from the scenario through ``Names``, exactly as the templates spell them, so they are
right even where a sandbox deploy could not create the resource. Ids AWS generates (health checks, the hosted
zone, the load balancers' names, the state machine's ARN) come from the stacks' outputs, read from
CloudFormation. The failover machine's definition comes from the rendered bundle: what Step Functions runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from drgen.bundle import names
from drgen.bundle.manifest import LayerName, StackEntry
from drgen.bundle.names import AURORA_CLUSTER, CONTROL_TABLE, FAILOVER_STATE, STATE_MACHINE_ARN
from drgen.bundle.reader import RenderedBundle
from drgen.deploy.destroy import locate
from drgen.deploy.plan import FAILED_FIRST_CREATE
from drgen.deploy.session import Aws
from drgen.errors import DrgenError
from drgen.lambda_code import contract
from drgen.naming import Names
from drgen.scenario.model import Role, Scenario


@dataclass(frozen=True)
class Environment:
    """One deployed scenario: its scenario, where it runs, and the names and ids of what failover touches."""

    scenario: Scenario
    account: str
    partition: str
    outputs: Mapping[tuple[LayerName, Role], Mapping[str, str]]  # (layer, role) -> that stack's outputs
    # The failover machine's definition (Amazon States Language) as the bundle renders it: what Step Functions
    # runs, and what a sandbox run executes here with the Lambda code.
    definition: Mapping[str, Any]

    # -- regions and names ------------------------------------------------------------------------------------
    @property
    def names(self) -> Names:
        return Names(self.scenario)

    @property
    def primary(self) -> str:
        return self.scenario.regions.primary

    @property
    def dr(self) -> str:
        return self.scenario.regions.secondary

    def region(self, role: Role) -> str:
        return self.scenario.region(role)

    @property
    def global_cluster_id(self) -> str:
        return self.names.fixed("rds", names.GLOBAL_CLUSTER)

    def cluster_id(self, role: Role) -> str:
        return self.names.for_region("rds", AURORA_CLUSTER, self.region(role))

    def cluster_arn(self, role: Role) -> str:
        return f"arn:{self.partition}:rds:{self.region(role)}:{self.account}:cluster:{self.cluster_id(role)}"

    @property
    def secret_name(self) -> str:
        return self.names.fixed("secret", names.DB_SECRET)

    @property
    def table_name(self) -> str | None:
        sessions = self.scenario.sessions
        return self.names.fixed("table", sessions.table) if sessions.enabled else None

    @property
    def ledger_table_name(self) -> str | None:
        ledger = self.scenario.ledger
        return self.names.fixed("table", ledger.table) if ledger.enabled else None

    def replicated_buckets(self) -> list[tuple[str, str]]:
        """(primary bucket, DR bucket) for every bucket the scenario replicates."""
        return [
            (
                self.names.for_region("bucket", b.purpose, self.primary, self.account),
                self.names.for_region("bucket", b.purpose, self.dr, self.account),
            )
            for b in self.scenario.buckets
            if b.replicate
        ]

    @property
    def control_table(self) -> str:
        """The failover control table (DR region): lock, traffic direction, arming."""
        return self.names.fixed("table", CONTROL_TABLE)

    @property
    def state_parameter(self) -> str:
        return self.names.fixed("generic", FAILOVER_STATE)

    @property
    def namespace(self) -> str:
        return contract.metrics_namespace(self.scenario.name)

    @property
    def lag_threshold(self) -> float:
        return self.scenario.database.lag_alarm_seconds

    @property
    def record_name(self) -> str:
        return self.scenario.routing.host_name + "."

    # -- from the stacks' outputs -----------------------------------------------------------------------------
    def output(self, layer: LayerName, role: Role, key: str, default: str | None = None) -> str:
        value = self.outputs.get((layer, role), {}).get(key, default)
        if value is None:
            raise DrgenError(
                f"the {layer} stack ({role.value}) has no output {key}; is {self.scenario.name} "
                f"(suffix {self.scenario.suffix}) deployed? `drgen deploy` it first"
            )
        return value

    @property
    def state_machine_arn(self) -> str:
        return self.output(LayerName.ORCHESTRATION, Role.SECONDARY, STATE_MACHINE_ARN)

    @property
    def alert_topic_arn(self) -> str:
        """The DR region's alert topic: the failover steps notify it."""
        return self.output(LayerName.FOUNDATION, Role.SECONDARY, names.ALERT_TOPIC_ARN)

    @property
    def hosted_zone_id(self) -> str:
        return self.output(LayerName.GLOBAL, Role.GLOBAL, names.HOSTED_ZONE_ID)

    def health_check_id(self, role: Role) -> str:
        return self.output(LayerName.GLOBAL, Role.GLOBAL, names.HEALTH_CHECK_OUTPUTS[role])

    def endpoint(self, role: Role) -> str:
        """What the region's failover record points at (its load balancer, API or cluster endpoint)."""
        return self.output(LayerName.APP, role, names.ENDPOINT_DNS_NAME, "")

    def app_output(self, key: str) -> str:
        """An output of the DR app stack ("" when this scenario's compute has none, e.g. no ASG with ECS)."""
        return self.output(LayerName.APP, Role.SECONDARY, key, "")

    # -- what the failover functions read ---------------------------------------------------------------------
    def function_name(self, key: str) -> str:
        """A catalogue function's name (drgen/builders/functions.py: the same in both regions)."""
        return self.names.fixed("lambda", key)

    def known_values(self) -> dict[str, str]:
        """Function settings drgen knows without the stacks, for where a sandbox deploy has placeholders."""
        return {
            contract.GLOBAL_CLUSTER_ID: self.global_cluster_id,
            contract.DR_CLUSTER_ARN: self.cluster_arn(Role.SECONDARY),
        }


# a stack in these states holds nothing to operate (a failed first create, an unexecuted or running create)
_NOTHING_BUILT = FAILED_FIRST_CREATE | {"REVIEW_IN_PROGRESS", "CREATE_IN_PROGRESS"}


def stack_outputs(
    aws: Aws, bundle: RenderedBundle, entries: Sequence[StackEntry]
) -> dict[tuple[LayerName, Role], dict[str, str]]:
    """The outputs of each of ``entries`` that is deployed, read from CloudFormation (a plain stack or a stack
    set instance's).

    Not from the deployment record: it is a cache for `drgen outputs`, and one written against another endpoint
    or account, or before a redeploy, would aim readiness and failover at resources that are not there.
    """
    found: dict[tuple[LayerName, Role], dict[str, str]] = {}
    for entry in entries:
        located = locate(aws, bundle, entry)
        if located is not None and located.state.status not in _NOTHING_BUILT:
            found[(entry.layer, entry.role)] = dict(located.state.outputs)
    return found


def resolve(aws: Aws, scenario: Scenario, bundle: RenderedBundle, regions: frozenset[str] | None = None) -> Environment:
    """The deployed environment of ``scenario``, from its stacks in ``regions`` (every Region when None); a
    DrgenError when nothing of it, or only part of it, is deployed there."""
    wanted = [e for e in bundle.stacks if regions is None or e.region in regions]
    outputs = stack_outputs(aws, bundle, wanted)
    deploy = f"`drgen deploy -s {scenario.name} --suffix {scenario.suffix}`"
    if not outputs:
        raise DrgenError(f"nothing of {scenario.name} (suffix {scenario.suffix}) is deployed there; run {deploy} first")
    missing = [e.name for e in wanted if (e.layer, e.role) not in outputs]
    if missing:  # the failover steps and the sandbox's provisioning need every stack
        raise DrgenError(
            f"{scenario.name} (suffix {scenario.suffix}) is only partly deployed there: {len(missing)} of "
            f"{len(wanted)} stacks{_in(regions)} missing ({', '.join(missing)}); run {deploy} first"
        )
    account = aws.account_id(min(regions)) if regions else aws.account_id()  # STS where the stacks were read
    return from_outputs(scenario, account, outputs, bundle)


def _in(regions: frozenset[str] | None) -> str:
    return f" in {', '.join(sorted(regions))}" if regions is not None else ""


def from_outputs(
    scenario: Scenario,
    account: str,
    outputs: Mapping[tuple[LayerName, Role], Mapping[str, str]],
    bundle: RenderedBundle,
) -> Environment:
    """The environment from stack outputs already at hand (the partition is read off the alert topic's ARN) and
    the rendered ``bundle`` of ``scenario``."""
    topic = outputs.get((LayerName.FOUNDATION, Role.SECONDARY), {}).get(names.ALERT_TOPIC_ARN, "arn:aws:")
    return Environment(scenario, account, topic.split(":")[1] or "aws", outputs, failover_definition(bundle))


def failover_definition(bundle: RenderedBundle) -> dict[str, Any]:
    """The state machine's definition in the DR region's orchestration stack (the machine runs there)."""
    entry = bundle.stack_of(LayerName.ORCHESTRATION, Role.SECONDARY)
    resources = bundle.document(entry)["Resources"].values() if entry else []
    machines = [
        r["Properties"]["DefinitionString"] for r in resources if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    if len(machines) != 1:
        raise DrgenError(
            f"the bundle of {bundle.scenario} holds {len(machines)} failover state machines in the DR region, not "
            "one; re-render it with this drgen"
        )
    return dict(json.loads(machines[0]))
