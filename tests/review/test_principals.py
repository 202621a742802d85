"""Who a policy statement names, in words: a TLS-only Deny refuses anyone without TLS; it grants nobody."""

from __future__ import annotations

from drgen.bundle.reader import from_directory
from drgen.review.policies import policy_holders

from .conftest import template, write_tiny_bundle

TLS_ONLY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [{"Fn::GetAtt": ["Bucket", "Arn"]}],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def principals(tmp_path, *statements):
    resources = {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "BucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": {"Statement": list(statements)}},
        },
    }
    (holder,) = policy_holders(from_directory(write_tiny_bundle(tmp_path, {"app": template(resources)})))
    return [s.principal for s in holder.statements], holder


def test_a_tls_only_deny_is_not_a_grant_to_anyone(tmp_path):
    found, holder = principals(tmp_path, TLS_ONLY)
    assert found == ["* (denies anyone without TLS)"]
    # still flagged as a wildcard, with the Deny's reason
    assert any(f.startswith("principal `*`: A Deny") for f in holder.statements[0].flags)


def test_other_star_principals_keep_their_meaning(tmp_path):
    allow = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
    deny = {
        **TLS_ONLY,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}, "StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
    }
    found, _ = principals(tmp_path, allow, deny, {**TLS_ONLY, "Condition": {}})
    assert found == ["* (anyone)", "* (denies anyone)", "* (denies anyone)"]


def test_the_rendered_bucket_policies_say_so(bundle_root):
    holders = policy_holders(from_directory(bundle_root / "trading-ecs"))
    buckets = [h for h in holders if h.kind == "bucket policy"]
    assert buckets and all(s.principal == "* (denies anyone without TLS)" for h in buckets for s in h.statements)
