"""W9004: a stateful resource that is retained outlives its stack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from drgen.bundle.catalogue import STATEFUL_TYPES
from drgen.lint.rules._template import CfnPath, describe

POLICIES = ("DeletionPolicy", "UpdateReplacePolicy")
RETAINING = ("Retain", "RetainExceptOnCreate")


class StatefulRetainPolicy(CloudFormationLintRule):
    """DeletionPolicy or UpdateReplacePolicy Retain on a stateful resource."""

    id = "W9004"
    shortdesc = "Stateful resources are not retained"
    description = (
        "drgen stacks must be destroyable: a Retain DeletionPolicy (or UpdateReplacePolicy) leaves the database, "
        "table, bucket or key behind, where it keeps costing money and blocks re-creating a same-named resource."
    )
    source_url = (
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html"
    )
    tags: ClassVar[list[str]] = ["drgen", "dr", "resources", "deletionpolicy"]

    def match(self, cfn: Template) -> list[RuleMatch]:
        return [RuleMatch(path, message) for path, message in self._problems(cfn)]

    def _problems(self, cfn: Template) -> Iterator[tuple[CfnPath, str]]:
        for name, resource in cfn.get_resources(sorted(STATEFUL_TYPES)).items():
            for policy in POLICIES:
                if policy in resource and any(v in RETAINING for v in _possible_values(resource[policy])):
                    yield (
                        ["Resources", name, policy],
                        (
                            f"{name} ({resource['Type']}) has {policy} {describe(resource[policy])}: it would outlive "
                            "the stack; use Delete"
                        ),
                    )


def _possible_values(value: Any) -> list[Any]:
    """A policy may be a literal or an Fn::If between literals: every value it can take."""
    branches = value.get("Fn::If") if isinstance(value, dict) else None
    if isinstance(branches, list) and len(branches) == 3:
        return _possible_values(branches[1]) + _possible_values(branches[2])
    return [value]
