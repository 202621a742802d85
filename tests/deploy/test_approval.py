"""deploy asks before it broadens IAM permissions or exposure, as `cdk deploy --require-approval broadening` does.

CDK's rule (RequireApproval.BROADENING, AWS CDK API reference): "only prompt for approval if there are security
related changes". drgen compares each stack's template with the one its deployed stack holds (GetTemplate:
"CloudFormation returns the same template that was used when the stack was created", CloudFormation API
reference). The expected grant below is the test's own edit, not something read from drgen.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from drgen.errors import DECLINED_EXIT
from drgen.main import cli
from drgen.render import render, write_bundles
from drgen.scenario import load
from tests.deploy.conftest import client, stacks_left

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # moto's own notes on error shapes

SUFFIX = "ap"
REGIONS = {stack.region for stack in render(load("database-dr", suffix=SUFFIX)).stacks}
GLOBAL_TEMPLATE = "templates/global.json"
WIDENED = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}


def _widened_bundle(out: Path) -> Path:
    """database-dr with one more statement in the global stack's role, re-hashed as a careless edit would be."""
    [path] = write_bundles([render(load("database-dr", suffix=SUFFIX))], out)
    template = path / GLOBAL_TEMPLATE
    document = json.loads(template.read_text())
    role = next(r for r in document["Resources"].values() if r["Type"] == "AWS::IAM::Role")
    role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(WIDENED)
    data = json.dumps(document, indent=1).encode()
    template.write_bytes(data)
    manifest = json.loads((path / "manifest.json").read_text())
    for stack in manifest["stacks"]:
        if stack["template"] == GLOBAL_TEMPLATE:
            stack["sha256"] = hashlib.sha256(data).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def test_deploy_asks_before_it_broadens_and_not_when_nothing_broadens(sandbox, tmp_path):
    runner = CliRunner()
    target = ["--suffix", SUFFIX, "--endpoint-url", sandbox, "--skip-quota-check"]
    preset = ["deploy", "-s", "database-dr", *target]

    unasked = runner.invoke(cli, [*preset, "--yes"])  # --yes answers the recreate question, not this one
    assert unasked.exit_code == DECLINED_EXIT, unasked.output
    assert "deploy: this deploy broadens IAM permissions or network exposure:" in unasked.output
    assert "could not be asked (no terminal): pass --require-approval never to go ahead" in unasked.output
    assert stacks_left(sandbox, REGIONS) == {}  # asked before anything was created

    declined = runner.invoke(cli, preset, input="n\n")
    assert declined.exit_code == DECLINED_EXIT and "declined; nothing changed" in declined.output
    assert stacks_left(sandbox, REGIONS) == {}

    first = runner.invoke(cli, preset, input="y\n")
    assert first.exit_code == 0, first.output
    assert "  + IAM role AlarmForwardingRole (dbdr-global-ap): Allow" in first.output  # a first deploy lists all
    assert "deploy: 9 stack(s): 9 created" in first.output
    assert stacks_left(sandbox, REGIONS)  # the empty checks above could see stacks

    again = runner.invoke(cli, preset)  # the deployed templates grant the same: nothing to ask
    assert again.exit_code == 0, again.output
    assert "broadens" not in again.output

    widened = _widened_bundle(tmp_path / "out")
    bundle = ["deploy", "--bundle", str(widened), *target]
    asked = runner.invoke(cli, bundle)
    assert asked.exit_code == DECLINED_EXIT, asked.output
    listed = [line for line in asked.output.splitlines() if line.startswith("  ")]
    assert listed == ["  + IAM role AlarmForwardingRole (dbdr-global-ap): Allow s3:* on *  [wildcard]"]
    assert "1 new grant(s) (1 with a wildcard), 0 Deny grant(s) removed, 0 new ingress" in asked.output
    before = client(sandbox, "cloudformation", "us-east-1").get_template(StackName="dbdr-global-ap")
    assert "s3:*" not in json.dumps(before["TemplateBody"])  # declined: not deployed

    approved = runner.invoke(cli, [*bundle, "--require-approval", "never"])
    assert approved.exit_code == 0, approved.output
    assert "broadens" not in approved.output
    after = client(sandbox, "cloudformation", "us-east-1").get_template(StackName="dbdr-global-ap")
    assert WIDENED in _statements(after["TemplateBody"])

    assert runner.invoke(cli, bundle).exit_code == 0  # now deployed: the same bundle broadens nothing


def _statements(document: dict) -> list[dict]:
    return [
        statement
        for resource in document["Resources"].values()
        if resource["Type"] == "AWS::IAM::Role"
        for policy in resource["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]
