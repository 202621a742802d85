"""`drgen review` and `drgen scan` through click's CliRunner."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from drgen.main import cli

from .conftest import template, write_tiny_bundle
from .test_scan import BAD


def test_review_writes_the_four_files_into_each_bundle(bundle_root, tmp_path):
    out = tmp_path / "out"
    for name in ("trading-ecs", "database-dr"):
        shutil.copytree(bundle_root / name, out / name)
    result = CliRunner().invoke(cli, ["review", str(out), "--no-scan", "--compare", str(bundle_root)])
    assert result.exit_code == 0, result.output
    for name in ("trading-ecs", "database-dr"):
        files = sorted(p.name for p in (out / name).iterdir() if p.is_file())
        assert files == [
            "REVIEW.md",
            "budget.json",
            "diagram-full.png",
            "diagram-full.svg",
            "diagram.png",
            "diagram.svg",
            "manifest.json",
            "review.html",
        ]
        assert "No change" in (out / name / "REVIEW.md").read_text()
    assert "review trading-ecs: 0 lint finding(s), scan not run" in result.output


def test_review_of_a_missing_bundle_is_bad_input(tmp_path):
    result = CliRunner().invoke(cli, ["review", str(tmp_path)])
    assert result.exit_code == 2
    assert "no rendered bundle" in result.output


def test_scan_exits_1_on_failed_checks_and_prints_sarif(tmp_path, checkov):
    bundle = write_tiny_bundle(tmp_path, {"app": BAD}, name="bad")
    result = CliRunner().invoke(cli, ["scan", str(bundle), "--format", "sarif"])
    assert result.exit_code == 1
    sarif = json.loads(result.stdout)
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"CKV_AWS_24"}


def test_scan_of_a_clean_bundle_exits_0(tmp_path, checkov):
    clean = template({"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": "alias/x"}}})
    result = CliRunner().invoke(cli, ["scan", str(write_tiny_bundle(tmp_path, {"app": clean}))])
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output
