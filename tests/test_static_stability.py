"""Static stability: the DR region's own trigger, the data-plane DNS shift, lint rule E9010, failover_path()."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from drgen.bundle.manifest import serialize
from drgen.bundle.reader import from_files
from drgen.lint import lint_template
from drgen.operate import lambdas
from drgen.render import render
from drgen.scenario.loader import resolve_suffix
from drgen.scenario.model import ComputeKind, HealthCheckType
from drgen.scenario.presets import PRESETS
from drgen.stability import failover_path, primary_dependencies

RULE = "E9010"


@pytest.fixture(scope="module", params=sorted(PRESETS))
def bundle(request: pytest.FixtureRequest) -> Any:
    return render(resolve_suffix(PRESETS[request.param], "dev"))


def _template(bundle: Any, layer: str) -> dict[str, Any]:
    return json.loads(bundle.files[f"templates/{layer}.json"])


def test_the_failover_path_needs_nothing_from_the_primary_region(bundle: Any) -> None:
    rows = failover_path(from_files(bundle.files, "test"))
    assert primary_dependencies(rows) == []
    primary = bundle.scenario.regions.primary
    # What does touch the primary (or us-east-1) is failback-only, a switchover (which needs the primary up), best
    # effort or a second way the failover survives without.
    assert {r["when"] for r in rows if r["region"] in (primary, "us-east-1")} <= {
        "failback only",
        "switchover only",
        "second way",
        "best effort",
    }
    components = {r["component"] for r in rows}
    assert {"ProbeFailoverTrigger", "FailoverTrigger", "FailoverEngagedAlarm", "PrimaryRecordHealthCheck"} <= components
    needs = {(r["component"], r["needs"], r["where"]) for r in rows}
    assert {
        ("FailoverDns", "dynamodb:PutItem", "dr"),
        ("FailoverDns", "cloudwatch:PutMetricData", "dr"),
        ("EngagedSignal", "cloudwatch:PutMetricData", "dr"),
    } <= needs


def test_the_dr_region_probes_the_primary_like_route53_and_its_alarm_starts_the_failover(bundle: Any) -> None:
    resources = _template(bundle, "orchestration")["Resources"]
    scenario = bundle.scenario
    env = resources["PrimaryProbeFunction"]["Properties"]["Environment"]["Variables"]
    check = scenario.routing.health_check
    if scenario.compute.kind is ComputeKind.CONNECTIVITY:
        assert env["PROBE_TARGET"]["Fn::Join"][1][0] == "tcp://"
        assert "VpcConfig" in resources["PrimaryProbeFunction"]["Properties"]
    else:
        assert env["PROBE_TARGET"]["Fn::Join"][1] == ["https://", {"Ref": "PrimaryHealthCheckFqdn"}, check.path]
        wanted = check.search_string if check.type is HealthCheckType.HTTPS_STR_MATCH else ""
        assert env["SEARCH_STRING"] == wanted
    assert resources["PrimaryProbeSchedule"]["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    alarm = resources["PrimaryProbeAlarm"]["Properties"]
    # A 10-second period needs a high-resolution metric: the probe samples every 10 s within each one-minute run
    # and publishes with StorageResolution 1 (CloudWatch's rule for high-resolution alarms).
    probe_app = lambdas.module("probe", "app")
    assert alarm["MetricName"] == probe_app.PRIMARY_ENDPOINT_HEALTHY and alarm["Period"] == 10
    assert probe_app.HIGH_RESOLUTION == 1
    samples, interval = int(env["SAMPLES"]), float(env["SAMPLE_INTERVAL_SECONDS"])
    assert interval == alarm["Period"] and samples * interval == 60  # every period of the minute has a probe
    # M failed periods of N: never a single lost probe; a data-losing failover still waits for a second signal.
    assert alarm["EvaluationPeriods"] >= alarm["DatapointsToAlarm"] >= 2
    assert alarm["TreatMissingData"] == "missing"  # a probe that stopped says nothing about the primary
    trigger = resources["ProbeFailoverTrigger"]
    assert trigger["Condition"] == "IsSecondary"
    assert trigger["Properties"]["EventPattern"]["detail"]["alarmName"] == [{"Ref": "PrimaryProbeAlarm"}]
    assert trigger["Properties"]["Targets"] == resources["FailoverTrigger"]["Properties"]["Targets"]


def test_the_primary_record_also_needs_the_dr_regions_engaged_alarm(bundle: Any) -> None:
    resources = _template(bundle, "global")["Resources"]
    record = resources["PrimaryFailoverRecord"]["Properties"]
    assert record["HealthCheckId"] == {"Ref": "PrimaryRecordHealthCheck"}
    gate = resources["PrimaryRecordHealthCheck"]["Properties"]["HealthCheckConfig"]
    children = [child["Ref"] for child in gate["ChildHealthChecks"]]
    assert gate["Type"] == "CALCULATED" and gate["HealthThreshold"] == len(children)
    assert "FailoverEngagedHealthCheck" in children
    assert all(resources[c]["Properties"]["HealthCheckConfig"]["Type"] != "CALCULATED" for c in children)
    engaged = resources["FailoverEngagedHealthCheck"]["Properties"]["HealthCheckConfig"]
    assert engaged["AlarmIdentifier"]["Region"] == bundle.scenario.regions.secondary
    # Route 53 follows the data stream: a dry stream keeps the last status instead of reopening the primary.
    assert engaged["InsufficientDataHealthStatus"] == "LastKnownStatus"
    # Never invert a check: NOT(primary AND not-engaged) is healthy exactly when the primary is down.
    assert not any(
        r["Properties"]["HealthCheckConfig"].get("Inverted")
        for r in resources.values()
        if r["Type"] == "AWS::Route53::HealthCheck"
    )
    # The alarm exists in the DR data stack (deployed before the global stack) under the name Route 53 looks up.
    data_alarm = _template(bundle, "data")["Resources"]["FailoverEngagedAlarm"]
    assert data_alarm["Condition"] == "IsSecondary"
    name = data_alarm["Properties"]["AlarmName"]["Fn::Sub"].replace("${AWS::Region}", bundle.scenario.regions.secondary)
    assert name == engaged["AlarmIdentifier"]["Name"]
    # Something in the DR region publishes that metric every minute, from the control table: the engaged signal.
    orchestration = _template(bundle, "orchestration")["Resources"]
    schedule = orchestration["EngagedSignalSchedule"]
    assert schedule["Condition"] == "IsSecondary" and schedule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    signal = orchestration[schedule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]]["Properties"]
    assert signal["Handler"] == "engaged.handler"
    assert signal["Environment"]["Variables"]["CONTROL_TABLE"] == {"Ref": "FailoverControlTable"}
    metrics = lambdas.shared("contract")  # what lambda/failover/engaged.py publishes, from the code's contract
    assert data_alarm["Properties"]["MetricName"] == metrics.FAILOVER_ENGAGED
    assert data_alarm["Properties"]["Namespace"] == signal["Environment"]["Variables"]["METRICS_NAMESPACE"]
    assert data_alarm["Properties"]["Period"] == 60 and data_alarm["Properties"]["Statistic"] == "Maximum"
    # The us-east-1 alarm (a failover trigger) keeps watching the endpoint check, not the engaged gate.
    dimension = resources["PrimaryHealthCheckAlarm"]["Properties"]["Dimensions"][0]["Value"]
    assert dimension == {"Ref": "PrimaryHealthCheck"}


# -- lint rule E9010 ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def orchestration() -> tuple[dict[str, Any], tuple[str, ...]]:
    scenario = resolve_suffix(PRESETS["trading-serverless"], "dev")  # us-east-1 is the primary
    files = render(scenario).files
    return json.loads(files["templates/orchestration.json"]), (scenario.regions.primary, scenario.regions.secondary)


def _lint(tmp_path: Path, template: dict[str, Any], regions: tuple[str, ...]) -> list[Any]:
    path = tmp_path / "orchestration.json"
    path.write_bytes(serialize(template))
    return [f for f in lint_template(path, regions) if f.rule == RULE]


def test_e9010_accepts_the_rendered_failover_path(tmp_path: Path, orchestration: Any) -> None:
    template, regions = orchestration
    assert _lint(tmp_path, template, regions) == []


def test_e9010_flags_a_primary_region_call_and_a_failover_only_the_primary_can_trigger(
    tmp_path: Path, orchestration: Any
) -> None:
    template, regions = orchestration
    bad = copy.deepcopy(template)
    statements = bad["Resources"]["FailoverScaleRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements.append(
        {
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:ssm:${PeerRegion}:${AWS::AccountId}:parameter/x"}],
        }
    )
    bad["Resources"]["FailoverDnsFunction"]["Properties"]["Environment"]["Variables"]["PEER"] = {"Ref": "PeerRegion"}
    del bad["Resources"]["ProbeFailoverTrigger"]
    findings = _lint(tmp_path, bad, regions)
    messages = sorted(f.message for f in findings)
    assert len(findings) == 3
    assert any(m.startswith("FailoverDnsFunction") and "Ref PeerRegion" in m for m in messages)
    assert any(m.startswith("FailoverScaleRole") and "${PeerRegion}" in m for m in messages)
    assert any(m.startswith("no trigger of FailoverStateMachine lives in the DR region") for m in messages)
    assert {f.severity for f in findings} == {"error"}


def test_e9010_accepts_a_primary_reference_whose_failback_use_is_explained(tmp_path: Path, orchestration: Any) -> None:
    template, regions = orchestration
    promote = template["Resources"]["FailoverPromoteRole"]
    assert "${PeerRegion}" in json.dumps(promote["Properties"])  # the failback target: the primary's cluster
    unexplained = copy.deepcopy(template)
    del unexplained["Resources"]["FailoverPromoteRole"]["Metadata"]
    assert [f.message.split()[0] for f in _lint(tmp_path, unexplained, regions)] == ["FailoverPromoteRole"]
