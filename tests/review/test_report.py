"""REVIEW.md / review.html: roles, wildcards, data stores, budget, comparison, determinism."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from drgen.bundle.evaluate import Env
from drgen.bundle.reader import from_directory
from drgen.errors import DrgenError
from drgen.lint.findings import Finding
from drgen.review import build_review
from drgen.review.cost_model import price_table
from drgen.review.datastores import data_stores
from drgen.scenario import PRESETS
from tests.hand_made import rehash

from .conftest import template, write_tiny_bundle

ALL = sorted(PRESETS)


def review(bundle_dir, lint=(), scan=(), compare=None) -> tuple[str, str]:
    files = build_review(bundle_dir, list(lint), None if scan is None else list(scan), compare)
    return files["REVIEW.md"].decode(), files["review.html"].decode()


def section(markdown: str, title: str) -> str:
    """One ``## title`` section of the Markdown report."""
    start = markdown.index(f"\n## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else None]


@pytest.mark.parametrize("name", ALL)
def test_every_iam_role_appears_in_the_report(name, bundle_root):
    bundle = from_directory(bundle_root / name)
    markdown, page = review(bundle_root / name)
    iam = section(markdown, "IAM roles and resource policies")
    roles = [
        (logical_id, Env(doc).show(resource["Properties"].get("RoleName")))
        for doc in bundle.templates.values()
        for logical_id, resource in doc["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    ]
    assert roles, "every preset has roles"
    for logical_id, role_name in roles:
        assert f"### IAM role {logical_id} " in iam
        assert role_name in iam
        assert logical_id in page
    # the trust principal of each role is shown (who can assume it)
    assert "Service: s3.amazonaws.com" in iam or not PRESETS[name].buckets


def wildcard_bundle(tmp_path, sid=None):
    statement = {"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}
    if sid:
        statement["Sid"] = sid
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            },
            "Policies": [
                {"PolicyName": "too-wide", "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}
            ],
        },
    }
    return write_tiny_bundle(tmp_path, {"app": template({"WideRole": role})})


def test_a_wildcard_action_is_flagged_without_a_reason(tmp_path):
    markdown, page = review(wildcard_bundle(tmp_path))
    iam = section(markdown, "IAM roles and resource policies")
    assert "### IAM role WideRole (templates/app.json)" in iam
    assert "Service: lambda.amazonaws.com" in iam
    assert "action `s3:*`: **NO REASON DOCUMENTED**" in iam
    assert "resource `*`: **NO REASON DOCUMENTED**" in iam
    assert "without a documented reason" in markdown.split("## Contents")[0]
    assert "action <code>s3:*</code>: <strong>NO REASON DOCUMENTED</strong>" in page


def test_a_documented_wildcard_carries_its_reason(tmp_path):
    markdown, _ = review(wildcard_bundle(tmp_path, sid="AccountAdministersThroughIam"))
    assert "action `s3:*`: AWS's default key-policy statement" in markdown
    assert "NO REASON DOCUMENTED**" not in section(markdown, "IAM roles and resource policies").split("\n\n", 2)[2]


def test_the_kms_key_admin_statement_is_flagged_with_its_reason(bundle_root):
    markdown, _ = review(bundle_root / "trading-ecs")
    row = next(line for line in markdown.splitlines() if line.startswith("| AccountAdministersThroughIam "))
    assert "action `kms:*`: AWS's default key-policy statement" in row
    assert "resource `*`: In a key policy, Resource * means this key" in row
    assert "NO REASON DOCUMENTED" not in section(markdown, "IAM roles and resource policies").split("\n\n", 2)[2]


def test_data_stores_show_how_they_replicate(bundle_root):
    scenario = PRESETS["trading-ecs"]
    primary, dr = scenario.regions.primary, scenario.regions.secondary
    stores = {(s.logical_id, s.stack.role): s for s in data_stores(from_directory(bundle_root / "trading-ecs"))}
    bucket = stores[("ArtifactsBucket", "primary")]
    assert f"to arn:aws:s3:::trading-ecs-artifacts-${{AWS::AccountId}}-{dr}-dev" in bucket.replication
    assert "Replication Time Control 15 min" in bucket.replication
    assert stores[("ArtifactsBucket", "secondary")].replication.startswith("none from here")
    assert stores[("SessionsTable", "primary")].replication.startswith(f"multi-active replicas in {primary}, {dr}")
    assert f"replica in {dr}" in stores[("DatabaseSecret", "primary")].replication
    global_cluster = stores[("GlobalCluster", "primary")].replication
    assert f"source: PrimaryCluster (data, primary {primary})" in global_cluster
    assert f"secondaries: SecondaryCluster (DR {dr})" in global_cluster
    assert "joins the global cluster GlobalCluster" in stores[("SecondaryCluster", "secondary")].replication
    assert f"KmsKey (foundation, DR {dr})" in stores[("SecondaryCluster", "secondary")].encryption


def test_resources_are_resolved_to_the_regions_that_create_them(bundle_root):
    scenario = PRESETS["trading-ecs"]
    markdown, _ = review(bundle_root / "trading-ecs")
    resources = section(markdown, "Resources per region and layer")
    assert f"| `GlobalCluster` | AWS::RDS::GlobalCluster | primary {scenario.regions.primary} |" in resources
    assert f"| `SecondaryCluster` | AWS::RDS::DBCluster | DR {scenario.regions.secondary} |" in resources
    assert f"| `Vpc` | AWS::EC2::VPC | primary {scenario.regions.primary}, DR {scenario.regions.secondary} |" in (
        resources
    )


def test_lint_and_scan_results_and_skips_are_listed(bundle_root):
    bundle_dir = bundle_root / "trading-asg"
    lint = [Finding("W3005", "warning", "something odd", str(bundle_dir / "templates/data.json"), 7, 3, "cfn-lint")]
    scan = [Finding("CKV_AWS_1", "error", "X: bad", str(bundle_dir / "templates/foundation.json"), 9, 1, "checkov")]
    markdown, _ = review(bundle_dir, lint, scan)
    assert "| `W3005` | warning | `templates/data.json:7` | something odd |" in section(markdown, "Lint results")
    security = section(markdown, "Security scan")
    assert "| `CKV_AWS_1` | error | `templates/foundation.json:9` | X: bad |" in security
    skips = security.split("### Documented skips")[1]
    assert "`CKV_AWS_18` | `templates/foundation.json` | `ArtifactsBucket` | No S3 server access logs" in skips
    assert "`ConfigBucket`" in skips
    unscanned, _ = review(bundle_dir, scan=None)
    assert "was not run" in section(unscanned, "Security scan")


def test_the_output_is_deterministic_and_has_no_timestamp(bundle_root, tmp_path):
    first = build_review(bundle_root / "database-dr", [], [], None)
    copy = shutil.copytree(bundle_root / "database-dr", tmp_path / "elsewhere" / "database-dr")
    second = build_review(copy, [], [], None)
    assert first == second
    # the one date allowed is the shipped price table's (the cost estimate names it): fixed, not the run's
    dated = {match.decode() for match in re.findall(rb"20\d\d-\d\d-\d\d", first["REVIEW.md"] + first["review.html"])}
    assert dated <= {price_table().as_of}


def test_template_hashes_are_checked(bundle_root, tmp_path):
    copy = shutil.copytree(bundle_root / "database-dr", tmp_path / "database-dr")
    markdown, _ = review(copy)
    assert "template hashes: match the manifest" in markdown
    assert "| `templates/global.json` |" in section(markdown, "Template hashes")
    with (copy / "templates/global.json").open("a") as handle:
        handle.write(" ")
    with pytest.raises(DrgenError, match=r"templates/global\.json was edited after rendering"):
        review(copy)  # the board never signs off a hand-edited template


def test_the_budget_section_appears_only_with_a_budget_file(bundle_root, tmp_path):
    copy = shutil.copytree(bundle_root / "trading-serverless", tmp_path / "trading-serverless")
    (copy / "budget.json").unlink()  # rendered bundles carry one; without it the section is left out
    markdown, _ = review(copy)
    assert "RTO and RPO budget" not in markdown
    (copy / "budget.json").write_text(json.dumps({"rto": {"detect_seconds": 30, "promote_seconds": 20}}))
    markdown, page = review(copy)
    assert "| `rto.detect_seconds` | 30 |" in section(markdown, "RTO and RPO budget")
    assert 'id="rto-and-rpo-budget"' in page


def test_compare_reports_stacks_templates_and_resources(bundle_root, tmp_path):
    previous = shutil.copytree(bundle_root / "database-dr", tmp_path / "previous" / "database-dr")
    current = shutil.copytree(bundle_root / "database-dr", tmp_path / "current" / "database-dr")
    manifest = json.loads((current / "manifest.json").read_text())
    gone = manifest["stacks"].pop()["name"]
    (current / "manifest.json").write_text(json.dumps(manifest))
    data = json.loads((current / "templates/data.json").read_text())
    old_retention = data["Resources"]["PrimaryCluster"]["Properties"]["BackupRetentionPeriod"]
    data["Resources"]["PrimaryCluster"]["Properties"]["BackupRetentionPeriod"] = 35
    data["Resources"]["NewTopic"] = {"Type": "AWS::SNS::Topic"}
    del data["Resources"]["DatabaseLogGroup"]
    (current / "templates/data.json").write_text(json.dumps(data))
    rehash(current)
    markdown, _ = review(current, compare=previous)
    changes = section(markdown, "What changes")
    assert f"stacks: 0 added, 1 (`{gone}`) removed" in changes
    assert f"| `{gone}` |" in changes and "**stack removed**" in changes
    assert "templates changed: `templates/data.json`" in changes
    # the data template runs in both regions: each stack's resources change
    for stack in ("dbdr-data-primary-dev", "dbdr-data-secondary-dev"):
        assert f"| `{stack}` |" in changes
    assert changes.count("| `NewTopic` | AWS::SNS::Topic | added |") == 2
    assert changes.count("| `DatabaseLogGroup` | AWS::Logs::LogGroup | removed |") == 2
    assert f"| updated in place | Properties.BackupRetentionPeriod: {old_retention} -> 35 |" in changes
    same, _ = review(previous, compare=previous)
    assert "No changes" in section(same, "What changes")
