"""The application bus's archive under the region's key: the names both sides need, and the key statements.

The foundation's key policy (security.py) grants EventBridge what AWS documents for an archive under a customer
managed key before the app layer creates the bus and its archive (events.py); both read the bus's name here.
"""

from __future__ import annotations

from awacs import kms
from awacs.aws import Allow, Condition, Principal, Statement, StringEquals
from troposphere import Sub

from drgen.builders.context import StackContext
from drgen.builders.iam import THIS_KEY
from drgen.scenario.model import Scenario

APPLICATION_BUS = "events"
# AWS's key policy for an archive encrypted with a customer managed key.
ARCHIVE_KEY_DOC = "https://docs.aws.amazon.com/eventbridge/latest/userguide/encryption-archives.html"
ARCHIVE_CONTEXT_KEY = "kms:EncryptionContext:aws:events:event-bus:arn"


def has_archive(scenario: Scenario) -> bool:
    """Whether the scenario archives events under the region's key (every application bus has an archive)."""
    return scenario.compute.event_bus


def application_bus_arn(ctx: StackContext) -> Sub:
    """This region's application bus ARN, from its name: the foundation's key policy names it before the app
    layer creates the bus."""
    return Sub(
        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/"
        + ctx.names.regional_text("generic", APPLICATION_BUS)
    )


def archive_key_statements(ctx: StackContext) -> list[Statement]:
    """The two statements AWS documents (ARCHIVE_KEY_DOC) for EventBridge archiving events under this key:
    DescribeKey, and the data-key calls held to this region's application bus by the encryption context
    EventBridge sends with every archive operation (the bus ARN). None when the scenario has no archive."""
    if not has_archive(ctx.scenario):
        return []
    principal = Principal("Service", ["events.amazonaws.com"])
    return [
        Statement(
            Sid="EventBridgeDescribesKeyForArchives",
            Effect=Allow,
            Principal=principal,
            Action=[kms.DescribeKey],
            Resource=THIS_KEY,
        ),
        Statement(
            Sid="EventBridgeEncryptsArchive",
            Effect=Allow,
            Principal=principal,
            Action=[kms.GenerateDataKey, kms.Decrypt, kms.Action("ReEncrypt*")],
            Resource=THIS_KEY,
            Condition=Condition(StringEquals(ARCHIVE_CONTEXT_KEY, application_bus_arn(ctx))),
        ),
    ]
