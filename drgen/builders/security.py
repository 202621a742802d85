"""Security: the region's KMS key, the generated DB master secret (replicated to the DR region).

Each region encrypts with its own key (KMS keys are regional; cross-region replicas need a key in their region).
The key policy lets the account administer the key through IAM and lets the AWS services that encrypt on our
behalf (CloudWatch Logs, SNS into encrypted SQS, CloudWatch alarms and EventBridge into encrypted SNS) use it,
each held to this account's and region's resources by the encryption context the service sends.
Aurora global databases cannot manage their master password in Secrets Manager, so the primary stack
generates its own secret and Secrets Manager replicates it, under the same name, into the DR region.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from awacs import kms as k
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement
from troposphere import GetAtt, Ref, Sub, kms, secretsmanager

from drgen.builders import inputs
from drgen.builders.context import IS_PRIMARY, StackContext
from drgen.builders.iam import (
    DESTROYABLE,
    POLICY_VERSION,
    THIS_KEY,
    account_administers_key,
    sns_principals,
)
from drgen.builders.inputs import FoundationInputs

KMS_KEY_ID = "KmsKeyId"
DATABASE_SECRET_ARN = "DatabaseSecretArn"
DATABASE_SECRET_NAME = "DatabaseSecretName"
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
    name = ctx.names.fixed("secret", "db-master")
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
    ctx.output(DATABASE_SECRET_ARN, Ref(secret), "ARN of the database master secret.", IS_PRIMARY)
    ctx.output(DATABASE_SECRET_NAME, name, "Name of the database master secret (the same in both regions).")
    return SecretHandles(secret=secret, arn=Ref(secret), name=name)


# -- key policy -----------------------------------------------------------------------------------------
def _key_policy(ctx: StackContext) -> PolicyDocument:
    return PolicyDocument(
        Version=POLICY_VERSION,
        Statement=[
            account_administers_key(),
            _logs_encrypt(),
            _service_publishes("SnsToEncryptedQueues", sns_principals(ctx), "sqs", "aws:sqs:arn"),
            _service_publishes(
                "AlarmsAndEventsToEncryptedTopics",
                ["cloudwatch.amazonaws.com", "events.amazonaws.com"],
                "sns",
                "aws:sns:topicArn",
            ),
        ],
    )


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


def _service_publishes(sid: str, principals: Any, service: str, context_key: str) -> Statement:
    """A service delivering into an encrypted ``service`` resource: GenerateDataKey* and Decrypt, only for
    this account's resources in this region (the resource ARN is the encryption context the target sends)."""
    return Statement(
        Sid=sid,
        Effect=Allow,
        Principal=Principal("Service", principals),
        Action=[k.Action("GenerateDataKey*"), k.Decrypt],
        Resource=THIS_KEY,
        Condition=Condition(
            ArnLike(
                f"kms:EncryptionContext:{context_key}",
                Sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:*"),
            )
        ),
    )
