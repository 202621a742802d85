"""How long a first deploy of the bundle takes: the critical path through the stack graph.

CloudFormation creates a stack's resources in parallel as far as their dependencies (Ref, GetAtt, Sub,
DependsOn) allow, so a stack takes as long as its longest chain of resources; `drgen deploy` starts a stack as
soon as the stacks it depends on (the manifest's ``depends_on``) have finished, so the deploy takes as long as
the longest chain of stacks. Each resource type counts its typical create time below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from drgen.bundle.evaluate import Env, references
from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle

# Typical CloudFormation create times, in minutes. AWS publishes no create-time figures; these are drgen's
# planning figures from the create events of comparable stacks, rounded up, and the words AWS uses where it
# uses any ("can take several minutes" for a DB instance; a certificate waits for DNS validation; an Aurora
# global database's secondary cluster copies the whole volume across regions before it is available). A real
# `drgen deploy` prints the seconds each stack took: those replace these figures.
TYPICAL_MINUTES: dict[str, float] = {
    "AWS::RDS::GlobalCluster": 5.0,
    "AWS::RDS::DBCluster": 10.0,  # an Aurora cluster without instances; a secondary copies the volume first
    "AWS::RDS::DBInstance": 15.0,  # an Aurora instance: "several minutes", 10-20 in practice
    "AWS::DynamoDB::GlobalTable": 10.0,  # each replica region is built before the stack completes
    "AWS::DynamoDB::Table": 1.0,
    "AWS::CertificateManager::Certificate": 5.0,  # DNS validation in a delegated zone; far longer if not
    "AWS::CloudFront::Distribution": 15.0,
    "AWS::ECS::Service": 5.0,  # waits for the tasks to reach a steady state
    "AWS::AutoScaling::AutoScalingGroup": 6.0,  # instances launch and pass health checks
    "AWS::ElasticLoadBalancingV2::LoadBalancer": 4.0,
    "AWS::EC2::NatGateway": 3.0,
    "AWS::EC2::VPCEndpoint": 3.0,  # interface endpoints: one network interface per subnet
    "AWS::IAM::InstanceProfile": 2.0,
    "AWS::EC2::VPCPeeringConnection": 1.0,
    "AWS::Route53::RecordSet": 1.0,  # waits until the change is INSYNC
    "AWS::Route53::HostedZone": 1.0,
    "AWS::ApiGateway::DomainName": 1.0,
    "AWS::Lambda::Function": 1.0,  # in a VPC: its network interfaces
    "AWS::KMS::Key": 1.0,
    "AWS::Backup::BackupVault": 0.5,
    "AWS::SecretsManager::Secret": 0.5,
    "AWS::IAM::Role": 0.5,
}
DEFAULT_MINUTES = 0.5  # any other type
STACK_OVERHEAD_MINUTES = 1.0  # creating and executing the change set, and the stack's own events


@dataclass(frozen=True)
class CriticalPath:
    """The longest chain: its nodes in order and its total minutes."""

    minutes: float
    nodes: tuple[str, ...]


def longest_path(minutes: Mapping[str, float], after: Mapping[str, tuple[str, ...]]) -> CriticalPath:
    """The longest chain through a DAG: each node takes ``minutes[node]`` and starts once all of ``after[node]``
    (nodes that must finish first) have finished; dependencies outside ``minutes`` are ignored."""

    @cache
    def finish(node: str) -> tuple[float, tuple[str, ...]]:
        before = [finish(p) for p in after.get(node, ()) if p in minutes]
        start, chain = max(before, default=(0.0, ()))
        return start + minutes[node], (*chain, node)

    if not minutes:
        return CriticalPath(0.0, ())
    total, nodes = max((finish(n) for n in sorted(minutes)), key=lambda found: found[0])
    return CriticalPath(round(total, 2), nodes)


def stack_path(doc: dict[str, Any], stack: StackEntry, typical: Callable[[str], float]) -> CriticalPath:
    """The longest chain of resources this stack creates (deploy-time conditional ones counted)."""
    env = Env(doc, stack)
    resources = {lid: r for lid, r in doc.get("Resources", {}).items() if env.deployed(r) is not False}
    minutes = {lid: typical(str(r.get("Type", ""))) for lid, r in resources.items()}
    after = {lid: tuple(sorted(_needs(r) & set(resources))) for lid, r in resources.items()}
    return longest_path(minutes, after)


def _needs(resource: dict[str, Any]) -> set[str]:
    depends = resource.get("DependsOn", [])
    return references(resource.get("Properties", {})) | set([depends] if isinstance(depends, str) else depends)


def typical_minutes(resource_type: str) -> float:
    return TYPICAL_MINUTES.get(resource_type, DEFAULT_MINUTES)


@dataclass(frozen=True)
class DeployEstimate:
    """Each stack's minutes and longest resource chain, and the deploy's critical path of stacks."""

    stacks: dict[str, CriticalPath]  # stack name -> its resources' critical path (overhead not included)
    path: CriticalPath  # through the stack graph, overhead included


def deploy_estimate(bundle: RenderedBundle, typical: Callable[[str], float] = typical_minutes) -> DeployEstimate:
    """The expected duration of a first deploy of ``bundle`` (nothing exists yet)."""
    per_stack = {s.name: stack_path(bundle.templates.get(s.template, {}), s, typical) for s in bundle.stacks}
    depends = {s.name: s.depends_on for s in bundle.stacks}
    minutes = {name: path.minutes + STACK_OVERHEAD_MINUTES for name, path in per_stack.items()}
    return DeployEstimate(per_stack, longest_path(minutes, depends))
