"""Failover step: from now on, what the DR region writes to its buckets replicates back to the primary's.

The templates replicate each bucket primary -> DR (the DR bucket, a replication destination, exists first). The
way back cannot be configured at deploy time (its destination, the primary bucket, is created after the DR
bucket), and while the primary serves there is nothing to send back. So the failover turns it on when the DR
region starts serving: a replication rule on each DR bucket (RETURN_BUCKETS, ``dr-bucket=primary-bucket`` pairs)
to the primary bucket of the same purpose, re-encrypted there with the primary region's key (PRIMARY_KMS_KEY_ARN),
through the role S3 assumes (RETURN_REPLICATION_ROLE_ARN). S3 replicates objects written after the rule exists and
retries while the primary region is unreachable; a replica is not replicated again, so the two directions do not
loop. The rule stays after the failback: the buckets then replicate both ways.

PutBucketReplication checks its destination, which lives in the primary region: when that region does not
answer, the step reports which buckets are not returning yet and does not fail the failover (the traffic has
moved already); the failback's notice and the run's result say so.
"""

from __future__ import annotations

from typing import Any

from drgen_common import aws, config, logs
from drgen_common.contract import PRIMARY_KMS_KEY_ARN, RETURN_BUCKETS, RETURN_REPLICATION_ROLE_ARN
from drgen_common.failover import Request
from drgen_common.retry import retry

RULE_ID = "back-to-primary-region"


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    if request.failback:
        return {"changed": False, "reason": "failback: the buckets keep replicating both ways", "buckets": []}
    return turn_on(
        aws.client("s3"),
        pairs=parse_pairs(config.optional(RETURN_BUCKETS)),
        role_arn=config.required(RETURN_REPLICATION_ROLE_ARN),
        primary_key_arn=config.required(PRIMARY_KMS_KEY_ARN),
    )


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """``a=b,c=d`` -> [(a, b), (c, d)]."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        source, _, destination = item.partition("=")
        if not source or not destination:
            raise ValueError(f"{RETURN_BUCKETS}: {item!r} is not dr-bucket=primary-bucket")
        pairs.append((source, destination))
    return pairs


def rule(destination: str, primary_key_arn: str, partition: str) -> dict[str, Any]:
    return {
        "ID": RULE_ID,
        "Priority": 1,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "DeleteMarkerReplication": {"Status": "Enabled"},
        "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
        "Destination": {
            "Bucket": f"arn:{partition}:s3:::{destination}",
            "EncryptionConfiguration": {"ReplicaKmsKeyID": primary_key_arn},
        },
    }


def turn_on(s3: Any, *, pairs: list[tuple[str, str]], role_arn: str, primary_key_arn: str) -> dict[str, Any]:
    """Put the return rule on each DR bucket (idempotent: the same rule again changes nothing)."""
    partition = role_arn.split(":")[1] if role_arn.count(":") >= 4 else "aws"
    buckets = []
    for source, destination in pairs:
        try:
            retry(
                s3.put_bucket_replication,
                Bucket=source,
                ReplicationConfiguration={"Role": role_arn, "Rules": [rule(destination, primary_key_arn, partition)]},
            )
            buckets.append({"bucket": source, "to": destination, "ok": True})
        except Exception as error:  # the primary region may not answer: the failover goes on, the result says so
            failure = f"{type(error).__name__}: {error}"
            buckets.append({"bucket": source, "to": destination, "ok": False, "error": failure})
    result = {"changed": any(b["ok"] for b in buckets), "returning": all(b["ok"] for b in buckets), "buckets": buckets}
    (logs.info if result["returning"] else logs.warning)("return replication", **result)
    return result
