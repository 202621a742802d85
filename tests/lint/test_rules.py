"""drgen's lint: its DR rules on good/bad fixtures, the report formats, and bundle linting (regions, integrity)."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.rules import CloudFormationLintRule

from drgen.bundle.manifest import serialize
from drgen.errors import DrgenError
from drgen.lint import Finding, format_findings, lint_bundle, lint_bundles, lint_template
from tests.hand_made import manifest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DR_REGIONS = ("us-east-1", "us-west-2")

# rule id -> how many findings its bad fixture holds
BAD = {"E9001": 3, "E9002": 3, "E9003": 2, "W9004": 2, "E9005": 2, "W9006": 2, "E9010": 1, "E9011": 7}


# -- the rules ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", sorted(BAD))
def test_rule_fires_on_its_bad_fixture_only(rule: str) -> None:
    findings = lint_template(FIXTURES / f"{rule}-bad.json", DR_REGIONS)
    assert [f.rule for f in findings] == [rule] * BAD[rule]
    assert {f.source for f in findings} == {"drgen"}
    assert {f.severity for f in findings} == {"error" if rule.startswith("E") else "warning"}
    assert all(f.line > 1 and f.column >= 1 for f in findings)


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*-good*.json")))
def test_good_fixture_is_clean(fixture: str) -> None:
    assert lint_template(FIXTURES / fixture, DR_REGIONS) == []


def _rule_ids() -> set[str]:
    """The id of every rule class in drgen/lint/rules/, found from the classes themselves."""
    import drgen.lint.rules as package

    ids = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, CloudFormationLintRule) and cls.__module__ == module.__name__:
                ids.add(cls.id)
    return ids


def test_every_rule_class_has_good_and_bad_fixtures() -> None:
    """A rule without fixtures (or without its count of bad findings above) fails here."""
    ids = _rule_ids()
    assert "E9010" in ids and len(ids) >= 8  # the discovery sees the rules at all
    assert ids == set(BAD)
    for rule in ids:
        assert (FIXTURES / f"{rule}-bad.json").is_file(), rule
        assert list(FIXTURES.glob(f"{rule}-good*.json")), rule


def test_messages_name_the_role_in_which_the_problem_occurs() -> None:
    by_rule = _messages("E9001-bad.json")
    assert any("SecondaryCluster" in m and "MasterUsername (when IsSecondary)" in m for m in by_rule)
    assert any("PrimaryCluster sets ManageMasterUserPassword (when IsPrimary)" in m for m in by_rule)
    versioning = _messages("E9002-bad.json")
    assert any("Documents has a ReplicationConfiguration (when IsPrimary)" in m for m in versioning)
    assert any("Exports may be a replication destination" in m for m in versioning)


def test_the_grant_rule_names_each_missing_or_misplaced_grant() -> None:
    """E9011: a missing grant, a missing KMS data-key grant for an encrypted topic, and ARNs of the wrong form."""
    messages = _messages("E9011-bad.json")
    assert any("dynamodb:PutItem: no statement" in m for m in messages)
    assert any("kms:GenerateDataKey: no statement" in m for m in messages)  # implied by sns:Publish
    assert any('Resource "*" only' in m for m in messages)
    assert any("not an ARN" in m for m in messages)
    assert any("none of the ARN forms" in m and "route53" in m for m in messages)
    assert any("key policy denies" in m for m in messages)
    assert any("does not allow the account root kms:*" in m for m in messages)


def test_deletion_policy_finding_explains_the_snapshot_default() -> None:
    cluster = [m for m in _messages("E9003-bad.json") if m.startswith("Cluster ")]
    assert len(cluster) == 1 and "Snapshot" in cluster[0]


def test_region_literal_reports_each_code_where_it_is_written() -> None:
    findings = lint_template(FIXTURES / "W9006-bad.json", DR_REGIONS)
    assert ["us-east-1" in findings[0].message, "eu-west-1" in findings[1].message] == [True, True]
    lines = (FIXTURES / "W9006-bad.json").read_text().splitlines()
    assert "us-east-1" in lines[findings[0].line - 1] and "eu-west-1" in lines[findings[1].line - 1]


def test_user_and_project_cfnlintrc_do_not_change_the_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rc = "ignore_checks:\n  - E9003\nregions:\n  - eu-west-1\n"
    (tmp_path / ".cfnlintrc").write_text(rc)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert [f.rule for f in lint_template(FIXTURES / "E9003-bad.json", DR_REGIONS)] == ["E9003", "E9003"]


def test_importing_the_lint_package_does_not_load_cfnlint() -> None:
    code = "import sys, drgen.lint; print(any(m.split('.')[0] == 'cfnlint' for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=_repo())
    assert result.stdout.strip() == "False"


# -- report formats -------------------------------------------------------------------------------------

FINDINGS = [
    Finding("W9006", "warning", "region code us-east-1", "b/templates/data.json", 12, 5, "drgen", "No literals"),
    Finding("E3006", "error", "Resource type 'X' does not exist in 'us-west-2'", "a/t.json", 7, 3, "cfn-lint", "T"),
    Finding("I3042", "informational", "ARN has a hardcoded partition", "a/t.json", 7, 3, "cfn-lint", "Partition"),
    Finding("E9900", "error", "template was edited\nafter rendering", "a/t.json", 1, 1, "drgen", "Unchanged"),
]


def test_text_report_is_one_line_per_finding_sorted_plus_a_summary() -> None:
    lines = format_findings(FINDINGS, "text").splitlines()
    assert lines == [
        "a/t.json:1:1: error E9900 template was edited after rendering",
        "a/t.json:7:3: error E3006 Resource type 'X' does not exist in 'us-west-2'",
        "a/t.json:7:3: informational I3042 ARN has a hardcoded partition",
        "b/templates/data.json:12:5: warning W9006 region code us-east-1",
        "4 finding(s): 2 error(s), 1 warning(s), 1 informational",
    ]
    assert format_findings([], "text") == ""


def test_json_report_round_trips() -> None:
    report = format_findings(FINDINGS, "json")
    restored = [Finding(**item) for item in json.loads(report)]
    assert sorted(restored, key=lambda f: f.rule) == sorted(FINDINGS, key=lambda f: f.rule)
    assert [f.path for f in restored] == sorted(f.path for f in FINDINGS)
    assert json.loads(format_findings([], "json")) == []


def test_sarif_report_has_the_required_structure() -> None:
    sarif = json.loads(format_findings(FINDINGS, "sarif"))
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    [run] = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "drgen-lint"
    assert [r["id"] for r in driver["rules"]] == ["E3006", "E9900", "I3042", "W9006"]
    assert all(r["shortDescription"]["text"] for r in driver["rules"])
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {"E3006": "error", "E9900": "error", "I3042": "note", "W9006": "warning"}
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] in {"a/t.json", "b/templates/data.json"}
        assert physical["region"]["startLine"] >= 1 and physical["region"]["startColumn"] >= 1


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_reports_do_not_depend_on_input_order(fmt: str) -> None:
    assert format_findings(FINDINGS, fmt) == format_findings(list(reversed(FINDINGS)), fmt)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="xml"):
        format_findings(FINDINGS, "xml")


# -- bundles --------------------------------------------------------------------------------------------

# Cost and Usage Reports exist only in us-east-1: cfn-lint reports the type for every other region.
CUR_TEMPLATE: dict[str, Any] = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Report": {
            "Type": "AWS::CUR::ReportDefinition",
            "Properties": {
                "AdditionalSchemaElements": ["RESOURCES"],
                "Compression": "GZIP",
                "Format": "textORcsv",
                "RefreshClosedReports": True,
                "ReportName": "drgen-costs",
                "ReportVersioning": "OVERWRITE_REPORT",
                "S3Bucket": "drgen-cost-reports",
                "S3Prefix": "cur",
                "S3Region": {"Ref": "AWS::Region"},
                "TimeUnit": "DAILY",
            },
        }
    },
}


def _bundle(root: Path, regions: tuple[str, ...], template: dict[str, Any] = CUR_TEMPLATE) -> Path:
    """A hand-made bundle: one template, one stack per region, as ``drgen render`` writes them."""
    data = serialize(template)
    (root / "templates").mkdir(parents=True)
    (root / "templates" / "costs.json").write_bytes(data)
    stacks = [
        {"name": f"costs-{region}", "layer": "app", "region": region, "role": "primary",
         "template": "templates/costs.json", "sha256": hashlib.sha256(data).hexdigest()}
        for region in regions
    ]  # fmt: skip
    (root / "manifest.json").write_bytes(serialize(manifest(stacks)))
    return root


def test_bundle_is_linted_for_each_region_its_stacks_deploy_to(tmp_path: Path) -> None:
    findings = lint_bundle(_bundle(tmp_path / "two", ("us-west-2", "us-east-1")))
    assert [(f.rule, f.source) for f in findings] == [("E3006", "cfn-lint")]
    assert "'us-west-2'" in findings[0].message and "us-east-1" not in findings[0].message
    assert findings[0].path == (tmp_path / "two" / "templates" / "costs.json").as_posix()
    assert lint_bundle(_bundle(tmp_path / "one", ("us-east-1",))) == []


def test_template_edited_after_rendering_is_reported(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, ("us-east-1",))
    template = bundle / "templates" / "costs.json"
    template.write_text(template.read_text().replace("drgen-costs", "hand-edited"))
    [finding] = lint_bundle(bundle)
    assert (finding.rule, finding.severity, finding.source) == ("E9900", "error", "drgen")
    assert "edited after rendering" in finding.message and finding.path.endswith("templates/costs.json")


def test_deleted_template_is_reported(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, ("us-east-1",))
    (bundle / "templates" / "costs.json").unlink()
    [finding] = lint_bundle(bundle)
    assert finding.rule == "E9900" and "missing" in finding.message


def test_directory_without_manifest_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(DrgenError, match=r"holds no rendered bundle \(no manifest\.json\); run `drgen render` first"):
        lint_bundle(tmp_path)


def test_several_bundles_are_linted_together_and_sorted(tmp_path: Path) -> None:
    dirs = [_bundle(tmp_path / name, ("us-east-1", "us-west-2")) for name in ("b", "a")]
    findings, templates = lint_bundles(dirs)
    assert templates == 2
    assert [Path(f.path).parts[-3] for f in findings] == ["a", "b"]
    assert {f.rule for f in findings} == {"E3006"}


def test_paths_below_the_cwd_are_shown_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _bundle(tmp_path / "bundle", ("us-west-2",))
    monkeypatch.chdir(tmp_path)
    [finding] = lint_bundle(tmp_path / "bundle")
    assert finding.path == "bundle/templates/costs.json"


def test_region_unknown_to_cfnlint_is_a_user_error() -> None:
    with pytest.raises(DrgenError, match="does not know region\\(s\\) xx-nowhere-1"):
        lint_template(FIXTURES / "W9004-good.json", ["us-east-1", "xx-nowhere-1"])


def _messages(fixture: str) -> list[str]:
    return [f.message for f in lint_template(FIXTURES / fixture, DR_REGIONS)]


def _repo() -> Path:
    return Path(__file__).resolve().parent.parent.parent
