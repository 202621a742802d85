"""Every explicit AWS name drgen emits, computed in one place and checked against the AWS rules.

Names follow the seeds' convention ``<prefix>-<resource>-<suffix>``; regional names also carry the region
(``${AWS::Region}``) because one template serves both regions and S3 bucket and IAM names are global. Names
that must be unique across all of AWS (S3 buckets: one namespace per partition) also carry the account id, so
another account deploying the same scenario and suffix (or squatting on the name) cannot take them.
A name that would break a limit raises ScenarioError naming the resource, its length and the remedy,
so a bad suffix fails before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drgen.errors import ScenarioError
from drgen.scenario.model import Scenario

if TYPE_CHECKING:  # troposphere only where a template is built: deploy and operate name things without it
    from troposphere import Sub


@dataclass(frozen=True)
class NameRule:
    max_len: int
    pattern: re.Pattern[str]
    what: str
    reserved_starts: tuple[str, ...] = ()  # a name may not start with these (the prefix decides)
    reserved_ends: tuple[str, ...] = ()  # nor end with these (the suffix decides)


# "Bucket names must not start with the prefix xn--", "sthree-", "amzn-s3-demo-"; "must not end with the suffix
# -s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
# bucketnamingrules.html). "sthree-configurator" starts with "sthree-".
BUCKET_RESERVED_STARTS = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_ENDS = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


RULES: dict[str, NameRule] = {
    "bucket": NameRule(
        63,
        re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"),
        "S3 bucket name",
        BUCKET_RESERVED_STARTS,
        BUCKET_RESERVED_ENDS,
    ),
    "rds": NameRule(63, re.compile(r"^[a-z](?!.*--)[a-z0-9-]*[a-z0-9]$"), "RDS identifier"),
    "iam": NameRule(64, re.compile(r"^[\w+=,.@-]+$"), "IAM role name"),
    "lb": NameRule(32, re.compile(r"^[a-zA-Z0-9](?!.*--)[a-zA-Z0-9-]*[a-zA-Z0-9]$"), "load balancer name"),
    "lambda": NameRule(64, re.compile(r"^[a-zA-Z0-9_-]+$"), "Lambda function name"),
    "sqs": NameRule(80, re.compile(r"^[a-zA-Z0-9_-]+$"), "SQS queue name"),
    "sns": NameRule(256, re.compile(r"^[a-zA-Z0-9_-]+$"), "SNS topic name"),
    "table": NameRule(255, re.compile(r"^[a-zA-Z0-9_.-]+$"), "DynamoDB table name"),
    "secret": NameRule(512, re.compile(r"^[a-zA-Z0-9/_+=.@-]+$"), "secret name"),
    "alarm": NameRule(255, re.compile(r"^[^\x00-\x1f]+$"), "alarm name"),
    "dashboard": NameRule(255, re.compile(r"^[a-zA-Z0-9_-]+$"), "dashboard name"),
    "generic": NameRule(255, re.compile(r"^[a-zA-Z0-9/_.:+=@-]+$"), "name"),
    "statemachine": NameRule(80, re.compile(r"^[a-zA-Z0-9_-]+$"), "state machine name"),
    "log": NameRule(512, re.compile(r"^[a-zA-Z0-9/_.#-]+$"), "log group name"),
    # AWS Backup vault names (the CloudFormation schema's pattern); plan names fit the same rule.
    "backup": NameRule(50, re.compile(r"^[a-zA-Z0-9_-]{2,50}$"), "AWS Backup vault or plan name"),
}

PLACEHOLDER_ACCOUNT = "123456789012"  # every account id has 12 digits, so the length check is exact
# Kinds whose names are unique across every AWS account (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
# bucketnamingrules.html: "Bucket names must be unique across all AWS accounts in all the AWS Regions within a
# partition").
GLOBALLY_UNIQUE = frozenset({"bucket"})


class Names:
    """Names for one scenario. ``regional`` names embed the stack's region, ``peer`` the other region's."""

    def __init__(self, scenario: Scenario) -> None:
        if scenario.suffix is None:
            raise ValueError("resolve the suffix before naming")  # programming error, not user input
        self.scenario = scenario
        self.prefix = scenario.prefix
        self.suffix = scenario.suffix

    # -- plain strings (global resources, and values for a known region) --------------------------
    def fixed(self, kind: str, resource: str) -> str:
        """A name without a region: for global resources (global cluster, hosted zone objects, dashboards)."""
        return self._check(kind, f"{self.prefix}-{resource}-{self.suffix}")

    def for_region(self, kind: str, resource: str, region: str, account: str | None = None) -> str:
        """The literal regional name as seen in ``region`` (for manifests, the CLI and the global stack); a
        globally unique kind needs the ``account``."""
        pattern = self._pattern(kind, resource, region)
        if kind in GLOBALLY_UNIQUE:
            if account is None:
                raise ValueError(f"a {kind} name carries the account id; pass account")  # programming error
            pattern = pattern.replace("${AWS::AccountId}", account)
        return self._check(kind, pattern)

    # -- template expressions ------------------------------------------------------------------------
    def regional(self, kind: str, resource: str) -> Sub:
        from troposphere import Sub

        return Sub(self.regional_text(kind, resource))

    def peer(self, kind: str, resource: str) -> Sub:
        """The same resource's name in the other region; templates get the other region as PeerRegion."""
        from troposphere import Sub

        return Sub(self.peer_text(kind, resource))

    def regional_text(self, kind: str, resource: str) -> str:
        """The ``${AWS::Region}`` pattern as text, for use inside a larger Sub (ARNs)."""
        return self._check(kind, self._pattern(kind, resource, "${AWS::Region}"))

    def peer_text(self, kind: str, resource: str) -> str:
        return self._check(kind, self._pattern(kind, resource, "${PeerRegion}"))

    def _pattern(self, kind: str, resource: str, region: str) -> str:
        account = "${AWS::AccountId}-" if kind in GLOBALLY_UNIQUE else ""
        return f"{self.prefix}-{resource}-{account}{region}-{self.suffix}"

    # -- checks ---------------------------------------------------------------------------------------
    def _check(self, kind: str, pattern: str) -> str:
        rule = RULES[kind]
        for region in (self.scenario.regions.primary, self.scenario.regions.secondary):
            name = (
                pattern.replace("${AWS::Region}", region)
                .replace("${PeerRegion}", region)
                .replace("${AWS::AccountId}", PLACEHOLDER_ACCOUNT)
            )
            if len(name) > rule.max_len:
                room = rule.max_len - (len(name) - len(self.suffix))
                raise ScenarioError(
                    f"suffix '{self.suffix}' makes the {rule.what} '{name}' {len(name)} characters long "
                    f"(AWS allows {rule.max_len}); use a suffix of at most {max(room, 0)} characters"
                )
            if not rule.pattern.match(name):
                raise ScenarioError(
                    f"the {rule.what} '{name}' is not valid for AWS; change the prefix or suffix "
                    "(lowercase letters, digits and single hyphens are always safe)"
                )
            _check_reserved(rule, name)
        return pattern


def _check_reserved(rule: NameRule, name: str) -> None:
    """Refuse a name that starts or ends with text AWS reserves for its own names."""
    for start in rule.reserved_starts:
        if name.startswith(start):
            raise ScenarioError(
                f"the {rule.what} '{name}' starts with '{start}', which AWS reserves; change the prefix"
            )
    for end in rule.reserved_ends:
        if name.endswith(end):
            raise ScenarioError(f"the {rule.what} '{name}' ends with '{end}', which AWS reserves; change the suffix")
