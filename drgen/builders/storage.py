"""Storage: the scenario's buckets, versioned and encrypted, replicated primary -> DR.

Both regions create every bucket (the DR region's foundation deploys first, so replication targets exist);
only the primary's buckets carry a replication configuration, to the same bucket name in PeerRegion,
re-encrypted there with the DR region's key and bounded by S3 Replication Time Control.
"""

from __future__ import annotations

from typing import Any

from awacs import kms, s3
from awacs.aws import Allow, Bool, Condition, Deny, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, If, Ref, Sub, iam
from troposphere import s3 as s3_

from drgen.builders import inputs
from drgen.builders.context import IS_PRIMARY, StackContext
from drgen.builders.iam import (
    DESTROYABLE,
    POLICY_VERSION,
    service_trust,
)
from drgen.builders.inputs import peer_kms_key_arn
from drgen.builders.security import KeyHandles
from drgen.bundle.names import camel
from drgen.scan.skips import Skip, skip_metadata
from drgen.scenario.model import Bucket

ABORT_MULTIPART_DAYS = 7
REPLICATION_MINUTES = 15  # the only value S3 Replication Time Control accepts
ENABLED = "Enabled"
NO_ACCESS_LOGS = Skip(
    "CKV_AWS_18",
    "No S3 server access logs: they need a separate log bucket per region, and S3 delivers logs late (best "
    "effort, up to hours), so that bucket refills while destroy empties it and the stack cannot be deleted "
    "reliably. Request auditing of these buckets belongs to the account's CloudTrail data events.",
)


def buckets(ctx: StackContext, key: KeyHandles) -> None:
    """Every scenario bucket in this region; replication role and rules in the primary only."""
    replicated = [b for b in ctx.scenario.buckets if b.replicate]
    role = peer_key = None
    if replicated:
        peer_key = peer_kms_key_arn(ctx)
        role = replication_role(ctx, "S3ReplicationRole", IS_PRIMARY, "s3-replication", key.arn, peer_key, replicated)
    for bucket in ctx.scenario.buckets:
        replication = _replication(ctx, bucket, role, peer_key) if bucket.replicate else None
        resource = ctx.add(_bucket(ctx, bucket, key, replication))
        _deny_insecure_transport(ctx, bucket, resource)
        ctx.output(inputs.bucket_output(bucket.purpose), Ref(resource), f"The {bucket.purpose} bucket in this region.")
        ctx.output(f"{camel(bucket.purpose)}BucketArn", GetAtt(resource, "Arn"), f"ARN of the {bucket.purpose} bucket.")


def _arn(name: str, objects: bool = False) -> Sub:
    """An S3 ARN from a bucket name pattern (not GetAtt: the role and the buckets would depend on each other)."""
    return Sub(f"arn:${{AWS::Partition}}:s3:::{name}{'/*' if objects else ''}")


def _bucket(ctx: StackContext, bucket: Bucket, key: KeyHandles, replication: If | None) -> s3_.Bucket:
    """One bucket: versioned, SSE-KMS with this region's key, private, owner-enforced, with its lifecycle."""
    props = {"ReplicationConfiguration": replication} if replication is not None else {}
    return s3_.Bucket(
        f"{camel(bucket.purpose)}Bucket",
        BucketName=ctx.names.regional("bucket", bucket.purpose),
        VersioningConfiguration=s3_.VersioningConfiguration(Status=ENABLED),
        BucketEncryption=s3_.BucketEncryption(
            ServerSideEncryptionConfiguration=[
                s3_.ServerSideEncryptionRule(
                    ServerSideEncryptionByDefault=s3_.ServerSideEncryptionByDefault(
                        SSEAlgorithm="aws:kms", KMSMasterKeyID=key.arn
                    ),
                    BucketKeyEnabled=True,
                )
            ]
        ),
        PublicAccessBlockConfiguration=s3_.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
        ),
        OwnershipControls=s3_.OwnershipControls(
            Rules=[s3_.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
        ),
        LifecycleConfiguration=s3_.LifecycleConfiguration(Rules=[_lifecycle_rule(bucket)]),
        Metadata=skip_metadata(NO_ACCESS_LOGS),
        **DESTROYABLE,  # destroy empties the bucket (all versions) first
        **props,
    )


def _lifecycle_rule(bucket: Bucket) -> s3_.LifecycleRule:
    """The bucket's retention: current-version expiry, noncurrent expiry, IA transition, upload cleanup."""
    props: dict = {
        "Id": "retention",
        "Status": ENABLED,
        "NoncurrentVersionExpiration": s3_.NoncurrentVersionExpiration(NoncurrentDays=bucket.noncurrent_days),
        "AbortIncompleteMultipartUpload": s3_.AbortIncompleteMultipartUpload(DaysAfterInitiation=ABORT_MULTIPART_DAYS),
    }
    if bucket.expire_days is not None:
        props["ExpirationInDays"] = bucket.expire_days
    else:
        # S3 rejects ExpiredObjectDeleteMarker next to an expiration in days.
        props["ExpiredObjectDeleteMarker"] = True
    if bucket.transition_ia_days is not None:
        props["Transitions"] = [
            s3_.LifecycleRuleTransition(StorageClass="STANDARD_IA", TransitionInDays=bucket.transition_ia_days)
        ]
    return s3_.LifecycleRule(**props)


def _replication(ctx: StackContext, bucket: Bucket, role: iam.Role, peer_key: Ref) -> If:
    """Primary only: replicate everything (SSE-KMS objects and delete markers too) to the DR bucket."""
    rule = s3_.ReplicationConfigurationRules(
        Id="to-dr-region",
        Status=ENABLED,
        Priority=1,
        Filter=s3_.ReplicationRuleFilter(Prefix=""),
        DeleteMarkerReplication=s3_.DeleteMarkerReplication(Status=ENABLED),
        SourceSelectionCriteria=s3_.SourceSelectionCriteria(
            SseKmsEncryptedObjects=s3_.SseKmsEncryptedObjects(Status=ENABLED)
        ),
        Destination=s3_.ReplicationConfigurationRulesDestination(
            Bucket=_arn(ctx.names.peer_text("bucket", bucket.purpose)),
            EncryptionConfiguration=s3_.EncryptionConfiguration(ReplicaKmsKeyID=peer_key),
            ReplicationTime=s3_.ReplicationTime(
                Status=ENABLED, Time=s3_.ReplicationTimeValue(Minutes=REPLICATION_MINUTES)
            ),
            Metrics=s3_.Metrics(Status=ENABLED, EventThreshold=s3_.ReplicationTimeValue(Minutes=REPLICATION_MINUTES)),
        ),
    )
    configuration = s3_.ReplicationConfiguration(Role=GetAtt(role, "Arn"), Rules=[rule])
    return If(IS_PRIMARY, configuration, Ref("AWS::NoValue"))


def replication_role(
    ctx: StackContext,
    logical: str,
    condition: str,
    name: str,
    key: Any,
    peer_key: Any,
    replicated: list[Bucket],
    metadata: dict[str, Any] | None = None,
) -> iam.Role:
    """The role S3 assumes to replicate this region's buckets to the peer's (under ``condition``): read this
    region's versions, write replicas there, decrypt with ``key`` and re-encrypt with ``peer_key``. The primary's
    foundation uses it towards the DR region; the DR region's failover, back (failover_access.py)."""
    sources = [ctx.names.regional_text("bucket", b.purpose) for b in replicated]
    targets = [ctx.names.peer_text("bucket", b.purpose) for b in replicated]
    statements = [
        Statement(
            Effect=Allow,
            Action=[s3.GetReplicationConfiguration, s3.ListBucket],
            Resource=[_arn(name) for name in sources],
        ),
        Statement(
            Effect=Allow,
            Action=[s3.GetObjectVersionForReplication, s3.GetObjectVersionAcl, s3.GetObjectVersionTagging],
            Resource=[_arn(name, objects=True) for name in sources],
        ),
        Statement(
            Effect=Allow,
            Action=[s3.ReplicateObject, s3.ReplicateDelete, s3.ReplicateTags],
            Resource=[_arn(name, objects=True) for name in targets],
        ),
        _kms_via_s3([kms.Decrypt], key, "${AWS::Region}"),
        # Decrypt too: the buckets use S3 Bucket Keys, and "to use replication with an S3 Bucket Key, the AWS KMS
        # key policy for the KMS key that's used to encrypt the object replica must include the kms:Decrypt
        # permission for the calling principal" (the key policy delegates to IAM, so this grant is that).
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html
        _kms_via_s3([kms.Encrypt, kms.Decrypt], peer_key, "${PeerRegion}"),
    ]
    return ctx.add(
        iam.Role(
            logical,
            Condition=condition,
            RoleName=ctx.names.regional("iam", name),
            **({"Metadata": metadata} if metadata else {}),
            AssumeRolePolicyDocument=service_trust("s3.amazonaws.com"),
            Policies=[
                iam.Policy(
                    PolicyName="s3-replication",
                    PolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=statements),
                )
            ],
        )
    )


def _kms_via_s3(actions: list[kms.Action], key_arn: Ref, region: str) -> Statement:
    """Use of a key, only through S3 in the key's region."""
    return Statement(
        Effect=Allow,
        Action=actions,
        Resource=[key_arn],
        Condition=Condition(StringEquals({"kms:ViaService": Sub(f"s3.{region}.amazonaws.com")})),
    )


def _deny_insecure_transport(ctx: StackContext, bucket: Bucket, resource: s3_.Bucket) -> None:
    """Refuse every request to the bucket and its objects that does not use TLS."""
    ctx.add(
        s3_.BucketPolicy(
            f"{camel(bucket.purpose)}BucketPolicy",
            Bucket=Ref(resource),
            PolicyDocument=PolicyDocument(
                Version=POLICY_VERSION,
                Statement=[
                    Statement(
                        Sid="DenyInsecureTransport",
                        Effect=Deny,
                        Principal=Principal("*"),
                        # A deny on every S3 action is the point: no operation may run without TLS.
                        Action=[s3.Action("*")],
                        Resource=[GetAtt(resource, "Arn"), Sub("${Arn}/*", Arn=GetAtt(resource, "Arn"))],
                        Condition=Condition(Bool({"aws:SecureTransport": "false"})),
                    )
                ],
            ),
        )
    )
