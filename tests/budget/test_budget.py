"""drgen budget: terms read from the rendered templates, their sources, the verdicts and the command."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from drgen.budget import budget_for_bundle, budget_json
from drgen.errors import DrgenError
from drgen.main import cli
from drgen.render import write_bundles
from drgen.scenario import PRESETS
from tests.hand_made import put_template

ALL = sorted(PRESETS)


def _template(files: dict[str, bytes], stack_name: str) -> tuple[str, dict[str, Any]]:
    manifest = json.loads(files["manifest.json"])
    path = next(s["template"] for s in manifest["stacks"] if s["name"] == stack_name)
    return path, json.loads(files[path])


def _detection(budget: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in budget["rto"]["terms"] if t["phase"] == "detect"]


def _expected(resource: dict[str, Any]) -> int:
    """A detection term's seconds, computed here from the template's own properties."""
    props = resource["Properties"]
    if resource["Type"] == "AWS::Route53::HealthCheck":
        config = props["HealthCheckConfig"]
        return config["RequestInterval"] * config["FailureThreshold"]
    return props["Period"] * props.get("DatapointsToAlarm", props["EvaluationPeriods"])


def _shorten(resource: dict[str, Any]) -> None:
    """Make a detection resource faster (so its path stays the fastest trigger)."""
    props = resource["Properties"]
    if resource["Type"] == "AWS::Route53::HealthCheck":
        props["HealthCheckConfig"]["FailureThreshold"] = 1
        props["HealthCheckConfig"]["RequestInterval"] = 10
    else:
        props["Period"] = 10
        props["EvaluationPeriods"] = props["DatapointsToAlarm"] = 1


@pytest.fixture(scope="module")
def budgets(bundles) -> dict[str, dict[str, Any]]:
    return {name: budget_for_bundle(bundle.files) for name, bundle in bundles.items()}


@pytest.mark.parametrize("name", ALL)
def test_detection_is_read_from_the_template_and_follows_an_edit(name, bundles, budgets):
    files = dict(bundles[name].files)
    terms = _detection(budgets[name])
    assert terms, "every preset detects a failure before the trigger fires"
    for term in terms:
        _, document = _template(files, term["source"]["stack"])
        assert term["seconds"] == _expected(document["Resources"][term["source"]["resource"]])

    edited = terms[0]["source"]
    path, document = _template(files, edited["stack"])
    _shorten(document["Resources"][edited["resource"]])
    put_template(files, path, document)
    after = {t["source"]["resource"]: t for t in _detection(budget_for_bundle(files))}
    assert after[edited["resource"]]["seconds"] == _expected(document["Resources"][edited["resource"]])
    assert after[edited["resource"]]["seconds"] < terms[0]["seconds"]


@pytest.mark.parametrize("name", ALL)
def test_every_term_has_a_source_in_the_bundle(name, bundles, budgets):
    files = bundles[name].files
    for part in ("rto", "rpo"):
        assert budgets[name][part]["terms"]
        for term in budgets[name][part]["terms"]:
            source = term["source"]
            path, document = _template(files, source["stack"])
            assert source["template"] == path
            assert source["resource"] in document["Resources"], term["name"]
            assert source["property"]
            if "aws" in term:
                assert term["aws"]["url"].startswith("https://docs.aws.amazon.com/")
                assert term["aws"]["documented"]


@pytest.mark.parametrize("name", ALL)
def test_json_round_trips_and_is_deterministic(name, bundles, budgets):
    data = budget_json(budgets[name])
    assert json.loads(data) == budgets[name]
    assert budget_json(budget_for_bundle(bundles[name].files)) == data
    assert data.endswith(b"\n")


def test_rto_adds_phases_and_takes_the_longest_branch(budgets):
    rto = budgets["trading-ecs"]["rto"]
    serial = sum(t["seconds"] for t in rto["terms"] if "branch" not in t)
    branches: dict[str, int] = {}
    for term in rto["terms"]:
        if "branch" in term:
            branches[term["branch"]] = branches.get(term["branch"], 0) + term["seconds"]
    assert set(branches) == {"writer", "dns", "capacity"}
    assert rto["seconds"] == serial + max(branches.values())


def _with_grace(bundle_files: dict[str, bytes], seconds: int) -> dict[str, Any]:
    """The trading-ecs budget after editing the DR service's health-check grace period in its template."""
    files = dict(bundle_files)
    path, document = _template(files, "trading-ecs-app-secondary-dev")
    document["Resources"]["EcsService"]["Properties"]["HealthCheckGracePeriodSeconds"] = seconds
    put_template(files, path, document)
    return budget_for_bundle(files)["rto"]


def test_the_scale_out_runs_while_aurora_promotes(bundles, budgets):
    """The machine scales right after starting the promotion: the scale-out overlaps the promotion poll and the
    steps after it, so a longer start-up only counts once it outlasts that branch."""
    rto = budgets["trading-ecs"]["rto"]
    steps = [t["name"] for t in rto["terms"] if t["phase"] == "orchestrate"]
    assert steps == ["step Guard", "step Confirm", "step Promote", "step Scale"]
    writer = [t for t in rto["terms"] if t.get("branch") == "writer"]
    assert writer[0]["name"].startswith("Aurora promotion") and writer[-1]["name"] == "step NotifySuccess"
    assert "step NotifyFailure" not in [t["name"] for t in writer]  # the success path, not the failure notice
    elapsed = sum(t["seconds"] for t in rto["terms"] if "branch" not in t)
    others = max(sum(t["seconds"] for t in writer), _dns(budgets["trading-ecs"])["seconds"])
    capacity = sum(t["seconds"] for t in rto["terms"] if t.get("branch") == "capacity")
    grace = next(t for t in rto["terms"] if t["name"].endswith("start-up allowance"))["seconds"]
    even = grace - (capacity - others)  # the grace period that makes the scale-out exactly as long as the rest
    assert even > 0
    assert _with_grace(bundles["trading-ecs"].files, even - 20)["seconds"] == elapsed + others  # hidden
    assert _with_grace(bundles["trading-ecs"].files, even)["seconds"] == elapsed + others
    assert _with_grace(bundles["trading-ecs"].files, even + 30)["seconds"] == elapsed + others + 30  # it counts


def _dns(budget: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in budget["rto"]["terms"] if t["name"].endswith("by resolvers"))


def test_dns_term_is_the_alias_cache_not_the_scenario_ttl(bundles, budgets):
    """An alias failover record is cached for its target's 60 s whatever the scenario's TTL; a CNAME (routing.alias
    false: trading-serverless) for its own TTL, read from the template."""
    assert PRESETS["trading-ecs"].routing.alias
    dns = _dns(budgets["trading-ecs"])
    assert dns["formula"].startswith("alias record: the target's TTL") and dns["source"]["property"] == "AliasTarget"
    assert _dns(budgets["healthcare-lambda"])["formula"].startswith("alias record")
    files = bundles["trading-serverless"].files
    record = _template(files, "trading-sls-global-dev")[1]["Resources"]["PrimaryFailoverRecord"]["Properties"]
    assert record["Type"] == "CNAME" and "AliasTarget" not in record
    cname = _dns({"rto": budgets["trading-serverless"]["rto"]["processing"]})
    assert cname["formula"].startswith(f"TTL {int(record['TTL'])} s") and cname["source"]["property"] == "TTL"
    database_dns = _dns(budgets["database-dr"])
    assert database_dns["formula"].startswith("TTL 30 s") and database_dns["source"]["property"] == "TTL"


def test_dns_moves_when_the_gate_fails_not_after_the_promotion(bundles, budgets):
    """Issue 14 (a): the PRIMARY record's gate fails with the primary's own check, so resolvers' caches run from
    then, beside the promotion: the recover phase takes the longest branch. Edit the record's TTL: the branch and,
    once it is the longest, the RTO follow."""
    before = budgets["database-dr"]["rto"]
    files = dict(bundles["database-dr"].files)
    path, document = _template(files, "dbdr-global-dev")
    document["Resources"]["PrimaryFailoverRecord"]["Properties"]["TTL"] = "900"
    put_template(files, path, document)
    after = budget_for_bundle(files)["rto"]
    connectivity = _template(files, "dbdr-data-primary-dev")[1]["Resources"]["DatabaseConnectivityAlarm"]
    fails = _expected(connectivity)  # the primary's connectivity alarm gates the record: Period x DatapointsToAlarm
    elapsed = sum(t["seconds"] for t in after["terms"] if "branch" not in t)
    assert _dns({"rto": after})["seconds"] == fails + 900 - elapsed
    assert after["seconds"] == elapsed + fails + 900 - elapsed > before["seconds"]
    writer = sum(t["seconds"] for t in before["terms"] if t.get("branch") == "writer")
    assert before["seconds"] == elapsed + max(writer, _dns({"rto": before})["seconds"])  # not writer + DNS


def _edited(files: dict[str, bytes], stack: str, change: Any, *more: tuple[str, Any]) -> dict[str, Any]:
    """The budget after ``change`` to one stack's resources (and each (stack, change) of ``more``)."""
    files = dict(files)
    for name, edit in ((stack, change), *more):
        path, document = _template(files, name)
        edit(document["Resources"])
        put_template(files, path, document)
    return budget_for_bundle(files)


def _trigger(budget: dict[str, Any]) -> str:
    return next(t["name"] for t in budget["rto"]["terms"] if t["phase"] == "trigger" and "starts" in t["name"])


def _fast_route53(resources: dict[str, Any]) -> None:
    _shorten(resources["PrimaryHealthCheck"])
    _shorten(resources["PrimaryHealthCheckAlarm"])


@pytest.mark.parametrize("name", ["trading-ecs", "healthcare-lambda"])
def test_the_trigger_is_the_fastest_that_survives_the_loss_of_the_primary(name, bundles, budgets):
    """Issue 14 (c): with the primary in us-east-1, the us-east-1 alarm and its rule are lost with it; however
    fast they are made, the DR region's probe starts the failover. Elsewhere the faster Route 53 path does."""
    manifest = json.loads(bundles[name].files["manifest.json"])
    stack = next(s["name"] for s in manifest["stacks"] if s["layer"] == "global")
    orchestration = next(s["name"] for s in manifest["stacks"] if s["layer"] == "orchestration")
    faster = _edited(  # 10 s check + 10 s alarm, and a probe alarm of 60 s: Route 53 is the faster path
        bundles[name].files, stack, _fast_route53, (orchestration, _slow_probe)
    )
    lost_with_us_east_1 = PRESETS[name].regions.primary == "us-east-1"
    assert _trigger(faster).startswith("ProbeFailoverTrigger" if lost_with_us_east_1 else "FailoverTrigger")
    assert _trigger(budgets[name]).startswith("ProbeFailoverTrigger")  # 2 x 10 s: the fastest as rendered


def _slow_probe(resources: dict[str, Any]) -> None:
    resources["PrimaryProbeAlarm"]["Properties"]["EvaluationPeriods"] = 6
    resources["PrimaryProbeAlarm"]["Properties"]["DatapointsToAlarm"] = 6


def test_only_rules_on_the_alarm_transition_start_a_failover(budgets):
    """Issue 14 (b): trading-serverless's ALARM -> OK rule starts a failback, never a failover."""
    processing = budgets["trading-serverless"]["rto"]["processing"]["terms"]
    triggers = {t["name"] for t in processing if t["phase"] == "trigger"}
    assert triggers and not any("FailbackTrigger" in name for name in triggers)


def _fires(resource: dict[str, Any]) -> int:
    return _expected(resource)


def test_the_failover_waits_for_a_second_signal_or_for_one_to_persist(bundles, budgets):
    """The confirm step: the trigger (the DR probe's alarm) waits for the second signal, the Route 53 alarm or the
    writer's heartbeat on the replica, each computed here from the templates, and asks every 20 s; with neither
    in time, the probe's alarm alone once it has persisted CONFIRM_SECONDS."""
    files = bundles["trading-ecs"].files
    glob = _template(files, "trading-ecs-global-dev")[1]["Resources"]
    orch = _template(files, "trading-ecs-orchestration-secondary-dev")[1]["Resources"]
    app = _template(files, "trading-ecs-app-secondary-dev")[1]["Resources"]
    probe = _fires(orch["PrimaryProbeAlarm"])
    route53 = _fires(glob["PrimaryHealthCheck"]) + _fires(glob["PrimaryHealthCheckAlarm"])
    lag = app["LagMonitorFunction"]["Properties"]["Environment"]["Variables"]
    states = json.loads(
        next(r for r in orch.values() if r["Type"] == "AWS::StepFunctions::StateMachine")["Properties"][
            "DefinitionString"
        ]
    )["States"]
    heartbeat = states["Confirm"]["Parameters"]["writer_silent_seconds"] + int(lag["SAMPLE_INTERVAL_SECONDS"])
    wait = states["WaitToConfirm"]["Seconds"]

    def confirm(budget: dict[str, Any]) -> dict[str, Any]:
        return next(t for t in budget["rto"]["terms"] if t["phase"] == "confirm")

    gap = max(0, min(route53, heartbeat) - probe)  # the heartbeat at 20 s: no later than the probe's alarm
    assert confirm(budgets["trading-ecs"])["seconds"] == math.ceil(gap / wait) * wait

    def quieter_writer(resources: dict[str, Any]) -> None:  # the heartbeat counts only once 45 s old
        machine = next(r for r in resources.values() if r["Type"] == "AWS::StepFunctions::StateMachine")
        definition = json.loads(machine["Properties"]["DefinitionString"])
        definition["States"]["Confirm"]["Parameters"]["writer_silent_seconds"] = 45
        machine["Properties"]["DefinitionString"] = json.dumps(definition)

    later = confirm(_edited(files, "trading-ecs-orchestration-secondary-dev", quieter_writer))
    heartbeat = 45 + int(lag["SAMPLE_INTERVAL_SECONDS"])
    assert later["seconds"] == math.ceil((min(route53, heartbeat) - probe) / wait) * wait > 0

    def slower_heartbeat(resources: dict[str, Any]) -> None:
        resources["LagMonitorFunction"]["Properties"]["Environment"]["Variables"]["SAMPLE_INTERVAL_SECONDS"] = "3600"

    def slower_route53(resources: dict[str, Any]) -> None:
        resources["PrimaryHealthCheckAlarm"]["Properties"]["EvaluationPeriods"] = 60
        resources["PrimaryHealthCheckAlarm"]["Properties"]["DatapointsToAlarm"] = 60

    alone = _edited(
        files, "trading-ecs-app-secondary-dev", slower_heartbeat, ("trading-ecs-global-dev", slower_route53)
    )
    persisted = confirm(alone)
    assert persisted["seconds"] == math.ceil(PRESETS["trading-ecs"].confirm_seconds / wait) * wait
    assert "persisted" in persisted["name"]


def test_promotion_is_the_documented_figure_rounded_to_whole_polls(bundles, budgets):
    promotion = next(t for t in budgets["trading-ecs"]["rto"]["terms"] if t["name"].startswith("Aurora promotion"))
    assert promotion["aws"]["url"].endswith("aurora-global-database-disaster-recovery.html")
    files = dict(bundles["trading-ecs"].files)
    path, document = _template(files, promotion["source"]["stack"])
    machine = document["Resources"][promotion["source"]["resource"]]
    definition = json.loads(machine["Properties"]["DefinitionString"])
    definition["States"]["WaitForPromotion"]["Seconds"] = 50
    machine["Properties"]["DefinitionString"] = json.dumps(definition)
    put_template(files, path, document)
    after = next(t for t in budget_for_bundle(files)["rto"]["terms"] if t["name"].startswith("Aurora promotion"))
    assert after["seconds"] == 150  # 120 s documented, seen by the third 50 s poll


def test_trading_serverless_accepts_orders_within_its_objective_and_loses_none(bundles, budgets):
    """Issue 14: the DR API takes orders once clients reach it (its ledger replica commits them), so accepting is
    held against the 60 s objective, processing is reported beside it; acknowledged orders are in the ledger."""
    result = CliRunner().invoke(cli, ["budget", "-s", "trading-serverless"])
    assert result.exit_code == 0, result.output
    assert "RTO: 25 s against an objective of 60 s -> WITHIN" in result.output
    assert "RPO: 0 s against an objective of 0 s -> WITHIN" in result.output
    rto = budgets["trading-serverless"]["rto"]
    glob = _template(bundles["trading-serverless"].files, "trading-sls-global-dev")[1]["Resources"]
    check = glob["PrimaryHealthCheck"]["Properties"]["HealthCheckConfig"]
    ttl = int(glob["PrimaryFailoverRecord"]["Properties"]["TTL"])
    assert rto["seconds"] == check["RequestInterval"] * check["FailureThreshold"] + ttl <= 40
    assert rto["processing"]["seconds"] > rto["objective_seconds"]  # the promotion: reported, not held
    assert any(t["name"] == "step ReplayLedger" for t in rto["processing"]["terms"])
    rpo = {t["name"]: t for t in budgets["trading-serverless"]["rpo"]["terms"]}
    assert rpo["DynamoDB LedgerTable"]["seconds"] == 0 and rpo["DynamoDB LedgerTable"]["counted"]
    assert not rpo["Aurora GlobalCluster"]["counted"] and not rpo["DynamoDB SessionsTable"]["counted"]


def test_accepting_follows_the_record_ttl_and_the_check_in_the_template(bundles):
    files = dict(bundles["trading-serverless"].files)
    path, document = _template(files, "trading-sls-global-dev")
    document["Resources"]["PrimaryFailoverRecord"]["Properties"]["TTL"] = "45"
    document["Resources"]["PrimaryHealthCheck"]["Properties"]["HealthCheckConfig"]["FailureThreshold"] = 3
    put_template(files, path, document)
    rto = budget_for_bundle(files)["rto"]
    assert rto["seconds"] == 10 * 3 + 45 and rto["status"] == "exceeds"
    assert any("TTL 5" in finding for finding in rto["findings"])


def test_without_a_strongly_consistent_ledger_the_failover_is_held_against_the_objective(bundles):
    """Make the ledger eventually consistent in the template: acknowledged orders could be lost, so the whole
    failover is the RTO again and the RPO counts every store."""
    files = dict(bundles["trading-serverless"].files)
    path, document = _template(files, "trading-sls-data-primary-dev")
    document["Resources"]["LedgerTable"]["Properties"]["MultiRegionConsistency"] = "EVENTUAL"
    put_template(files, path, document)
    budget = budget_for_bundle(files)
    assert "processing" not in budget["rto"] and budget["rto"]["status"] == "unreachable"  # the promotion is held
    ledger_rpo = next(t for t in budget["rpo"]["terms"] if t["name"] == "DynamoDB LedgerTable")
    assert ledger_rpo["seconds"] > 0 and ledger_rpo["counted"] and budget["rpo"]["status"] != "within"
    assert any("LedgerTable MultiRegionConsistency STRONG" in finding for finding in budget["rpo"]["findings"])
    path, document = _template(files, "trading-sls-data-primary-dev")
    del document["Resources"]["LedgerTable"]
    put_template(files, path, document)
    with pytest.raises(DrgenError, match="ledger is not a global table of the bundle"):
        budget_for_bundle(files)


def test_a_preset_within_its_objectives_exits_0(bundles, tmp_path: Path):
    written = write_bundles([bundles["healthcare-lambda"]], tmp_path)
    result = CliRunner().invoke(cli, ["budget", "--bundle", str(written[0]), "--output", "json"])
    assert result.exit_code == 0, result.output
    budget = json.loads(result.output)
    assert budget["within_objectives"] is True
    assert budget["rto"]["status"] == budget["rpo"]["status"] == "within"
    assert budget == budget_for_bundle(bundles["healthcare-lambda"].files)


def test_an_exceeded_rto_names_the_settings_that_bring_it_within(bundles, budgets):
    assert budgets["trading-ecs"]["rto"]["status"] == "within"
    rto = _with_grace(bundles["trading-ecs"].files, 600)
    assert rto["status"] == "exceeds" and rto["seconds"] > rto["objective_seconds"] >= rto["floor_seconds"]
    assert any("a shorter EcsService HealthCheckGracePeriodSeconds" in finding for finding in rto["findings"])
    assert any("standby at active capacity" in finding for finding in rto["findings"])


def test_bad_input_is_exit_2(tmp_path: Path):
    runner = CliRunner()
    assert runner.invoke(cli, ["budget"]).exit_code == 2
    assert runner.invoke(cli, ["budget", "-s", "trading-ecs", "--bundle", str(tmp_path)]).exit_code == 2
    missing = runner.invoke(cli, ["budget", "--bundle", str(tmp_path)])
    assert missing.exit_code == 2 and "no manifest.json" in missing.output


def test_instances_held_in_a_launch_hook_are_budgeted_its_timeout_not_the_grace_period(bundles, budgets):
    """lifecycle-hooks-overview.html: the instance waits in Pending:Wait until the action completes or the timeout
    ends, is registered with the load balancer after, and the grace period starts once it is InService. So the
    hook's timeout, read from the template, is the start-up the scale-out waits for; the grace period is not."""
    names = [t["name"] for t in budgets["trading-asg"]["rto"]["terms"]]
    assert not [n for n in names if n.endswith("start-up allowance")]
    files = dict(bundles["trading-asg"].files)
    path, document = _template(files, "trading-asg-app-secondary-dev")
    (hook,) = document["Resources"]["AutoScalingGroup"]["Properties"]["LifecycleHookSpecificationList"]

    def hook_term(timeout: int) -> dict[str, Any]:
        hook["HeartbeatTimeout"] = timeout
        put_template(files, path, document)
        terms = budget_for_bundle(files)["rto"]["terms"]
        return next(t for t in terms if t["name"].endswith("launch lifecycle hook"))

    assert hook_term(180)["seconds"] == 180
    assert hook_term(600)["seconds"] == 600
