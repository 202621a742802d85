"""The change at the top of the review: per stack and resource, replacements predicted from the resource schemas,
stateful replacements and deletions first and marked; `--compare` with a directory or a git ref."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from drgen.main import cli
from drgen.render import render, write_bundles
from drgen.review import build_review
from drgen.review.replacement import CUSTOM, IN_PLACE, MAY_BE_REPLACED, NO_SCHEMA, REPLACED, verdict
from drgen.scenario import load

from .conftest import template, write_tiny_bundle

DATA = "templates/data.json"


def two_bundles(tmp_path: Path, name: str = "database-dr") -> tuple[Path, Path]:
    """The preset rendered in memory once and written twice through drgen's write path: (old, new)."""
    bundle = render(load(name, suffix="dev"))
    (old,) = write_bundles([bundle], tmp_path / "old")
    (new,) = write_bundles([bundle], tmp_path / "new")
    return old, new


def edit(bundle_dir: Path, relative: str, change: Any) -> None:
    """Change one template with ``change(document)`` and record its new hash in the manifest, as a render would."""
    path = bundle_dir / relative
    document = json.loads(path.read_text())
    change(document)
    data = (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()
    path.write_bytes(data)
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    for stack in manifest["stacks"]:
        if stack["template"] == relative:
            stack["sha256"] = hashlib.sha256(data).hexdigest()
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def review(bundle_dir: Path, compare: Path | None = None) -> tuple[str, str]:
    files = build_review(bundle_dir, [], [], compare)
    return files["REVIEW.md"].decode(), files["review.html"].decode()


def top(markdown: str) -> str:
    """The summary and the first section: what a reader sees first."""
    first = markdown.index("\n## ", markdown.index("## Contents") + 1)
    return markdown[: markdown.find("\n## ", first + 1)]


def primary_cluster(change: Any) -> Any:
    return lambda doc: change(doc["Resources"]["PrimaryCluster"]["Properties"])


def test_a_changed_create_only_property_is_a_stateful_replacement_at_the_top(tmp_path):
    old, new = two_bundles(tmp_path)
    edit(new, DATA, primary_cluster(lambda props: props.update(MasterUsername="dbadmin")))
    markdown, page = review(new, old)
    head = top(markdown)
    assert head.index("| risk: data | **⚠ 1 stateful replacement(s) or deletion(s): data lost**") < head.index(
        "## What changes"
    )
    assert "`PrimaryCluster (primary us-east-1)`" in head
    changes = head.split("## What changes", 1)[1]
    first_row = next(line for line in changes.splitlines() if line.startswith("| `dbdr-"))
    # MasterUsername is conditionally create-only for AWS::RDS::DBCluster: CloudFormation "may" replace it
    assert "| `PrimaryCluster` | AWS::RDS::DBCluster | **⚠ MAY BE REPLACED, data lost** (MasterUsername) |" in (
        first_row
    )
    assert "Properties.MasterUsername:" in first_row and "-> dbadmin" in first_row
    # HTML: the same rows, marked with the red class, in the first section
    sections = re.findall(r'<section><h2 id="([^"]+)"', page)
    assert sections[0] == "what-changes"
    what_changes = page.split('<h2 id="what-changes">', 1)[1].split("</section>", 1)[0]
    assert re.search(r'<tr class="danger"><td><code>dbdr-data-primary-dev</code></td>.*?PrimaryCluster', what_changes)
    summary = page.split("<nav>", 1)[0]
    assert '<tr class="danger"><td>risk: data</td>' in summary
    assert "tr.danger td" in page  # the class has its red colour


def test_create_only_replaces_and_other_properties_update_in_place(tmp_path):
    old, new = two_bundles(tmp_path)

    def change(doc: dict[str, Any]) -> None:
        doc["Resources"]["PrimaryCluster"]["Properties"]["DatabaseName"] = "renamed"  # create-only
        doc["Resources"]["PrimaryCluster"]["Properties"]["BackupRetentionPeriod"] = 30  # in place
        doc["Resources"]["DatabaseLogGroup"]["Properties"]["RetentionInDays"] = 400  # in place, both regions

    edit(new, DATA, change)
    markdown, _ = review(new, old)
    changes = top(markdown).split("## What changes", 1)[1]
    assert "| `PrimaryCluster` | AWS::RDS::DBCluster | **⚠ REPLACED, data lost** (DatabaseName) |" in changes
    assert changes.count("| `DatabaseLogGroup` | AWS::Logs::LogGroup | updated in place |") == 2
    assert "resources: 0 added, 0 removed, 3 modified (1 replaced or maybe replaced, 2 in place)" in changes


def test_a_renamed_logical_id_is_a_removal_and_an_addition(tmp_path):
    old, new = two_bundles(tmp_path)

    def rename(doc: dict[str, Any]) -> None:
        doc["Resources"]["SessionTopic"] = doc["Resources"].pop("DatabaseLogGroup")

    edit(new, DATA, rename)
    changes = top(review(new, old)[0]).split("## What changes", 1)[1]
    assert changes.count("| `DatabaseLogGroup` | AWS::Logs::LogGroup | removed |") == 2
    assert changes.count("| `SessionTopic` | AWS::Logs::LogGroup | added |") == 2


def test_a_change_in_the_other_regions_branch_changes_only_that_stack(tmp_path):
    doc = {
        "Parameters": {"Role": {"Type": "String"}},
        "Conditions": {"IsPrimary": {"Fn::Equals": [{"Ref": "Role"}, "primary"]}},
        "Resources": {
            "Log": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": {"Fn::If": ["IsPrimary", 30, 7]}}}
        },
    }
    old = regional_bundle(tmp_path / "old", doc)
    doc["Resources"]["Log"]["Properties"]["RetentionInDays"]["Fn::If"][2] = 14  # the DR branch only
    new = regional_bundle(tmp_path / "new", doc)
    changes = top(review(new, old)[0]).split("## What changes", 1)[1]
    assert "| `r-app-secondary` | DR us-west-2 | `Log` |" in changes
    assert "r-app-primary" not in changes
    assert "Properties.RetentionInDays: 7 -> 14" in changes


def regional_bundle(root: Path, doc: dict[str, Any]) -> Path:
    """One template deployed as a primary and a secondary stack (parameter Role), like drgen's regional layers."""
    bundle = root / "r"
    path = bundle / "templates" / "app.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()
    path.write_bytes(data)
    stacks = [
        {
            "name": f"r-app-{role}",
            "layer": "app",
            "region": region,
            "role": role,
            "template": "templates/app.json",
            "sha256": hashlib.sha256(data).hexdigest(),
            "depends_on": [],
            "parameters": {"Role": role},
            "inputs": {},
            "tags": {},
        }
        for role, region in (("primary", "us-east-1"), ("secondary", "us-west-2"))
    ]
    manifest = {
        "format": 1,
        "scenario": "r",
        "suffix": "t",
        "stacks": stacks,
        "regions": {"primary": "us-east-1", "secondary": "us-west-2", "global": "us-east-1"},
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    return bundle


@pytest.mark.parametrize(
    ("rtype", "old", "new", "expected"),
    [
        ("AWS::S3::Bucket", {"BucketName": "a"}, {"BucketName": "b"}, (REPLACED, ("BucketName",))),
        (
            "AWS::S3::Bucket",
            {"VersioningConfiguration": {"Status": "Enabled"}},
            {"VersioningConfiguration": {"Status": "Suspended"}},
            (IN_PLACE, ()),
        ),
        # a path under a create-only property counts; so does an object around one whose value changes
        (
            "AWS::RDS::DBCluster",
            {"DBClusterIdentifier": "a"},
            {"DBClusterIdentifier": "b"},
            (REPLACED, ("DBClusterIdentifier",)),
        ),
        (
            "AWS::DynamoDB::GlobalTable",
            {"KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}]},
            {"KeySchema": [{"AttributeName": "b", "KeyType": "HASH"}]},
            (MAY_BE_REPLACED, ("KeySchema",)),
        ),
        ("Custom::Thing", {"A": 1}, {"A": 2}, (CUSTOM, ())),
        ("AWS::Nope::Nothing", {"A": 1}, {"A": 2}, (NO_SCHEMA, ())),
    ],
)
def test_the_verdict_follows_the_resource_schema(rtype, old, new, expected):
    found = verdict(rtype, "us-east-1", {"Type": rtype, "Properties": old}, {"Type": rtype, "Properties": new})
    assert (found.kind, found.causes) == expected


def test_a_changed_type_is_a_replacement():
    found = verdict("AWS::SNS::Topic", "us-east-1", {"Type": "AWS::SQS::Queue"}, {"Type": "AWS::SNS::Topic"})
    assert found.kind == REPLACED


def test_a_removed_stack_lists_its_stateful_resources_as_deleted(tmp_path):
    old, new = two_bundles(tmp_path)
    manifest = json.loads((new / "manifest.json").read_text())
    manifest["stacks"] = [s for s in manifest["stacks"] if s["name"] != "dbdr-data-secondary-dev"]
    (new / "manifest.json").write_text(json.dumps(manifest))
    changes = top(review(new, old)[0]).split("## What changes", 1)[1]
    rows = [line for line in changes.splitlines() if line.startswith("| `dbdr-data-secondary-dev` |")]
    assert "| `SecondaryCluster` | AWS::RDS::DBCluster | **⚠ DELETED, data lost** |" in rows[0]
    assert any("**stack removed**" in row for row in rows)


def test_an_unchanged_bundle_shows_no_changes_and_no_broadening(tmp_path):
    old, new = two_bundles(tmp_path)
    markdown, _ = review(new, old)
    assert "No changes: every stack, template and resource is identical." in markdown
    assert "| change | no changes against " in markdown
    assert "| risk: broadening | no broadening |" in markdown
    broadening = markdown.split("## IAM and exposure broadening", 1)[1].split("\n## ", 1)[0]
    assert broadening.strip() == "No broadening: no new or widened permission, ingress rule or public endpoint."


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout


def test_compare_with_a_git_ref_reads_the_committed_bundle(tmp_path):
    repo = tmp_path / "repo"
    queue = {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "orders"}}}
    bundle = write_tiny_bundle(repo / "templates_out", {"app": template(queue)})
    git(repo, "init", "-q")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "empty")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "bundle")
    edit(bundle, "templates/app.json", lambda doc: doc["Resources"]["Queue"]["Properties"].update(QueueName="o2"))
    result = CliRunner().invoke(cli, ["review", str(bundle), "--no-scan", "--compare", "HEAD"])
    assert result.exit_code == 0, result.output
    markdown = (bundle / "REVIEW.md").read_text()
    commit = git(repo, "rev-parse", "HEAD").strip()
    assert f"Compared with `templates_out/tiny` at git ref `HEAD` (commit {commit[:12]})" in markdown
    committed = subprocess.run(
        ["git", "-C", str(repo), "show", "HEAD:templates_out/tiny/manifest.json"], check=True, capture_output=True
    ).stdout
    assert f"manifest sha256 `{hashlib.sha256(committed).hexdigest()}`" in markdown
    assert "| `tiny-app` | global us-east-1 | `Queue` | AWS::SQS::Queue | **replaced (QueueName)** |" in markdown
    # the rollback: check the compared commit out, deploy its bundle
    assert (
        f"`git worktree add previous {commit[:12]}`, then `drgen deploy --bundle previous/templates_out/tiny "
        "--suffix t`" in markdown
    )
    # a ref without the bundle, or no ref at all, is bad input before anything is written
    for ref, message in (("HEAD~1", "is not committed at HEAD~1"), ("no-such-ref", "neither a directory nor")):
        refused = CliRunner().invoke(cli, ["review", str(bundle), "--no-scan", "--compare", ref])
        assert refused.exit_code == 2 and message in refused.output, refused.output
