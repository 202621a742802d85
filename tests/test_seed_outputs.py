"""The outputs the seeds ask for, in one place: the global stack (drgen/builders/summary.py), and `drgen outputs`.

Each preset's list quotes the seed line it comes from; every scenario also gets what the issue asks of all of
them (endpoint URLs, health-check ids, the failover state machine and functions, the dashboard). The failover
ARNs are composed by name because the global stack deploys before the orchestration layer: they are held here
against the names the orchestration template gives, an independent source.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from drgen.builders.failover_definition import substitution
from drgen.lambda_functions import failover_steps
from drgen.lint import lint_template
from drgen.main import cli
from drgen.render import render
from drgen.scenario import PRESETS, load

from .conftest import stack, template
from .test_seed_coverage import normalised, seeds_dir

ALL = sorted(PRESETS)
ACCOUNT = "123456789012"
PSEUDO = {"AWS::AccountId", "AWS::Partition", "AWS::Region", "AWS::StackName", "AWS::StackId", "AWS::URLSuffix"}
APP_ENDPOINTS = {"EndpointUrl", "PrimaryEndpointUrl", "SecondaryEndpointUrl"}
HEALTH_CHECK_IDS = {"PrimaryHealthCheckId", "SecondaryHealthCheckId"}
FAILOVER = {"FailoverStateMachineArn"}  # plus one ARN per failover function: _failover_functions()

# preset -> (seed file, the seed's line, the outputs that line asks for)
SEED_ASKS: dict[str, tuple[str, str, set[str]]] = {
    "trading-ecs": (
        "000_237b179a93b68767.txt",
        "Exported outputs: primary endpoint URL, DR endpoint URL, health check IDs, failover Lambda ARNs",
        {"EndpointUrl", "PrimaryEndpointUrl", "SecondaryEndpointUrl", *HEALTH_CHECK_IDS, "FailoverFunctions"},
    ),
    "trading-asg": (
        "001_4c3c85e4004c685d.txt",
        "Export outputs for primary endpoint, secondary endpoint, health check URLs, and dashboard URL",
        {
            "PrimaryEndpointUrl",
            "SecondaryEndpointUrl",
            "PrimaryHealthCheckUrl",
            "SecondaryHealthCheckUrl",
            "DashboardUrl",
        },
    ),
    "healthcare-lambda": (
        "002_0c20decab77291fd.txt",
        "Primary endpoint URL (Route53 FQDN) / Failover endpoint URL (us-west-2 ALB) / Global database cluster "
        "identifier / S3 bucket names for both regions / VPC peering connection ID / CloudWatch dashboard URL",
        {
            "EndpointUrl",
            "SecondaryEndpointUrl",
            "GlobalClusterIdentifier",
            "PrimaryAssetsBucketName",
            "SecondaryAssetsBucketName",
            "PeeringConnectionId",
            "DashboardUrl",
        },
    ),
    # 003 names no outputs ("Stack outputs" nowhere); it gets what every scenario gets.
    "trading-serverless": ("003_01dd9c516467c4d3.txt", "", set()),
    "database-dr": (
        "004_ee8bb4a8ebf7285a.txt",
        "Stack exports including: primary and secondary database endpoints, S3 bucket names, Route 53 hosted zone "
        "ID, **database secret ARN**",
        {
            "PrimaryDatabaseEndpoint",
            "SecondaryDatabaseEndpoint",
            "PrimaryBackupsBucketName",
            "SecondaryBackupsBucketName",
            "HostedZoneId",
            "DatabaseSecretArn",
        },
    ),
}
# Where an output's value comes from when it is another stack's output: (layer, role, output).
FED = {
    "PrimaryDatabaseEndpoint": ("data", "primary", "ClusterEndpoint"),
    "SecondaryDatabaseEndpoint": ("data", "secondary", "ClusterEndpoint"),
    "DatabaseSecretArn": ("data", "primary", "DatabaseSecretArn"),
    "GlobalClusterIdentifier": ("data", "primary", "GlobalClusterIdentifier"),
    "PeeringConnectionId": ("foundation", "primary", "PeeringConnectionId"),
}


def _failover_functions(name: str) -> set[str]:
    return {substitution(spec.key) for spec in failover_steps(PRESETS[name])}


def required(name: str) -> set[str]:
    """What the preset's seed line asks for, plus what every scenario gets."""
    scenario = PRESETS[name]
    asked = set(SEED_ASKS[name][2])
    if "FailoverFunctions" in asked:
        asked = (asked - {"FailoverFunctions"}) | _failover_functions(name)
    every = HEALTH_CHECK_IDS | FAILOVER | _failover_functions(name)
    if scenario.compute.kind.value != "connectivity":
        every |= APP_ENDPOINTS
    if scenario.alerting.dashboard:
        every |= {"DashboardUrl"}
    return asked | every


def listed(doc: dict[str, Any]) -> list[str]:
    return doc["Outputs"]["SeedOutputs"]["Value"].split(",")


# -- every output the seed asks for ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_the_global_stack_has_every_output_its_seed_asks_for(name, bundles):
    doc = template(bundles[name], "global")
    missing = required(name) - set(doc["Outputs"])
    assert not missing, f"{SEED_ASKS[name][0]}: {SEED_ASKS[name][1]!r} -> missing {sorted(missing)}"
    seed_outputs = listed(doc)
    assert required(name) <= set(seed_outputs) and len(seed_outputs) == len(set(seed_outputs))
    for output in seed_outputs:
        # exported under a name that carries the scenario's prefix and suffix (exports are per account and region)
        assert doc["Outputs"][output]["Export"]["Name"] == f"{PRESETS[name].prefix}-{output}-dev", output


@pytest.mark.parametrize("name", [n for n in ALL if SEED_ASKS[n][1]])
def test_each_quoted_line_is_the_seeds_own(name):
    path = seeds_dir() / SEED_ASKS[name][0]
    if not path.exists():
        pytest.skip(f"the seeds are not next to the checkout ({path})")
    text = normalised(path.read_text(encoding="utf-8"))
    for part in SEED_ASKS[name][1].split(" / "):
        assert normalised(part) in text, part


@pytest.mark.parametrize("name", ALL)
def test_every_output_value_resolves(name, bundles):
    doc = template(bundles[name], "global")
    for output, spec in doc["Outputs"].items():
        if "Condition" in spec:
            assert spec["Condition"] in doc.get("Conditions", {}), output
        for ref in _references(spec["Value"]):
            assert ref in doc["Resources"] or ref in doc.get("Parameters", {}) or ref in PSEUDO, (output, ref)


def _references(value: Any, local: frozenset[str] = frozenset()) -> list[str]:
    """Every logical id or parameter a value names through Ref, GetAtt or a Sub variable."""
    if isinstance(value, list):
        return [r for item in value for r in _references(item, local)]
    if not isinstance(value, dict):
        return []
    if "Ref" in value:
        return [value["Ref"]]
    if "Fn::GetAtt" in value:
        return [value["Fn::GetAtt"][0]]
    if "Fn::Sub" in value:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        names = [n.split(".")[0] for n in re.findall(r"\$\{(?!!)([^}]+)\}", text) if n not in variables]
        return names + _references(list(variables.values()), local)
    return [r for item in value.values() for r in _references(item, local)]


@pytest.mark.parametrize("name", ALL)
def test_outputs_fed_from_other_stacks_come_from_the_right_one(name, bundles):
    bundle = bundles[name]
    doc, entry = template(bundle, "global"), stack(bundle, "global", "global")
    for output, (layer, role, source) in FED.items():
        if output not in doc["Outputs"]:
            continue
        parameter = doc["Outputs"][output]["Value"]["Ref"]
        fed = entry.inputs[parameter]
        assert fed["stack"] == stack(bundle, layer, role).name and fed["output"] == source, output
    for role in ("primary", "secondary"):
        title = role.capitalize()
        for bucket in PRESETS[name].buckets:
            output = f"{title}{bucket.purpose.capitalize()}BucketName"
            fed = entry.inputs[doc["Outputs"][output]["Value"]["Ref"]]
            assert fed["stack"] == stack(bundle, "foundation", role).name, output
        if f"{title}EndpointUrl" in doc["Outputs"]:
            value = doc["Outputs"][f"{title}EndpointUrl"]["Value"]["Fn::Sub"]
            assert value[0] == "https://${Name}"
            fed = entry.inputs[value[1]["Name"]["Ref"]]
            assert (fed["stack"], fed["output"]) == (stack(bundle, "app", role).name, "HealthCheckFqdn")
    if "EndpointUrl" in doc["Outputs"]:
        routing = PRESETS[name].routing
        assert doc["Outputs"]["EndpointUrl"]["Value"] == f"https://{routing.record}.{routing.domain}"


# -- the composed ARNs are what the orchestration stack creates -----------------------------------------
def _resolve(value: Any) -> str:
    """A Sub of pseudo parameters only, as CloudFormation resolves it in the commercial partition."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    assert isinstance(text, str), value
    return text.replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", ACCOUNT)


def _named(orchestration: dict[str, Any], output: str, prop: str) -> tuple[str, dict[str, Any]]:
    """The name the orchestration template gives the resource behind one of its own outputs."""
    value = orchestration["Outputs"][output]["Value"]
    logical = value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]
    resource = orchestration["Resources"][logical]
    return resource["Properties"][prop], resource


@pytest.mark.parametrize("name", ALL)
def test_composed_failover_arns_match_the_orchestration_templates_names(name, bundles):
    bundle = bundles[name]
    glob, orchestration = template(bundle, "global"), template(bundle, "orchestration")
    region = stack(bundle, "orchestration", "secondary").region
    machine, resource = _named(orchestration, "FailoverStateMachineArn", "StateMachineName")
    assert resource["Condition"] == "IsSecondary"
    expected = f"arn:aws:states:{region}:{ACCOUNT}:stateMachine:{machine}"
    assert _resolve(glob["Outputs"]["FailoverStateMachineArn"]["Value"]) == expected
    for output in _failover_functions(name):
        function, resource = _named(orchestration, output, "FunctionName")
        assert resource["Condition"] == "IsSecondary", output
        expected = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function}"
        assert _resolve(glob["Outputs"][output]["Value"]) == expected, output


# -- the dashboard is optional ------------------------------------------------------------------------------
def test_a_scenario_without_a_dashboard_lists_no_dashboard_url():
    base = load("trading-ecs", suffix="dev")
    scenario = dataclasses.replace(base, alerting=dataclasses.replace(base.alerting, dashboard=False))
    doc = json.loads(render(scenario).files["templates/global.json"])
    assert "DashboardUrl" not in doc["Outputs"] and "DashboardUrl" not in listed(doc)
    assert required("trading-ecs") - {"DashboardUrl"} <= set(listed(doc))


# -- cfn-lint -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_the_global_template_lints_clean(name, bundles, tmp_path):
    bundle = bundles[name]
    path = tmp_path / "global.json"
    path.write_bytes(bundle.files["templates/global.json"])
    assert lint_template(path, bundle.template_regions["templates/global.json"]) == []


# -- drgen outputs --------------------------------------------------------------------------------------------
def _record(tmp_path: Path) -> None:
    """A deployment record as `drgen deploy` writes it (drgen/deploy/record.py), by hand."""
    stacks = [
        {
            "name": "dbdr-foundation-secondary-t",
            "layer": "foundation",
            "role": "secondary",
            "region": "eu-west-1",
            "status": "CREATE_COMPLETE",
            "outcome": "created",
            "reason": "",
            "template_sha256": "a",
            "seconds": 1.0,
            "outputs": {"KmsKeyArn": "arn:aws:kms:eu-west-1:1:key/k"},
        },
        {
            "name": "dbdr-global-t",
            "layer": "global",
            "role": "global",
            "region": "us-east-1",
            "status": "CREATE_COMPLETE",
            "outcome": "created",
            "reason": "",
            "template_sha256": "b",
            "seconds": 2.0,
            "outputs": {
                "SeedOutputs": "PrimaryDatabaseEndpoint,DatabaseSecretArn,DashboardUrl",
                "DashboardUrl": "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=d",
                "DatabaseSecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:s",
                "GlobalAlertTopicArn": "arn:aws:sns:us-east-1:1:t",
                "PrimaryDatabaseEndpoint": "p.cluster.example",
            },
        },
    ]
    record = {
        "format": 1,
        "scenario": "database-dr",
        "suffix": "t",
        "mode": "stacks",
        "endpoint": None,
        "account": "1",
        "regions": ["us-east-1", "eu-west-1"],
        "operation": "deploy",
        "updated": "2024-01-01T00:00:00Z",
        "stacks": stacks,
    }
    (tmp_path / ".drgen").mkdir()
    (tmp_path / ".drgen" / "database-dr-t.json").write_text(json.dumps(record), encoding="utf-8")


def test_drgen_outputs_shows_the_seed_outputs_first_then_the_rest(tmp_path, monkeypatch):
    _record(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["outputs", "-s", "database-dr", "--suffix", "t", "--from-record"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    heading = lines.index("Seed outputs (dbdr-global-t, us-east-1):")
    seeds = [line.split(" = ")[0].strip() for line in lines[heading + 1 : heading + 4]]
    assert seeds == ["PrimaryDatabaseEndpoint", "DatabaseSecretArn", "DashboardUrl"]  # in the listed order
    rest = lines[heading + 4 :]
    assert rest[0] == "Stacks:"
    text = "\n".join(rest)
    assert "KmsKeyArn = arn:aws:kms:eu-west-1" in text and "GlobalAlertTopicArn = " in text
    assert "DatabaseSecretArn" not in text and "SeedOutputs" not in text  # shown once, the index not at all
