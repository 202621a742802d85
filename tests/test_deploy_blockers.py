"""Issue 13: what would fail or go blind on AWS although the templates lint clean.

- An EventBridge archive under the region's customer managed key needs EventBridge in the key's policy, as AWS
  documents it (https://docs.aws.amazon.com/eventbridge/latest/userguide/encryption-archives.html): without it
  the archive cannot encrypt what it receives.
- The replication-lag alarms treat a silent metric as breaching: a lag monitor or replica that stops reporting
  alarms instead of looking healthy (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
  alarms-and-missing-data.html). They gate no failover or failback, so breaching cannot start or block one.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from drgen.scenario import PRESETS

from .conftest import REPO, resources, stack, template

ALL = sorted(PRESETS)
EVENTS = "events.amazonaws.com"
CONTEXT_KEY = "kms:EncryptionContext:aws:events:event-bus:arn"
# The documented archive policy: DescribeKey, then these three under the bus ARN as encryption context.
ARCHIVE_ACTIONS = {"kms:GenerateDataKey", "kms:Decrypt", "kms:ReEncrypt*"}
# The documented event-bus policy (eb-encryption-event-bus-cmkey.html), needed only for a bus under a CMK.
BUS_ACTIONS = {"kms:GenerateDataKey", "kms:Decrypt"}
AURORA_LAG_METRICS = {"AuroraGlobalDBReplicationLag", "AuroraGlobalDBRPOLag"}
LAG_ALARM_STEM = "-replication-lag-"  # in every lag alarm's name (routing.LAG_ALARM, alerting.LAG_MONITOR_ALARM)


def _with_archives() -> list[str]:
    return [name for name in ALL if PRESETS[name].compute.event_bus]


def _key_statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    (key,) = resources(doc, "AWS::KMS::Key").values()
    return key["Properties"]["KeyPolicy"]["Statement"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _events_statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in _key_statements(doc) if EVENTS in _as_list(s.get("Principal", {}).get("Service", []))]


def _bus_arn(bus: dict[str, Any]) -> str:
    """The ARN a bus of this name has, as a Sub pattern in its own region."""
    return (
        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/"
        + bus["Properties"]["Name"]["Fn::Sub"]
    )


# -- A: the archive's key ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", _with_archives())
def test_the_regions_key_admits_eventbridge_for_its_archive_as_aws_documents(name, bundles):
    bundle = bundles[name]
    app, foundation = template(bundle, "app"), template(bundle, "foundation")
    archives = resources(app, "AWS::Events::Archive")
    assert archives, "the scenario has an application bus, so it archives the other region's events"
    for archive in archives.values():
        props = archive["Properties"]
        bus_id = props["SourceArn"]["Fn::GetAtt"][0]
        bus = app["Resources"][bus_id]
        # The archive uses the key of its own region's foundation stack, whose policy is checked below.
        assert props["KmsKeyIdentifier"] == {"Ref": "KmsKeyArn"}
        for role in ("primary", "secondary"):
            consumer = stack(bundle, "app", role)
            source = consumer.inputs["KmsKeyArn"]
            assert source["stack"] == stack(bundle, "foundation", role).name and source["region"] == consumer.region

        found = _events_statements(foundation)
        describe = [s for s in found if _as_list(s["Action"]) == ["kms:DescribeKey"]]
        assert describe and all(s["Resource"] == ["*"] for s in describe)
        encrypt = [s for s in found if set(_as_list(s["Action"])) == ARCHIVE_ACTIONS]
        assert len(encrypt) == 1, found
        assert encrypt[0]["Condition"] == {"StringEquals": {CONTEXT_KEY: {"Fn::Sub": _bus_arn(bus)}}}


@pytest.mark.parametrize("name", _with_archives())
def test_the_application_bus_needs_no_key_statement_unless_it_uses_the_key(name, bundles):
    """AWS documents a statement for a bus under a customer managed key; drgen's bus uses the AWS owned key."""
    bundle = bundles[name]
    app, foundation = template(bundle, "app"), template(bundle, "foundation")
    for bus in resources(app, "AWS::Events::EventBus").values():
        if "KmsKeyIdentifier" not in bus["Properties"]:
            continue
        statements = [s for s in _events_statements(foundation) if set(_as_list(s["Action"])) >= BUS_ACTIONS]
        assert any(
            s.get("Condition", {}).get("StringEquals", {}).get("aws:SourceArn") == {"Fn::Sub": _bus_arn(bus)}
            for s in statements
        ), "a bus under the key needs AWS's event-bus statement (aws:SourceArn and the encryption context)"


@pytest.mark.parametrize("name", [n for n in ALL if n not in _with_archives()])
def test_a_key_without_an_archive_to_encrypt_has_no_archive_statement(name, bundles):
    statements = _events_statements(template(bundles[name], "foundation"))
    assert not [s for s in statements if "kms:DescribeKey" in _as_list(s["Action"])]
    assert not [s for s in statements if CONTEXT_KEY in json.dumps(s.get("Condition", {}))]


# -- B: lag alarms do not go blind -------------------------------------------------------------------------
def _monitor_metric() -> str:
    """The metric the lag monitor publishes, read from its code (not from the builders)."""
    source = (REPO / "lambda" / "drgen_common" / "contract.py").read_text(encoding="utf-8")
    match = re.search(r'^REPLICATION_LAG = "(\w+)"', source, re.MULTILINE)
    assert match, "lambda/drgen_common/contract.py names the lag monitor's metric REPLICATION_LAG"
    return match.group(1)


def _alarm_metrics(alarm: dict[str, Any]) -> set[str]:
    props = alarm["Properties"]
    names = {props["MetricName"]} if "MetricName" in props else set()
    for query in props.get("Metrics", []):
        metric = query.get("MetricStat", {}).get("Metric", {})
        if "MetricName" in metric:
            names.add(metric["MetricName"])
    return names


def _lag_alarms(bundle: Any) -> dict[str, dict[str, Any]]:
    lag = AURORA_LAG_METRICS | {_monitor_metric()}
    found = {}
    for path in sorted(p for p in bundle.files if p.startswith("templates/")):
        for logical, alarm in resources(json.loads(bundle.files[path]), "AWS::CloudWatch::Alarm").items():
            if _alarm_metrics(alarm) & lag:
                found[f"{path}:{logical}"] = alarm
    return found


@pytest.mark.parametrize("name", ALL)
def test_every_replication_lag_alarm_treats_a_silent_metric_as_breaching(name, bundles):
    alarms = _lag_alarms(bundles[name])
    watched = set().union(*(_alarm_metrics(a) for a in alarms.values()))
    # Aurora's own lag and the lag monitor's measure are both alarmed: a monitor that stops publishing alarms.
    assert {"AuroraGlobalDBReplicationLag", _monitor_metric()} <= watched, sorted(alarms)
    for where, alarm in alarms.items():
        assert alarm["Properties"].get("TreatMissingData") == "breaching", where


@pytest.mark.parametrize("name", ALL)
def test_the_heartbeat_alarm_watches_where_the_lag_monitor_publishes(name, bundles):
    """Namespace and region: the DR region's lag monitor publishes to its METRICS_NAMESPACE; the alarm is there."""
    bundle = bundles[name]
    functions = resources(template(bundle, "app"), "AWS::Lambda::Function").values()
    (monitor,) = [f for f in functions if "lag-monitor" in json.dumps(f["Properties"].get("FunctionName"))]
    namespace = monitor["Properties"]["Environment"]["Variables"]["METRICS_NAMESPACE"]
    alarms = [a for a in _lag_alarms(bundle).values() if _monitor_metric() in _alarm_metrics(a)]
    assert alarms
    for alarm in alarms:
        assert alarm["Properties"]["Namespace"] == namespace
        assert alarm.get("Condition") == "IsSecondary"  # the replica's region; the primary's writer publishes none


@pytest.mark.parametrize("name", ALL)
def test_no_health_check_rule_or_function_follows_a_lag_alarm(name, bundles):
    """Why breaching is safe: Route 53, the failover and failback triggers and the functions (the guard, confirm
    and readiness read the lag metric itself) never read a lag alarm's state."""
    bundle = bundles[name]
    alarm_names = [json.dumps(a["Properties"]["AlarmName"]) for a in _lag_alarms(bundle).values()]
    assert alarm_names and all(LAG_ALARM_STEM in n for n in alarm_names)
    for path in (p for p in bundle.files if p.startswith("templates/")):
        doc = json.loads(bundle.files[path])
        readers = [
            *(c["Properties"]["HealthCheckConfig"] for c in resources(doc, "AWS::Route53::HealthCheck").values()),
            *(r["Properties"] for r in resources(doc, "AWS::Events::Rule").values()),
            *(f["Properties"].get("Environment", {}) for f in resources(doc, "AWS::Lambda::Function").values()),
        ]
        assert not [r for r in readers if LAG_ALARM_STEM in json.dumps(r)], path
