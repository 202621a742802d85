"""The checkov scan: findings for a bad template, none for drgen's, skips with reasons, SARIF output."""

from __future__ import annotations

import json

import pytest

from drgen.layers import LAYERS
from drgen.lint import format_findings
from drgen.scan.checkov import scan_bundles
from drgen.scan.skips import Skip, skip_metadata, template_skips
from drgen.scenario import PRESETS

from .conftest import template, write_tiny_bundle

BAD = template(
    {
        "OpenBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "drgen-deliberately-bad"}},
        "SshFromAnywhere": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "ssh from anywhere",
                "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}],
            },
        },
    }
)
GOOD = template(
    {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": "alias/drgen-test"}},
    }
)


@pytest.fixture(scope="module")
def bad_bundle(tmp_path_factory):
    return write_tiny_bundle(tmp_path_factory.mktemp("bad"), {"app": BAD}, name="bad")


def test_a_deliberately_bad_template_fails_with_checkov_findings(bad_bundle, checkov):
    result = scan_bundles([bad_bundle], checkov)
    rules = {f.rule for f in result.findings}
    assert {"CKV_AWS_24", "CKV_AWS_18"} <= rules  # SSH open to the world; bucket without access logs
    assert all(f.source == "checkov" and f.severity == "error" for f in result.findings)
    assert all(f.path.endswith("bad/templates/app.json") and f.line > 1 for f in result.findings)
    assert any("AWS::EC2::SecurityGroup.SshFromAnywhere" in f.message for f in result.findings)


def test_a_good_template_has_no_finding(tmp_path, checkov):
    result = scan_bundles([write_tiny_bundle(tmp_path, {"app": GOOD}, name="good")], checkov)
    assert result.findings == []
    assert result.passed > 0


def test_every_preset_scans_clean_and_every_skip_has_a_reason(bundle_root, checkov):
    result = scan_bundles([bundle_root / name for name in sorted(PRESETS)], checkov)
    assert [f"{f.rule} {f.message}" for f in result.findings] == []
    assert result.templates == sum(layer.present(s) for layer in LAYERS for s in PRESETS.values())
    assert result.skips, "drgen documents its skips"
    assert all(len(s.reason) > 40 for s in result.skips)


def test_sarif_output_of_scan_findings_is_valid(bad_bundle, checkov):
    findings = scan_bundles([bad_bundle], checkov).findings
    sarif = json.loads(format_findings(findings, "sarif"))
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    run = sarif["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rules == sorted(set(rules)) and len(run["results"]) == len(findings)
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] == "error" and result["properties"]["source"] == "checkov"
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] and location["region"]["startLine"] >= 1


def test_skips_are_written_and_read_back_with_their_reason():
    metadata = skip_metadata(Skip("CKV_AWS_18", "a written reason"))
    doc = template({"B": {"Type": "AWS::S3::Bucket", "Metadata": metadata}})
    assert template_skips(doc) == [Skip("CKV_AWS_18", "a written reason", "B")]
    with pytest.raises(ValueError, match="written reason"):
        skip_metadata(Skip("CKV_AWS_18", " "))
