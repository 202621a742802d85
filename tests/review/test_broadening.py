"""IAM and exposure broadening: new or widened grants, ingress rules and public endpoints; unchanged ones not
repeated; without a previous bundle only counts and the wildcard and public items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drgen.bundle.reader import from_directory
from drgen.review.broadening import broadening, grants
from drgen.review.policies import policy_holders

from .conftest import template, write_tiny_bundle
from .test_changes import edit, review, two_bundles

APP = "templates/app.json"


def section(markdown: str) -> str:
    return markdown.split("## IAM and exposure broadening", 1)[1].split("\n## ", 1)[0]


def role(*statements: dict[str, Any], trust: str = "lambda.amazonaws.com") -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Statement": [{"Effect": "Allow", "Principal": {"Service": trust}, "Action": "sts:AssumeRole"}]
            },
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": list(statements)}}],
        },
    }


READ = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::orders/*"}


def tiny_pair(tmp_path: Path, before: dict[str, Any], after: dict[str, Any]) -> tuple[Path, Path]:
    return (
        write_tiny_bundle(tmp_path / "old", {"app": template(before)}),
        write_tiny_bundle(tmp_path / "new", {"app": template(after)}),
    )


def test_an_added_s3_star_grant_is_broadening(tmp_path):
    old, new = two_bundles(tmp_path)

    def grant(doc: dict[str, Any]) -> None:
        props = doc["Resources"]["DatabaseMonitoringRole"]["Properties"]
        props.setdefault("Policies", []).append(
            {
                "PolicyName": "wide",
                "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
            }
        )

    edit(new, "templates/data.json", grant)
    markdown, page = review(new, old)
    found = section(markdown)
    assert "### New or widened permissions" in found
    rows = [line for line in found.splitlines() if line.startswith("| IAM role")]
    assert rows == [
        "| IAM role DatabaseMonitoringRole (templates/data.json) | primary us-east-1, DR eu-west-1 | "
        "Allow | - | `s3:*` | `*` | - | **wildcard** |"
    ]  # the role's other grants are not repeated
    assert "| risk: broadening | **1 new or widened grant(s), 0 new ingress rule(s) or endpoint(s), 0 public**" in (
        markdown
    )
    assert "<code>s3:*</code>" in page.split('id="iam-and-exposure-broadening"', 1)[1]


def test_a_widened_action_and_a_new_trusted_principal_are_new_grants(tmp_path):
    wide = {**READ, "Action": ["s3:Get*"]}
    old, new = tiny_pair(tmp_path, {"R": role(READ)}, {"R": role(wide, trust="ec2.amazonaws.com")})
    found = broadening(from_directory(new), from_directory(old))
    new_grants = {(g.effect, g.principal, g.action) for g in found.grants}
    assert new_grants == {
        ("Allow", "", "s3:Get*"),
        ("may assume the role", "Service: ec2.amazonaws.com", "sts:AssumeRole"),
    }


def test_a_removed_deny_and_a_dropped_condition_broaden(tmp_path):
    deny = {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
    scoped = {**READ, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    old, new = tiny_pair(tmp_path, {"R": role(scoped, deny)}, {"R": role(READ)})
    found = broadening(from_directory(new), from_directory(old))
    assert [(g.action, g.condition) for g in found.grants] == [("s3:GetObject", "")]
    assert [g.action for g in found.denies_removed] == ["s3:DeleteObject"]
    assert "### Deny statements removed" in section(review(new, old)[0])


def test_new_ingress_and_a_public_endpoint_are_broadening_and_unchanged_rules_are_not(tmp_path):
    group = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": "g",
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"}],
        },
    }
    wider = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": "g",
            "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"},
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"},
            ],
        },
    }
    balancer = {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {"Subnets": ["s"]}}
    old, new = tiny_pair(tmp_path, {"G": group}, {"G": wider, "Lb": balancer})
    found = section(review(new, old)[0])
    assert "| `G` | `templates/app.json` | tcp 22 from 0.0.0.0/0 | global us-east-1 | **yes** |" in found
    assert "| `Lb` | `templates/app.json` | internet-facing application load balancer |" in found  # the default
    assert "10.0.0.0/16" not in found


def test_without_compare_only_counts_and_wildcard_and_public_items(bundle_root):
    bundle = from_directory(bundle_root / "trading-ecs")
    markdown, _ = review(bundle_root / "trading-ecs")
    found = section(markdown)
    every = [g for g in grants(policy_holders(bundle)) if g.effect != "Deny"]
    assert f"every permission is new: {len(every)} grant(s)" in found
    assert "### Wildcard grants" in found and "### Open to the internet" in found
    assert "tcp 443 from 0.0.0.0/0" in found
    # a statement without a wildcard is not listed here (it is under IAM roles and resource policies)
    listed = found.split("### Wildcard grants", 1)[1]
    assert "`sts:AssumeRole`" not in listed
    assert "`*`" in listed
