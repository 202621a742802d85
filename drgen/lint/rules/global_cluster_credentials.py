"""E9001: an Aurora cluster that joins a global database must not carry its own master credentials."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from drgen.lint.rules._template import WHEN, Problem, may_be_true, property_path, resolved, unique_matches

CREDENTIALS = ("MasterUsername", "MasterUserPassword")


class GlobalClusterCredentials(CloudFormationLintRule):
    """A secondary cluster (one with GlobalClusterIdentifier) that sets master credentials, or a managed master
    password in a global database template."""

    id = "E9001"
    shortdesc = "Global database members do not set their own master credentials"
    description = (
        "An AWS::RDS::DBCluster with GlobalClusterIdentifier is a secondary member of an Aurora global database; "
        "RDS rejects MasterUsername/MasterUserPassword on it ('Cannot specify password for cross region "
        "replication cluster'). ManageMasterUserPassword is not supported for clusters in a global database."
    )
    source_url = "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-secrets-manager.html"
    tags: ClassVar[list[str]] = ["drgen", "dr", "resources", "rds"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        return unique_matches(self._problems(cfn))

    def _problems(self, cfn: Template) -> Iterator[Problem]:
        clusters = cfn.get_resources(["AWS::RDS::DBCluster"])
        global_template = bool(cfn.get_resources(["AWS::RDS::GlobalCluster"])) or any(
            _has_property(c, "GlobalClusterIdentifier") for c in clusters.values()
        )
        for name, cluster in clusters.items():
            for scenario, properties in resolved(cfn, cluster):
                secondary = properties.get("GlobalClusterIdentifier") not in (None, "")
                for key in CREDENTIALS:
                    if secondary and key in properties:
                        message = (
                            f"{name} joins a global cluster (GlobalClusterIdentifier) and sets {key}{WHEN}: "
                            "RDS rejects credentials on a cross-region replica cluster; set them on the primary only"
                        )
                        yield property_path(name, cluster, key), message, scenario
                if global_template and may_be_true(properties.get("ManageMasterUserPassword", False)):
                    message = (
                        f"{name} sets ManageMasterUserPassword{WHEN} in a global database template: Secrets "
                        "Manager-managed master passwords are not supported for global databases; use your own "
                        "replicated secret"
                    )
                    yield property_path(name, cluster, "ManageMasterUserPassword"), message, scenario


def _has_property(resource: dict[str, Any], key: str) -> bool:
    properties = resource.get("Properties")
    return isinstance(properties, dict) and key in properties
