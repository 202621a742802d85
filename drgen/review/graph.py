"""The full resource graph, derived from the rendered templates: the second picture (diagram-full.svg), and
what the architecture view (architecture.py) curates its nodes and edges from.

Clusters: one per region (primary, DR) and one for the global layer (us-east-1); the Aurora global cluster
sits between the regions. Nodes: the main resources each stack creates. Edges: replication between data
stores (global cluster source and members, global-table replicas, bucket replication rules, secret
replicas, VPC peering) and the failover path (health check -> alarm -> rule -> state machine -> DB promote /
DNS records), each found from references in the templates, not from the scenario.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from drgen.bundle.evaluate import Env, references
from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle
from drgen.review.resources import Traced, placements, trace

# type -> (label, category); the category picks colour and shape.
MAIN_TYPES = {
    "AWS::EC2::VPC": ("VPC", "network"),
    "AWS::RDS::DBCluster": ("Aurora cluster", "data"),
    "AWS::RDS::GlobalCluster": ("Aurora global cluster", "data"),
    "AWS::DynamoDB::Table": ("DynamoDB table", "data"),
    "AWS::S3::Bucket": ("S3 bucket", "data"),
    "AWS::SecretsManager::Secret": ("Secret", "data"),
    "AWS::SNS::Topic": ("SNS topic", "messaging"),
    "AWS::SQS::Queue": ("SQS queue", "messaging"),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("Load balancer", "compute"),
    "AWS::ECS::Service": ("ECS service", "compute"),
    "AWS::AutoScaling::AutoScalingGroup": ("Auto Scaling group", "compute"),
    "AWS::Lambda::Function": ("Lambda function", "compute"),
    "AWS::ApiGateway::RestApi": ("API Gateway", "compute"),
    "AWS::ApiGatewayV2::Api": ("API Gateway", "compute"),
    "AWS::StepFunctions::StateMachine": ("State machine", "failover"),
    "AWS::Events::Rule": ("EventBridge rule", "failover"),
    "AWS::CloudWatch::Alarm": ("Alarm", "failover"),
    "AWS::Route53::HealthCheck": ("Health check", "routing"),
    "AWS::Route53::RecordSet": ("DNS record", "routing"),
    "AWS::Route53::HostedZone": ("Hosted zone", "routing"),
}
GLOBAL_DB = "globaldb"
PROMOTE_ACTIONS = ("rds:FailoverGlobalCluster", "rds:SwitchoverGlobalCluster", "rds:RemoveFromGlobalCluster")
DNS_ACTIONS = ("route53:ChangeResourceRecordSets", "route53:UpdateHealthCheck")
_ID = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    cluster: str  # primary | secondary | global | globaldb; anything else: drawn outside every container
    category: str
    shape: str = ""  # a Graphviz shape; empty: the default rounded box


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    kind: str  # request | replication | failover | link
    both_ways: bool = False
    constraint: bool = True  # False: the edge does not pull its ends into successive ranks
    upward: bool = False  # laid out with the target above the source (the arrow still points at the target)


@dataclass
class Graph:
    title: str
    clusters: dict[str, str] = field(default_factory=dict)  # id -> label, in drawing order
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    rankdir: str = "LR"
    same_rank: list[tuple[str, ...]] = field(default_factory=list)  # node ids drawn side by side
    below: list[tuple[str, str, int]] = field(default_factory=list)  # (upper, lower, minimum rank distance)

    def edge(
        self,
        source: str,
        target: str,
        label: str,
        kind: str,
        both_ways: bool = False,
        *,
        constraint: bool = True,
        upward: bool = False,
    ) -> None:
        if source in self.nodes and target in self.nodes and source != target:
            candidate = Edge(source, target, label, kind, both_ways, constraint, upward)
            if candidate not in self.edges:
                self.edges.append(candidate)

    def sorted_edges(self) -> list[Edge]:
        return sorted(self.edges, key=lambda e: (e.kind, e.source, e.target, e.label))


def node_id(stack: StackEntry, logical_id: str) -> str:
    return _ID.sub("_", f"{stack.role}_{stack.layer}_{logical_id}")


def build_graph(bundle: RenderedBundle) -> Graph:
    """Nodes and edges for ``bundle``; deterministic for the same templates."""
    graph = Graph(title=f"drgen {bundle.scenario}: {bundle.manifest.document.get('description', '')}".strip(": "))
    regions = bundle.regions
    graph.clusters = {
        "primary": f"Primary region {regions.get('primary', '')}",
        GLOBAL_DB: "Aurora global database",
        "secondary": f"DR region {regions.get('secondary', '')}",
        "global": f"Global layer {regions.get('global', '')}",
    }
    resources = placed_resources(bundle)
    for (stack, logical_id), resource in resources.items():
        _add_nodes(graph, bundle, stack, logical_id, resource)
    for (stack, logical_id), resource in resources.items():
        _add_edges(graph, bundle, stack, logical_id, resource, resources)
    used = {n.cluster for n in graph.nodes.values()}
    graph.clusters = {k: v for k, v in graph.clusters.items() if k in used}
    return graph


def placed_resources(bundle: RenderedBundle) -> dict[tuple[StackEntry, str], dict[str, Any]]:
    """Every (stack, logical id) -> resource that a stack creates (or may create)."""
    placed = {}
    for path, doc in sorted(bundle.templates.items()):
        for logical_id, resource in sorted(doc.get("Resources", {}).items()):
            for placement in placements(bundle, path, resource):
                placed[(placement.stack, logical_id)] = resource
    return dict(sorted(placed.items(), key=lambda item: (item[0][0].name, item[0][1])))


def _add_nodes(
    graph: Graph, bundle: RenderedBundle, stack: StackEntry, logical_id: str, resource: dict[str, Any]
) -> None:
    rtype = resource.get("Type", "")
    props = resource.get("Properties", {})
    env = Env(bundle.templates[stack.template], stack)
    if rtype == "AWS::DynamoDB::GlobalTable":
        for replica in props.get("Replicas", []):
            region = env.show(replica.get("Region"))
            owner = _stack_in(bundle, region) or stack
            graph.nodes[replica_id(logical_id, region)] = Node(
                replica_id(logical_id, region),
                f"DynamoDB global table\n{logical_id}\n({region} replica)",
                owner.role,
                "data",
            )
        return
    if rtype not in MAIN_TYPES:
        return
    kind, category = MAIN_TYPES[rtype]
    cluster = GLOBAL_DB if rtype == "AWS::RDS::GlobalCluster" else stack.role
    detail = env.show(props.get("CidrBlock")) if rtype == "AWS::EC2::VPC" else ""
    label = "\n".join(part for part in (kind, logical_id, detail) if part)
    graph.nodes[node_id(stack, logical_id)] = Node(node_id(stack, logical_id), label, cluster, category)
    if rtype == "AWS::SecretsManager::Secret":
        for replica in props.get("ReplicaRegions", []):
            region = env.show(replica.get("Region"))
            replica_owner = _stack_in(bundle, region)
            if replica_owner is not None:
                rid = f"{node_id(stack, logical_id)}_replica_{_ID.sub('_', region)}"
                graph.nodes[rid] = Node(rid, f"Secret replica\n{logical_id}", replica_owner.role, "data")
                graph.edge(node_id(stack, logical_id), rid, "secret replication", "replication")


def replica_id(logical_id: str, region: str) -> str:
    return _ID.sub("_", f"table_{logical_id}_{region}")


def _stack_in(bundle: RenderedBundle, region: str) -> StackEntry | None:
    """A regional stack of the bundle in ``region`` (for placing replicas in the right cluster)."""
    return next((s for s in bundle.stacks if s.region == region and s.role != "global"), None)


def _targets(bundle: RenderedBundle, stack: StackEntry, value: Any) -> list[str]:
    return [node_id(t.stack, t.logical_id) for t in trace(bundle, stack, value)]


def _add_edges(
    graph: Graph,
    bundle: RenderedBundle,
    stack: StackEntry,
    logical_id: str,
    resource: dict[str, Any],
    resources: dict[tuple[StackEntry, str], dict[str, Any]],
) -> None:
    rtype = resource.get("Type", "")
    props = resource.get("Properties", {})
    me = node_id(stack, logical_id)
    env = Env(bundle.templates[stack.template], stack)
    if rtype == "AWS::DynamoDB::GlobalTable":
        ids = [replica_id(logical_id, env.show(r.get("Region"))) for r in props.get("Replicas", [])]
        for a, b in itertools.pairwise(ids):
            graph.edge(a, b, "global table replication", "replication", both_ways=True)
    elif rtype == "AWS::RDS::GlobalCluster":
        for source in _targets(bundle, stack, props.get("SourceDBClusterIdentifier")):
            graph.edge(source, me, "source (writer)", "replication")
    elif rtype == "AWS::RDS::DBCluster" and "GlobalClusterIdentifier" in props:
        for global_cluster in _targets(bundle, stack, props["GlobalClusterIdentifier"]):
            graph.edge(global_cluster, me, "storage replication", "replication")
    elif rtype == "AWS::S3::Bucket":
        _bucket_edges(graph, bundle, stack, env, me, props, resources)
    elif rtype == "AWS::EC2::VPCPeeringConnection":
        peers = _targets(bundle, stack, props.get("VpcId"))
        for vpc in peers:
            for (other, other_id), other_resource in resources.items():
                if other_resource.get("Type") == "AWS::EC2::VPC" and other.layer == stack.layer and other != stack:
                    graph.edge(vpc, node_id(other, other_id), "VPC peering", "link", both_ways=True)
    else:
        _failover_edges(graph, bundle, stack, env, me, rtype, props, resources)


def _bucket_edges(
    graph: Graph,
    bundle: RenderedBundle,
    stack: StackEntry,
    env: Env,
    me: str,
    props: dict[str, Any],
    resources: dict[tuple[StackEntry, str], dict[str, Any]],
) -> None:
    """Replication rules: the destination ARN resolved here matches a bucket name resolved in its stack."""
    configuration = env.show(props.get("ReplicationConfiguration"))
    if not configuration:
        return
    for (other, other_id), other_resource in resources.items():
        if other_resource.get("Type") != "AWS::S3::Bucket" or other == stack:
            continue
        bucket_name = other_resource.get("Properties", {}).get("BucketName")
        name = Env(bundle.templates[other.template], other).known(bucket_name)
        if name and f"arn:aws:s3:::{name}" in configuration:
            graph.edge(me, node_id(other, other_id), "S3 replication", "replication")


def _failover_edges(
    graph: Graph,
    bundle: RenderedBundle,
    stack: StackEntry,
    env: Env,
    me: str,
    rtype: str,
    props: dict[str, Any],
    resources: dict[tuple[StackEntry, str], dict[str, Any]],
) -> None:
    if rtype == "AWS::Route53::RecordSet":
        for check in _targets(bundle, stack, props.get("HealthCheckId")):
            graph.edge(check, me, "gates", "failover")
        for target in _targets(bundle, stack, props.get("AliasTarget")) + _targets(
            bundle, stack, props.get("ResourceRecords")
        ):
            graph.edge(me, target, "routes to", "link")
    elif rtype == "AWS::Route53::HealthCheck":
        _health_check_edges(graph, bundle, stack, env, me, props, resources)
    elif rtype == "AWS::CloudWatch::Alarm":
        for check in _targets(bundle, stack, props.get("Dimensions")):
            if graph.nodes.get(check) and graph.nodes[check].label.startswith("Health check"):
                graph.edge(check, me, "status", "failover")
        for topic in _targets(bundle, stack, props.get("AlarmActions")):
            graph.edge(me, topic, "notifies", "link")
    elif rtype == "AWS::Events::Rule":
        pattern = env.show(props.get("EventPattern"))
        for (other, other_id), other_resource in resources.items():
            if other_resource.get("Type") != "AWS::CloudWatch::Alarm":
                continue
            name = Env(bundle.templates[other.template], other).known(
                other_resource.get("Properties", {}).get("AlarmName")
            )
            named = other == stack and other_id in references(props.get("EventPattern"))
            if named or (name and name in pattern):
                graph.edge(node_id(other, other_id), me, "alarm state", "failover")
        for target in props.get("Targets", []):
            for node in _targets(bundle, stack, target.get("Arn")):
                graph.edge(me, node, "starts", "failover")
    elif rtype == "AWS::SNS::Subscription":
        for topic in _targets(bundle, stack, props.get("TopicArn")):
            for endpoint in _targets(bundle, stack, props.get("Endpoint")):
                graph.edge(topic, endpoint, "subscription", "link")
    elif rtype == "AWS::StepFunctions::StateMachine":
        for target in _targets(bundle, stack, [props.get("DefinitionSubstitutions"), props.get("DefinitionString")]):
            graph.edge(me, target, "invokes", "failover")
        _action_edges(graph, bundle, stack, me, props.get("RoleArn"), resources)
    elif rtype == "AWS::Lambda::Function":
        _action_edges(graph, bundle, stack, me, props.get("Role"), resources)


def _health_check_edges(
    graph: Graph,
    bundle: RenderedBundle,
    stack: StackEntry,
    env: Env,
    me: str,
    props: dict[str, Any],
    resources: dict[tuple[StackEntry, str], dict[str, Any]],
) -> None:
    """Alarm-based checks name their alarm (name + region); endpoint checks probe a traced resource."""
    config = props.get("HealthCheckConfig", {})
    alarm = config.get("AlarmIdentifier")
    if alarm:
        wanted = (env.show(alarm.get("Name")), env.show(alarm.get("Region")))
        for (other, other_id), other_resource in resources.items():
            if other_resource.get("Type") != "AWS::CloudWatch::Alarm":
                continue
            name = Env(bundle.templates[other.template], other).known(
                other_resource.get("Properties", {}).get("AlarmName")
            )
            if (name, other.region) == wanted:
                graph.edge(node_id(other, other_id), me, "alarm state", "failover")
    for target in _targets(bundle, stack, config.get("FullyQualifiedDomainName")):
        graph.edge(me, target, "probes", "link")
    for child in _targets(bundle, stack, config.get("ChildHealthChecks")):
        graph.edge(child, me, "child", "failover")


def _action_edges(
    graph: Graph,
    bundle: RenderedBundle,
    stack: StackEntry,
    me: str,
    role_arn: Any,
    resources: dict[tuple[StackEntry, str], dict[str, Any]],
) -> None:
    """What a failover step acts on, per its role's actions: the global cluster (promote) and DNS."""
    actions = _role_actions(bundle, stack, role_arn)
    for (other, other_id), other_resource in resources.items():
        other_type = other_resource.get("Type")
        if other_type == "AWS::RDS::GlobalCluster" and any(a in actions for a in PROMOTE_ACTIONS):
            graph.edge(me, node_id(other, other_id), "promote DR cluster", "failover")
        if other_type == "AWS::Route53::HostedZone" and any(a in actions for a in DNS_ACTIONS):
            graph.edge(me, node_id(other, other_id), "DNS change", "failover")


def _role_actions(bundle: RenderedBundle, stack: StackEntry, role_arn: Any) -> set[str]:
    return {action for actions, _ in role_statements(bundle, stack, role_arn) for action in actions}


def role_statements(bundle: RenderedBundle, stack: StackEntry, role_arn: Any) -> list[tuple[set[str], Any]]:
    """(actions, Resource value) of each statement of the role(s) ``role_arn`` names: inline and attached."""
    found = []
    for traced in trace(bundle, stack, role_arn):
        found += _statements_of(bundle, traced)
    return found


def _statements_of(bundle: RenderedBundle, traced: Traced) -> list[tuple[set[str], Any]]:
    resources = bundle.templates[traced.stack.template].get("Resources", {})
    documents = [
        p.get("PolicyDocument", {})
        for p in resources[traced.logical_id].get("Properties", {}).get("Policies", []) or []
    ]
    documents += [
        r.get("Properties", {}).get("PolicyDocument", {})
        for r in resources.values()
        if r.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        and traced.logical_id in references(r.get("Properties", {}).get("Roles", []))
    ]
    found = []
    for document in documents:
        statements = document.get("Statement", []) if isinstance(document, dict) else []
        for statement in statements if isinstance(statements, list) else [statements]:
            action = statement.get("Action", [])
            actions = {a for a in (action if isinstance(action, list) else [action]) if isinstance(a, str)}
            found.append((actions, statement.get("Resource")))
    return found
