"""E9005: encrypted cross-region replicas name a KMS key in their own region instead of the default key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from drgen.lint.rules._template import WHEN, Problem, describe, may_be_true, property_path, resolved, unique_matches


class ReplicaDefaultKey(CloudFormationLintRule):
    """An encrypted DBCluster without KmsKeyId, or a GlobalTable replica without KMSMasterKeyId."""

    id = "E9005"
    shortdesc = "Encrypted replicas use a KMS key in their own region"
    description = (
        "KMS keys are regional and each region has its own default key. An encrypted AWS::RDS::DBCluster without "
        "KmsKeyId, or an AWS::DynamoDB::GlobalTable replica without SSESpecification.KMSMasterKeyId, relies on a "
        "default key: cross-region replicas need drgen's customer managed key of the region they live in."
    )
    source_url = "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html"
    tags: ClassVar[list[str]] = ["drgen", "dr", "resources", "kms"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        return unique_matches([*self._clusters(cfn), *self._table_replicas(cfn)])

    def _clusters(self, cfn: Template) -> Iterator[Problem]:
        for name, cluster in cfn.get_resources(["AWS::RDS::DBCluster"]).items():
            for scenario, properties in resolved(cfn, cluster):
                if may_be_true(properties.get("StorageEncrypted", False)) and "KmsKeyId" not in properties:
                    message = (
                        f"{name} is encrypted without a KmsKeyId{WHEN}: it would use the region's default aws/rds "
                        "key; set KmsKeyId to the KMS key of the cluster's own region"
                    )
                    yield property_path(name, cluster, "StorageEncrypted"), message, scenario

    def _table_replicas(self, cfn: Template) -> Iterator[Problem]:
        for name, table in cfn.get_resources(["AWS::DynamoDB::GlobalTable"]).items():
            for scenario, properties in resolved(cfn, table):
                for replica in _replicas(properties):
                    if not _has_replica_key(replica):
                        message = (
                            f"{name} replica in {describe(replica.get('Region'))} has no "
                            f"SSESpecification.KMSMasterKeyId{WHEN}: it would use a default key; give each replica "
                            "the KMS key of its own region (with the table's SSESpecification SSEType KMS)"
                        )
                        yield property_path(name, table, "Replicas"), message, scenario


def _replicas(properties: dict[str, Any]) -> list[dict[str, Any]]:
    replicas = properties.get("Replicas")
    return [r for r in replicas if isinstance(r, dict)] if isinstance(replicas, list) else []


def _has_replica_key(replica: dict[str, Any]) -> bool:
    sse = replica.get("SSESpecification")
    return isinstance(sse, dict) and sse.get("KMSMasterKeyId") not in (None, "")
