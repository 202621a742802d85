"""IAM and policy pieces more than one builder needs: trust documents, the key-admin statement, SNS principals."""

from __future__ import annotations

from typing import Any

from awacs import kms
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement
from awacs.sts import AssumeRole
from troposphere import If, Sub

from drgen.builders.context import IS_PRIMARY, StackContext
from drgen.regions import is_opt_in
from drgen.scenario.model import Role

POLICY_VERSION = "2012-10-17"
# Stateful resources say so explicitly: DBCluster's default would be Snapshot, and drgen stacks are destroyable.
DESTROYABLE = {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}
# In a key policy "*" as Resource means "this key": a key policy cannot name anything else.
THIS_KEY = ["*"]


def service_trust(*services: str) -> PolicyDocument:
    """A trust policy letting the given AWS services assume the role."""
    return PolicyDocument(
        Version=POLICY_VERSION,
        Statement=[Statement(Effect=Allow, Principal=Principal("Service", list(services)), Action=[AssumeRole])],
    )


def account_administers_key() -> Statement:
    """The AWS default key policy statement: the account root gets kms:* so the key stays manageable and IAM
    policies can grant its use (without it a key can become unmanageable and undeletable). It is not a grant
    to everyone: only principals whose IAM policies allow it can use the key."""
    return Statement(
        Sid="AccountAdministersThroughIam",
        Effect=Allow,
        Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
        Action=[kms.Action("*")],
        Resource=THIS_KEY,
    )


def sns_principals(ctx: StackContext, role: Role | None = None) -> list[Any]:
    """``sns.amazonaws.com``, plus ``sns.<region>.amazonaws.com`` for an opt-in region of the pair: SNS delivers
    from (and within) an opt-in region under that regional principal. Without literals: for a resource that
    exists in one ``role`` only, plain Subs; otherwise chosen per role with Fn::If."""
    principals: list[Any] = ["sns.amazonaws.com"]
    own, peer = Sub("sns.${AWS::Region}.amazonaws.com"), Sub("sns.${PeerRegion}.amazonaws.com")
    for region_role in (Role.PRIMARY, Role.SECONDARY):
        if not is_opt_in(ctx.scenario.region(region_role)):
            continue
        if role is not None:
            principals.append(own if region_role is role else peer)
        elif region_role is Role.PRIMARY:
            principals.append(If(IS_PRIMARY, own, peer))
        else:
            principals.append(If(IS_PRIMARY, peer, own))
    return principals


def service_publishes(sid: str, principals: Any, service: str, context_key: str) -> Statement:
    """A service delivering into an encrypted ``service`` resource: GenerateDataKey* and Decrypt, only for
    this account's resources in this region (the resource ARN is the encryption context the target sends)."""
    return Statement(
        Sid=sid,
        Effect=Allow,
        Principal=Principal("Service", principals),
        Action=[kms.Action("GenerateDataKey*"), kms.Decrypt],
        Resource=THIS_KEY,
        Condition=Condition(
            ArnLike(
                f"kms:EncryptionContext:{context_key}",
                Sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:*"),
            )
        ),
    )
