"""The architecture view: what a change board needs to see of a bundle, not every resource it creates.

Containers: the primary region, the DR region and the global layer (us-east-1); each resource is drawn in the
region of the stack that creates it, so a resource only the DR stack creates (a condition such as IsSecondary
decides it per stack) is drawn only in the DR container. Nodes: a curated set: the global DNS records and
Route 53 health checks, the entry point (load balancer or API), the compute behind it (ECS service, Auto Scaling
group, the Lambda functions the entry invokes and the queues between them), the data stores (Aurora clusters and
the global cluster, DynamoDB tables, S3 buckets) and the failover machinery (the alarms that trigger it, the
rules, the state machine). Edges: the request path (clients -> DNS -> entry -> compute -> data), replication
between the stores, and the failover path (alarm -> rule -> state machine -> promote / DNS / scale). Everything
is found in the templates, as in the full resource graph (graph.py), which stays the second picture.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from drgen.bundle.evaluate import Env, references
from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle
from drgen.review.graph import (
    DNS_ACTIONS,
    GLOBAL_DB,
    PROMOTE_ACTIONS,
    Graph,
    Node,
    build_graph,
    node_id,
    placed_resources,
    replica_id,
    role_statements,
)
from drgen.review.resources import trace

CLIENTS = "clients"
REGIONS = ("primary", "secondary")
ENTRY_TYPES = ("AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api")
SERVICE_TYPES = ("AWS::ECS::Service", "AWS::AutoScaling::AutoScalingGroup")
LAMBDA = "AWS::Lambda::Function"
STORE_TYPES = ("AWS::RDS::DBCluster", "AWS::RDS::GlobalCluster", "AWS::S3::Bucket")
TABLE = "AWS::DynamoDB::Table"
GLOBAL_TABLE = "AWS::DynamoDB::GlobalTable"
RECORD = "AWS::Route53::RecordSet"
DNS_TYPES = (RECORD, "AWS::Route53::HealthCheck", "AWS::Route53::HostedZone")
# Resources that carry a compute resource's configuration (environment, user data).
CONFIG_TYPES = ("AWS::ECS::TaskDefinition", "AWS::EC2::LaunchTemplate", "AWS::AutoScaling::LaunchConfiguration")
DOMAIN_TYPES = ("AWS::ApiGateway::DomainName", "AWS::ApiGatewayV2::DomainName")
MAPPING_TYPES = ("AWS::ApiGateway::BasePathMapping", "AWS::ApiGatewayV2::ApiMapping")
# Failover-step actions that scale compute up, and the type they scale.
SCALE_ACTIONS = {
    "ecs:UpdateService": "AWS::ECS::Service",
    "autoscaling:UpdateAutoScalingGroup": "AWS::AutoScaling::AutoScalingGroup",
    "autoscaling:SetDesiredCapacity": "AWS::AutoScaling::AutoScalingGroup",
    "lambda:PutProvisionedConcurrencyConfig": LAMBDA,
    "lambda:PutFunctionConcurrency": LAMBDA,
}
NAME_PROPERTIES = {"AWS::RDS::DBCluster": "DBClusterIdentifier", "AWS::S3::Bucket": "BucketName", TABLE: "TableName"}
STORE_LABELS = {"AWS::RDS::DBCluster": "SQL", "AWS::S3::Bucket": "objects", TABLE: "items", GLOBAL_TABLE: "items"}
LEGEND = "black: request path   blue: replication   red: failover path"

Key = tuple[StackEntry, str]


def build_architecture(bundle: RenderedBundle) -> Graph:
    """The architecture view of ``bundle``; deterministic for the same templates."""
    return _View(bundle).build()


class _View:
    def __init__(self, bundle: RenderedBundle) -> None:
        self.bundle = bundle
        self.full = build_graph(bundle)
        self.resources = placed_resources(bundle)
        self.keys = {node_id(stack, logical_id): (stack, logical_id) for stack, logical_id in self.resources}
        regions = bundle.regions
        self.graph = Graph(
            title=f"{self.full.title}\n{LEGEND}",
            clusters={
                "global": f"Global layer {regions.get('global', '')} (Route 53)",
                "primary": f"Primary region {regions.get('primary', '')}",
                "secondary": f"DR region {regions.get('secondary', '')}",
            },
            rankdir="TB",
        )

    # -- building -----------------------------------------------------------------------------------------
    def build(self) -> Graph:
        graph = self.graph
        for key, resource in self.resources.items():
            rtype = resource.get("Type")
            stack = key[0]
            drawn = (stack.role == "global" and rtype in DNS_TYPES) or (stack.role in REGIONS and rtype in ENTRY_TYPES)
            if drawn or rtype in STORE_TYPES or rtype == "AWS::StepFunctions::StateMachine":
                self.add(key)
            elif rtype == GLOBAL_TABLE:
                for replica in resource.get("Properties", {}).get("Replicas", []):
                    self.add_id(replica_id(key[1], self.env(stack).show(replica.get("Region"))))
        self.compute()
        self.failover()
        self.requests()
        self.copy_edges("replication")
        graph.clusters = {k: v for k, v in graph.clusters.items() if any(n.cluster == k for n in graph.nodes.values())}
        self.layout()
        return graph

    def add(self, key: Key) -> str:
        return self.add_id(node_id(*key))

    def add_id(self, nid: str) -> str:
        if nid in self.graph.nodes or nid not in self.full.nodes:
            return nid
        node = self.full.nodes[nid]
        key = self.keys.get(nid)
        cluster = key[0].role if key and node.cluster == GLOBAL_DB else node.cluster
        # a replica's region is its container's
        label = "\n".join(line for line in node.label.split("\n") if not line.endswith(" replica)"))
        if key is not None:
            resource = self.resources[key]
            if self.env(key[0]).deployed(resource) is None:
                label += f"\n(if {resource.get('Condition')})"
        shape = "cylinder" if node.category == "data" else ""
        self.graph.nodes[nid] = replace(node, cluster=cluster, label=label, shape=shape)
        return nid

    def env(self, stack: StackEntry) -> Env:
        return Env(self.bundle.templates[stack.template], stack)

    def same_template(self, stack: StackEntry) -> dict[str, Any]:
        return self.bundle.templates[stack.template].get("Resources", {})

    def of_type(self, stack: StackEntry, types: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
        """Resources of ``types`` that ``stack`` creates, by logical id."""
        return [(lid, r) for (s, lid), r in self.resources.items() if s == stack and r.get("Type") in types]

    def edge(self, source: str, target: str, label: str, kind: str, **options: Any) -> None:
        """An edge. Only the request path ranks the regions below the global layer: an edge from a region up
        into it, or a failover edge down from it, does not pull one above the other."""
        nodes = self.graph.nodes
        if source in nodes and target in nodes:
            ends = (nodes[source].cluster, nodes[target].cluster)
            upward = ends[0] in REGIONS and ends[1] == "global"
            if upward or (ends[0] == "global" and ends[1] in REGIONS and kind == "failover"):
                options.setdefault("constraint", False)
        self.graph.edge(source, target, label, kind, **options)

    def copy_edges(self, kind: str, skip: tuple[str, ...] = ()) -> None:
        """The full graph's edges of ``kind`` between drawn nodes; a health check is drawn below what it gates."""
        for edge in self.full.sorted_edges():
            drawn = edge.source in self.graph.nodes and edge.target in self.graph.nodes
            if edge.kind == kind and drawn and edge.label not in skip:
                upward = edge.label in ("gates", "child")
                self.edge(edge.source, edge.target, edge.label, kind, both_ways=edge.both_ways, upward=upward)

    # -- the request path ---------------------------------------------------------------------------------
    def compute(self) -> None:
        """Entry -> compute (target groups, API integrations) -> queues -> consumers -> data stores."""
        queue: list[Key] = []
        for nid in sorted(self.graph.nodes):
            key = self.keys.get(nid)
            if key is None or self.resources[key].get("Type") not in ENTRY_TYPES:
                continue
            for target, label in self.behind_entry(key):
                self.edge(nid, self.add(target), label, "request")
                queue.append(target)
        seen: set[Key] = set()
        while queue:
            key = queue.pop(0)
            if key in seen:
                continue
            seen.add(key)
            self.uses(key, queue)

    def behind_entry(self, key: Key) -> list[tuple[Key, str]]:
        stack, entry = key
        rtype = self.resources[key].get("Type")
        found: list[tuple[Key, str]] = []
        if rtype == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            groups: set[str] = set()
            for _, listener in self.of_type(stack, ("AWS::ElasticLoadBalancingV2::Listener",)):
                props = listener.get("Properties", {})
                if entry in references(props.get("LoadBalancerArn")):
                    groups |= references(props.get("DefaultActions"))
            for lid, resource in self.of_type(stack, SERVICE_TYPES):
                if groups & references(resource.get("Properties", {})):
                    found.append(((stack, lid), "forwards"))
            for group in sorted(groups):
                targets = self.same_template(stack).get(group, {}).get("Properties", {}).get("Targets")
                found += [
                    ((stack, lid), "invokes") for lid, _ in self.of_type(stack, (LAMBDA,)) if lid in references(targets)
                ]
        else:
            methods = ("AWS::ApiGateway::Method", "AWS::ApiGatewayV2::Integration")
            for _, method in self.of_type(stack, methods):
                props = method.get("Properties", {})
                if entry in references([props.get("RestApiId"), props.get("ApiId")]):
                    wired = references([props.get("Integration"), props.get("IntegrationUri")])
                    found += [((stack, lid), "invokes") for lid, _ in self.of_type(stack, (LAMBDA,)) if lid in wired]
        return sorted(set(found), key=lambda item: item[0][1])

    def uses(self, key: Key, queue: list[Key]) -> None:
        """What one compute resource talks to: queues (and their consumers) and its region's data stores."""
        stack, _ = key
        me = node_id(*key)
        config = self.config(key)
        for lid, _ in self.of_type(stack, ("AWS::SQS::Queue",)):
            consumers = self.consumers(stack, lid)
            if lid not in references(config) or key in consumers:
                continue  # a consumer naming its own queue (to re-queue) is not a producer
            target = self.add((stack, lid))
            self.edge(me, target, "sends", "request")
            for consumer in consumers:
                self.edge(target, self.add(consumer), "triggers", "request")
                queue.append(consumer)
        for store, rtype in self.stores_used(stack, config):
            target = self.add(store) if rtype == TABLE else self.store_id(store, stack)
            self.edge(me, target, STORE_LABELS[rtype], "request")

    def consumers(self, stack: StackEntry, queue: str) -> list[Key]:
        """The functions an event source mapping feeds from ``queue``."""
        found = set()
        for _, mapping in self.of_type(stack, ("AWS::Lambda::EventSourceMapping",)):
            props = mapping.get("Properties", {})
            if queue in references(props.get("EventSourceArn")):
                found |= {(stack, f) for f in references(props.get("FunctionName")) if (stack, f) in self.resources}
        return sorted(found, key=lambda k: k[1])

    def stores_used(self, stack: StackEntry, config: Any) -> list[tuple[Key, str]]:
        """The data stores in ``stack``'s region that ``config`` refers to (traced) or names (its known name)."""
        text = self.env(stack).show(config)
        traced = {(t.stack, t.logical_id) for t in trace(self.bundle, stack, config)}
        found = []
        for other, resource in self.resources.items():
            rtype = str(resource.get("Type"))
            if rtype not in STORE_LABELS or (rtype != GLOBAL_TABLE and other[0].region != stack.region):
                continue  # a global table is created in one stack and has a replica in each region
            name = self.env(other[0]).known(resource.get("Properties", {}).get(NAME_PROPERTIES.get(rtype, "TableName")))
            if other in traced or (name and name in text):
                found.append((other, rtype))
        return found

    def store_id(self, store: Key, user: StackEntry) -> str:
        """The node of a store: a global table's is its replica in the user's region."""
        if self.resources[store].get("Type") == GLOBAL_TABLE:
            return replica_id(store[1], user.region)
        return node_id(*store)

    def config(self, key: Key) -> list[Any]:
        """A compute resource's properties and those of its task definition or launch template."""
        stack, logical_id = key
        resources = self.same_template(stack)
        props = resources[logical_id].get("Properties", {})
        extra = [
            resources[r].get("Properties", {})
            for r in sorted(references(props))
            if resources.get(r, {}).get("Type") in CONFIG_TYPES
        ]
        return [props, *extra]

    def requests(self) -> None:
        """Clients resolve the global records; each record routes to its region's entry (or database)."""
        records = self.drawn(RECORD)
        routed = False
        for nid in records:
            props = self.properties(nid)
            label = str(props["Failover"]).upper() if props.get("Failover") else "alias"
            for target in self.entries(self.keys[nid][0], [props.get("AliasTarget"), props.get("ResourceRecords")]):
                self.edge(nid, target, label, "request")
                routed = True
        self.graph.nodes[CLIENTS] = Node(CLIENTS, "Clients\n(DNS, then HTTPS)", "", "client", "ellipse")
        for target in records if routed else self.drawn(*ENTRY_TYPES):
            self.edge(CLIENTS, target, "resolve" if routed else "HTTPS", "request")

    def entries(self, stack: StackEntry, value: Any, depth: int = 0) -> list[str]:
        """The drawn nodes ``value`` leads to: directly, through an API domain's mapping, or a regional record."""
        found: list[str] = []
        for traced in trace(self.bundle, stack, value):
            nid = node_id(traced.stack, traced.logical_id)
            resource = self.resources.get((traced.stack, traced.logical_id), {})
            if nid in self.graph.nodes:
                found.append(nid)
            elif resource.get("Type") in DOMAIN_TYPES:
                for _, mapping in self.of_type(traced.stack, MAPPING_TYPES):
                    props = mapping.get("Properties", {})
                    if traced.logical_id in references(props.get("DomainName")) and depth < 3:
                        found += self.entries(traced.stack, [props.get("RestApiId"), props.get("ApiId")], depth + 1)
            elif resource.get("Type") == RECORD and depth < 3:
                found += self.entries(traced.stack, resource.get("Properties", {}).get("AliasTarget"), depth + 1)
        return sorted(set(found))

    # -- the failover path --------------------------------------------------------------------------------
    def failover(self) -> None:
        """Rules that start a drawn state machine, the alarms behind them and behind the health checks, and what
        the state machine's steps act on: the DR cluster (promote), DNS, the DR compute (scale)."""
        starts = [e for e in self.full.sorted_edges() if e.label == "starts" and e.target in self.graph.nodes]
        for edge in starts:
            self.add_id(edge.source)
        for edge in self.full.sorted_edges():
            if edge.label == "alarm state" and edge.target in self.graph.nodes:
                self.add_id(edge.source)
        self.copy_edges("failover", skip=("invokes",))
        for edge in self.full.sorted_edges():
            if edge.label == "invokes" and edge.source in self.graph.nodes and edge.target in self.keys:
                self.steps(edge.source, self.keys[edge.target])

    def steps(self, machine: str, function: Key) -> None:
        """What one step function of the state machine acts on, by its role's actions."""
        stack = function[0]
        role = self.resources[function].get("Properties", {}).get("Role")
        statements = role_statements(self.bundle, stack, role)
        actions = {a for acts, _ in statements for a in acts}
        region = self.keys[machine][0].region
        nodes = self.graph.nodes
        if actions & set(PROMOTE_ACTIONS):  # the DR region's member of the global cluster becomes the writer
            members = [
                n
                for n in self.drawn("AWS::RDS::DBCluster")
                if self.keys[n][0].region == region and "GlobalClusterIdentifier" in self.properties(n)
            ]
            for target in members or self.drawn("AWS::RDS::GlobalCluster"):
                self.edge(machine, target, "promote", "failover")
        if actions & set(DNS_ACTIONS):  # the health checks or records the role's DNS statements name
            named = {
                node_id(t.stack, t.logical_id)
                for acts, res in statements
                if acts & set(DNS_ACTIONS)
                for t in trace(self.bundle, stack, res)
            }
            for target in sorted(n for n in named if n in nodes) or self.drawn(RECORD):
                self.edge(machine, target, "DNS failover", "failover")
        scaled = {SCALE_ACTIONS[a] for a in actions if a in SCALE_ACTIONS}
        for target in sorted(nodes):
            if self.type_of(target) in scaled and self.keys[target][0].region == region:
                self.edge(machine, target, "scale up", "failover")

    def drawn(self, *types: str) -> list[str]:
        """The drawn nodes of the resources of ``types``."""
        return [n for n in sorted(self.graph.nodes) if self.type_of(n) in types]

    def type_of(self, nid: str) -> str:
        key = self.keys.get(nid)
        return str(self.resources[key].get("Type", "")) if key else ""

    # -- layout ---------------------------------------------------------------------------------------------
    def layout(self) -> None:
        """The global layer on top (the failover records side by side, PRIMARY first), the regions below it
        with their entry points side by side, and each region's data stores side by side, so replication runs
        down from the primary's stores to the DR region's. The Aurora global cluster sits below its source."""
        graph = self.graph

        def ids(cluster: str, wanted: Any) -> list[str]:
            return [n for n in sorted(graph.nodes) if graph.nodes[n].cluster == cluster and wanted(n)]

        records = sorted(
            ids("global", lambda n: self.type_of(n) == RECORD),
            key=lambda n: (self.properties(n).get("Failover") != "PRIMARY", n),
        )
        entries = [n for r in REGIONS for n in ids(r, lambda n: self.type_of(n) in ENTRY_TYPES)]
        stores = [
            tuple(ids(r, lambda n: graph.nodes[n].category == "data" and self.type_of(n) != "AWS::RDS::GlobalCluster"))
            for r in REGIONS
        ]
        graph.same_rank = [group for group in (tuple(records), tuple(entries), *stores) if len(group) > 1]
        ranked = [(e.target, e.source) if e.upward else (e.source, e.target) for e in graph.edges if e.constraint]
        layer = ids("global", lambda n: True)
        bottom = [n for n in layer if not any(s == n and t in layer for s, t in ranked)]
        graph.below = []
        for region in REGIONS:
            inside = ids(region, lambda n: True)
            tops = [n for n in inside if not any(t == n and s in inside for s, t in ranked)]
            if not tops:
                continue
            anchor = next((n for n in tops if n in entries), tops[0])
            graph.below += [(upper, anchor, 1) for upper in bottom]
            graph.below += [(anchor, top, 0) for top in tops if top != anchor]

    def properties(self, nid: str) -> dict[str, Any]:
        key = self.keys.get(nid)
        return self.resources[key].get("Properties", {}) if key else {}
