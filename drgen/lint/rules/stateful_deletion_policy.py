"""E9003: every stateful resource states its DeletionPolicy, so drgen stacks destroy cleanly."""

from __future__ import annotations

from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from drgen.bundle.catalogue import STATEFUL_TYPES


class StatefulDeletionPolicy(CloudFormationLintRule):
    """A stateful resource (database, table, bucket, key) without an explicit DeletionPolicy."""

    id = "E9003"
    shortdesc = "Stateful resources have an explicit DeletionPolicy"
    description = (
        "drgen stacks must be destroyable. RDS clusters (and instances outside a cluster) default to "
        "DeletionPolicy Snapshot, which leaves snapshots behind; every database, table, global cluster, bucket "
        "and KMS key must state its DeletionPolicy (Delete) explicitly."
    )
    source_url = (
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html"
    )
    tags: ClassVar[list[str]] = ["drgen", "dr", "resources", "deletionpolicy"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        return [
            RuleMatch(
                ["Resources", name],
                f"{name} ({resource['Type']}) has no DeletionPolicy; the default is {_default_policy(resource)}. "
                "Set DeletionPolicy (and UpdateReplacePolicy) to Delete so the stack can be destroyed",
            )
            for name, resource in cfn.get_resources(sorted(STATEFUL_TYPES)).items()
            if "DeletionPolicy" not in resource
        ]


def _default_policy(resource: dict[str, Any]) -> str:
    """CloudFormation's default: Snapshot for clusters and stand-alone instances, Delete otherwise."""
    properties = resource.get("Properties")
    in_cluster = isinstance(properties, dict) and "DBClusterIdentifier" in properties
    if resource["Type"] == "AWS::RDS::DBCluster" or (resource["Type"] == "AWS::RDS::DBInstance" and not in_cluster):
        return "Snapshot, which leaves a snapshot behind"
    return "Delete, but drgen wants it stated"
