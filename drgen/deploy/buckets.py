"""S3 bucket chores: a private bucket for artifacts, and emptying a versioned bucket before its stack goes.

CloudFormation cannot delete a bucket that still holds objects, and in a versioned bucket that means every
version and every delete marker. Replication is removed first so nothing arrives while it is emptied.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from drgen.deploy.session import error_code
from drgen.errors import DrgenError

DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
MISSING_BUCKET = ("404", "NoSuchBucket", "NotFound")


def ensure_private_bucket(s3: Any, name: str, region: str, tls_only: bool = True) -> None:
    """Create ``name`` if needed, then (re)apply versioning, default encryption, TLS only and no public access.

    ``tls_only`` is off only for a plain-HTTP endpoint (a local sandbox), where that policy would deny every call.
    """
    try:
        s3.head_bucket(Bucket=name)
    except ClientError as exc:
        if error_code(exc) not in MISSING_BUCKET:
            raise
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=name, **location)
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]
        },
    )
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if tls_only:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(_tls_only(name)))


def _tls_only(name: str) -> dict[str, Any]:
    arns = [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": arns,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def exists(s3: Any, name: str) -> bool:
    try:
        s3.head_bucket(Bucket=name)
    except ClientError as exc:
        if error_code(exc) in MISSING_BUCKET:
            return False
        raise
    return True


def count_versions(s3: Any, name: str) -> tuple[int, int]:
    """(objects, versions + delete markers) in ``name``: what emptying it destroys."""
    objects = versions = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        versions += len(entries)
        objects += sum(1 for v in page.get("Versions", []) if v.get("IsLatest"))
    return objects, versions


def remove_replication(s3: Any, name: str) -> bool:
    """Delete the bucket's replication configuration; True when there was one."""
    try:
        s3.get_bucket_replication(Bucket=name)
    except ClientError as exc:
        if error_code(exc) == "ReplicationConfigurationNotFoundError":
            return False
        raise
    s3.delete_bucket_replication(Bucket=name)
    return True


def empty(s3: Any, name: str) -> int:
    """Delete every object version and delete marker; returns how many went."""
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        keys = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            response = s3.delete_objects(Bucket=name, Delete={"Objects": batch, "Quiet": True})
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise DrgenError(f"cannot empty bucket {name}: {first.get('Key')}: {first.get('Message')}")
            deleted += len(batch)
    return deleted


def delete(s3: Any, name: str) -> None:
    """Empty and delete ``name`` (the artifact bucket, which no stack owns)."""
    remove_replication(s3, name)
    empty(s3, name)
    s3.delete_bucket(Bucket=name)
