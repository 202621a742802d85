"""E9002: S3 replication needs versioning on the source bucket and on every possible destination."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from drgen.lint.rules._template import WHEN, Problem, property_path, resolved, unique_matches


class ReplicatedBucketVersioning(CloudFormationLintRule):
    """A replicating bucket, or any bucket in a template that replicates buckets, without versioning Enabled."""

    id = "E9002"
    shortdesc = "Replicated buckets and replication destinations are versioned"
    description = (
        "An AWS::S3::Bucket with a ReplicationConfiguration must have VersioningConfiguration Status Enabled. "
        "In a template that replicates buckets, every bucket may be a destination (the same template runs in "
        "the other region), and replication destinations must be versioned too."
    )
    source_url = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-requirements.html"
    tags: ClassVar[list[str]] = ["drgen", "dr", "resources", "s3"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        return unique_matches(self._problems(cfn))

    def _problems(self, cfn: Template) -> Iterator[Problem]:
        buckets = cfn.get_resources(["AWS::S3::Bucket"])
        replicating = sorted(name for name, bucket in buckets.items() if _may_replicate(bucket))
        if not replicating:
            return
        for name, bucket in buckets.items():
            for scenario, properties in resolved(cfn, bucket):
                status = _versioning_status(properties)
                if status == "Enabled":
                    continue
                if "ReplicationConfiguration" in properties:
                    message = (
                        f"{name} has a ReplicationConfiguration{WHEN} but its versioning is {status}, not Enabled: "
                        "S3 only replicates from versioned buckets"
                    )
                else:
                    message = (
                        f"{name} versioning is {status}{WHEN}, but this template replicates buckets "
                        f"({', '.join(replicating)}): {name} may be a replication destination, and destinations "
                        "must be versioned"
                    )
                yield property_path(name, bucket, "VersioningConfiguration"), message, scenario


def _may_replicate(bucket: dict[str, Any]) -> bool:
    properties = bucket.get("Properties")
    return isinstance(properties, dict) and "ReplicationConfiguration" in properties


def _versioning_status(properties: dict[str, Any]) -> str:
    versioning = properties.get("VersioningConfiguration")
    if not isinstance(versioning, dict) or "Status" not in versioning:
        return "not configured"
    status = versioning["Status"]
    return status if isinstance(status, str) else "not a literal"
