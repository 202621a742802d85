"""Security: the region's KMS key, the generated DB master secret (replicated to the DR region).

Each region encrypts with its own key (KMS keys are regional; cross-region replicas need a key in their region).
The key policy lets the account administer the key through IAM and lets the AWS services that encrypt on our
behalf (CloudWatch Logs, SNS into encrypted SQS, CloudWatch alarms and EventBridge into encrypted SNS, EventBridge
archives) use it, each held to this account's and region's resources by the encryption context the service sends.
Aurora global databases cannot manage their master password in Secrets Manager, so the primary stack
generates its own secret and Secrets Manager replicates it, under the same name, into the DR region.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from awacs import kms as k
from awacs.aws import Allow, ArnLike, Bool, Condition, PolicyDocument, Principal, Statement
from troposphere import GetAtt, Ref, Sub, kms, secretsmanager

from drgen.builders import inputs
from drgen.builders.context import IS_PRIMARY, StackContext
from drgen.builders.event_archive import archive_key_statements
from drgen.builders.iam import (
    DESTROYABLE,
    POLICY_VERSION,
    THIS_KEY,
    account_administers_key,
    service_publishes,
    sns_principals,
)
from drgen.builders.inputs import FoundationInputs
from drgen.bundle.names import DB_SECRET
from drgen.scenario.model import ComputeKind

KMS_KEY_ID = "KmsKeyId"
AUTO_SCALING_ROLE = "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
# Characters Aurora PostgreSQL rejects in a master password: / @ " and space (and \ to keep JSON simple).
PASSWORD_EXCLUDED = '"@/\\ '
PASSWORD_LENGTH = 32
KEY_DELETION_WINDOW_DAYS = 7  # the minimum: a destroyed environment's key goes away soonest


@dataclass(frozen=True)
class KeyHandles:
    key: Any
    arn: Any


@dataclass(frozen=True)
class SecretHandles:
    secret: Any  # the AWS::SecretsManager::Secret (Condition IsPrimary)
    arn: Any
    name: str  # the same in both regions (the DR copy is a Secrets Manager replica)


def kms_key(ctx: StackContext) -> KeyHandles:
    """The region's symmetric key, rotated yearly, with an alias; deleted with the stack after 7 days."""
    key = ctx.add(
        kms.Key(
            "KmsKey",
            Description=f"drgen {ctx.scenario.name} ({ctx.names.suffix}): encrypts this region's DR data",
            EnableKeyRotation=True,
            PendingWindowInDays=KEY_DELETION_WINDOW_DAYS,
            KeyPolicy=_key_policy(ctx),
            **DESTROYABLE,
        )
    )
    ctx.add(
        kms.Alias(
            "KmsKeyAlias",
            AliasName=Sub("alias/" + ctx.names.regional_text("generic", "key")),
            TargetKeyId=Ref(key),
        )
    )
    arn = GetAtt(key, "Arn")
    ctx.output(inputs.KMS_KEY_ARN, arn, "ARN of this region's KMS key.")
    ctx.output(KMS_KEY_ID, Ref(key), "ID of this region's KMS key.")
    return KeyHandles(key=key, arn=arn)


def db_secret(ctx: StackContext, foundation: FoundationInputs) -> SecretHandles:
    """The Aurora master credentials, generated in the primary and replicated to the DR region."""
    name = ctx.names.fixed("secret", DB_SECRET)
    secret = ctx.add(
        secretsmanager.Secret(
            "DatabaseSecret",
            Condition=IS_PRIMARY,
            Name=name,
            Description="Aurora global database master credentials (replicated to the DR region).",
            KmsKeyId=foundation.kms_key_arn,
            GenerateSecretString=secretsmanager.GenerateSecretString(
                SecretStringTemplate=json.dumps({"username": ctx.scenario.database.master_username}),
                GenerateStringKey="password",
                PasswordLength=PASSWORD_LENGTH,
                ExcludeCharacters=PASSWORD_EXCLUDED,
            ),
            ReplicaRegions=[
                secretsmanager.ReplicaRegion(Region=Ref("PeerRegion"), KmsKeyId=foundation.peer_kms_key_arn)
            ],
            **DESTROYABLE,
        )
    )
    ctx.output(inputs.DATABASE_SECRET_ARN, Ref(secret), "ARN of the database master secret.", IS_PRIMARY)
    ctx.output(inputs.DATABASE_SECRET_NAME, name, "Name of the database master secret (the same in both regions).")
    return SecretHandles(secret=secret, arn=Ref(secret), name=name)


# -- key policy -----------------------------------------------------------------------------------------
def _key_policy(ctx: StackContext) -> PolicyDocument:
    # Application buses park undeliverable events in an encrypted dead-letter queue (events.py).
    dead_letters = (
        [service_publishes("EventsToEncryptedQueues", ["events.amazonaws.com"], "sqs", "aws:sqs:arn")]
        if ctx.scenario.compute.event_bus
        else []
    )
    # Instances' volumes under this key: EC2 Auto Scaling's service-linked role launches them.
    volumes = _auto_scaling_volumes() if ctx.scenario.compute.kind is ComputeKind.ASG else []
    # The application bus archives the other region's events under this key.
    archives = archive_key_statements(ctx)  # what AWS documents (event_archive.ARCHIVE_KEY_DOC)
    return PolicyDocument(
        Version=POLICY_VERSION,
        Statement=[
            account_administers_key(),
            _logs_encrypt(),
            service_publishes("SnsToEncryptedQueues", sns_principals(ctx), "sqs", "aws:sqs:arn"),
            service_publishes(
                "AlarmsAndEventsToEncryptedTopics",
                ["cloudwatch.amazonaws.com", "events.amazonaws.com"],
                "sns",
                "aws:sns:topicArn",
            ),
            *dead_letters,
            *volumes,
            *archives,
        ],
    )


def _auto_scaling_volumes() -> list[Statement]:
    """What AWS documents for EC2 Auto Scaling launching instances with volumes under a customer managed key:
    the service-linked role uses the key, and may grant it to EC2 for the volumes it attaches. The role must
    exist before this policy does: ``drgen deploy`` creates it (drgen/deploy/service_roles.py)."""
    principal = Principal("AWS", Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{AUTO_SCALING_ROLE}"))
    return [
        Statement(
            Sid="AutoScalingUsesKeyForVolumes",
            Effect=Allow,
            Principal=principal,
            Action=[k.Encrypt, k.Decrypt, k.Action("ReEncrypt*"), k.Action("GenerateDataKey*"), k.DescribeKey],
            Resource=THIS_KEY,
        ),
        Statement(
            Sid="AutoScalingGrantsKeyToVolumes",
            Effect=Allow,
            Principal=principal,
            Action=[k.CreateGrant],
            Resource=THIS_KEY,
            Condition=Condition(Bool("kms:GrantIsForAWSResource", True)),
        ),
    ]


def _logs_encrypt() -> Statement:
    """CloudWatch Logs encrypts this account's log groups in this region (AWS-documented statement)."""
    return Statement(
        Sid="CloudWatchLogsEncryptLogGroups",
        Effect=Allow,
        Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
        Action=[k.Encrypt, k.Decrypt, k.Action("ReEncrypt*"), k.Action("GenerateDataKey*"), k.DescribeKey],
        Resource=THIS_KEY,
        Condition=Condition(
            ArnLike(
                "kms:EncryptionContext:aws:logs:arn",
                Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"),
            )
        ),
    )
