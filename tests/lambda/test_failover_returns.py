"""failover/returns.py: once the DR region serves, its buckets replicate back to the primary's (best effort)."""

from __future__ import annotations

from failover import returns

from .conftest import DR, PRIMARY

ROLE = "arn:aws:iam::123456789012:role/trading-s3-return-replication-eu-west-2-test"
PRIMARY_KEY = "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def _versioned(cloud, region, name):
    s3 = cloud("s3", region)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def test_the_dr_buckets_replicate_back_to_the_primary_buckets_once_turned_on(cloud, monkeypatch):
    """Defect 11: objects written while the DR region serves must come back after the failback."""
    _versioned(cloud, DR, "audit-eu-west-2-test")
    _versioned(cloud, PRIMARY, "audit-eu-central-1-test")
    monkeypatch.setenv("RETURN_BUCKETS", "audit-eu-west-2-test=audit-eu-central-1-test")
    monkeypatch.setenv("RETURN_REPLICATION_ROLE_ARN", ROLE)
    monkeypatch.setenv("PRIMARY_KMS_KEY_ARN", PRIMARY_KEY)
    result = returns.handler({"mode": "failover"}, None)
    assert result["returning"] is True and result["buckets"][0]["ok"] is True
    config = cloud("s3", DR).get_bucket_replication(Bucket="audit-eu-west-2-test")["ReplicationConfiguration"]
    (rule,) = config["Rules"]
    assert config["Role"] == ROLE and rule["Status"] == "Enabled"
    assert rule["Destination"]["Bucket"] == "arn:aws:s3:::audit-eu-central-1-test"
    assert rule["Destination"]["EncryptionConfiguration"] == {"ReplicaKmsKeyID": PRIMARY_KEY}
    assert returns.handler({"mode": "failover"}, None)["returning"] is True  # again: the same rule
    assert returns.handler({"mode": "failback"}, None)["changed"] is False  # the failback keeps both ways


def test_a_bucket_that_cannot_be_configured_is_reported_not_raised(cloud):
    """The destination lives in the primary region, which may not answer: the failover goes on."""
    result = returns.turn_on(
        cloud("s3", DR), pairs=[("no-such-bucket-eu-west-2", "x")], role_arn=ROLE, primary_key_arn=PRIMARY_KEY
    )
    assert result["returning"] is False and "NoSuchBucket" in result["buckets"][0]["error"]


def test_pairs_are_read_from_the_setting():
    assert returns.parse_pairs("a=b, c=d,") == [("a", "b"), ("c", "d")]
