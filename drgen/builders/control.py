"""The failover control table (DR region): the run lock, where traffic goes, whether the triggers are armed.

A small on-demand DynamoDB table in the orchestration stack of the DR region, read and written by the failover
steps, the engaged signal and the readiness test (``lambda/drgen_common/control.py`` holds the items and why
each exists). DynamoDB because the lock must be a conditional write and every read strongly consistent.
"""

from __future__ import annotations

from awacs import dynamodb as actions
from awacs.aws import Allow, Statement
from troposphere import If, Ref, Sub, dynamodb

from drgen.builders.context import IS_SECONDARY, StackContext
from drgen.builders.iam import DESTROYABLE
from drgen.bundle.names import CONTROL_TABLE
from drgen.lambda_code import contract
from drgen.scan.skips import Skip, skip_metadata

READ = [actions.GetItem]
WRITE = [actions.GetItem, actions.PutItem, actions.DeleteItem]
AWS_OWNED_KEY = Skip(
    "CKV_AWS_119",
    "Encrypted with the AWS owned key: the table holds a lock, a traffic direction and an arming time, no "
    "customer data, and the failover path must not depend on a customer key's policy to read them.",
)


def table_name(ctx: StackContext) -> str:
    """The table's name (one per scenario and suffix; it exists in the DR region only)."""
    return ctx.names.fixed("table", CONTROL_TABLE)


def table(ctx: StackContext) -> dynamodb.Table:
    """The control table, DR region only, destroyed with the stack."""
    return ctx.add(
        dynamodb.Table(
            "FailoverControlTable",
            Condition=IS_SECONDARY,
            TableName=table_name(ctx),
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[dynamodb.AttributeDefinition(AttributeName=contract.CONTROL_KEY, AttributeType="S")],
            KeySchema=[dynamodb.KeySchema(AttributeName=contract.CONTROL_KEY, KeyType="HASH")],
            PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(PointInTimeRecoveryEnabled=True),
            Metadata=skip_metadata(AWS_OWNED_KEY),
            **DESTROYABLE,
        )
    )


def env_value(table_: dynamodb.Table) -> If:
    """CONTROL_TABLE for a function of either region: the table in the DR region, empty in the primary's."""
    return If(IS_SECONDARY, Ref(table_), "")


def grant(ctx: StackContext, actions_: list[actions.Action]) -> Statement:
    """``actions_`` on the control table of this region (the primary region has none: nothing to reach there)."""
    arn = Sub(f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{table_name(ctx)}")
    return Statement(Effect=Allow, Action=list(actions_), Resource=[arn])
