"""drgen budget: terms read from the rendered templates, their sources, the verdicts and the command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from drgen.budget import budget_for_bundle, budget_json
from drgen.cli import cli
from drgen.render import write_bundles
from drgen.scenario import PRESETS

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
    files[path] = json.dumps(document).encode()
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
    assert set(branches) == {"writer+dns", "capacity"}
    assert rto["seconds"] == serial + max(branches.values())


def _with_grace(bundle_files: dict[str, bytes], seconds: int) -> dict[str, Any]:
    """The trading-ecs budget after editing the DR service's health-check grace period in its template."""
    files = dict(bundle_files)
    path, document = _template(files, "trading-ecs-app-secondary-dev")
    document["Resources"]["EcsService"]["Properties"]["HealthCheckGracePeriodSeconds"] = seconds
    files[path] = json.dumps(document).encode()
    return budget_for_bundle(files)["rto"]


def test_the_scale_out_runs_while_aurora_promotes(bundles, budgets):
    """The machine scales right after starting the promotion: the scale-out overlaps the promotion poll, the DNS
    shift and resolvers' caches, so a longer start-up only counts once it outlasts that branch."""
    rto = budgets["trading-ecs"]["rto"]
    steps = [t["name"] for t in rto["terms"] if t["phase"] == "orchestrate"]
    assert steps == ["step Guard", "step Confirm", "step Promote", "step Scale"]
    writer = [t for t in rto["terms"] if t.get("branch") == "writer+dns"]
    assert writer[0]["name"].startswith("Aurora promotion") and writer[-1]["name"].endswith("cached by resolvers")
    assert "step NotifySuccess" in [t["name"] for t in writer]  # the success path, not the failure notification
    writer_seconds = sum(t["seconds"] for t in writer)
    capacity = sum(t["seconds"] for t in rto["terms"] if t.get("branch") == "capacity")
    slack = writer_seconds - capacity
    assert slack > 0
    grace = next(t for t in rto["terms"] if t["name"].endswith("start-up allowance"))["seconds"]
    assert _with_grace(bundles["trading-ecs"].files, grace + slack)["seconds"] == rto["seconds"]
    assert _with_grace(bundles["trading-ecs"].files, grace + slack + 30)["seconds"] == rto["seconds"] + 30


def test_dns_term_is_the_alias_cache_not_the_scenario_ttl(budgets):
    """trading-serverless asks for a 30 s TTL, but its failover record is an alias: resolvers keep it 60 s."""
    assert PRESETS["trading-serverless"].routing.ttl_seconds == 30
    dns = next(t for t in budgets["trading-serverless"]["rto"]["terms"] if t["name"].endswith("by resolvers"))
    assert dns["seconds"] == 60
    assert dns["source"]["property"] == "AliasTarget"
    database_dns = next(t for t in budgets["database-dr"]["rto"]["terms"] if t["name"].endswith("by resolvers"))
    assert database_dns["seconds"] == 30 and database_dns["source"]["property"] == "TTL"


def test_promotion_is_the_documented_figure_rounded_to_whole_polls(bundles, budgets):
    promotion = next(t for t in budgets["trading-ecs"]["rto"]["terms"] if t["name"].startswith("Aurora promotion"))
    assert promotion["aws"]["url"].endswith("aurora-global-database-disaster-recovery.html")
    files = dict(bundles["trading-ecs"].files)
    path, document = _template(files, promotion["source"]["stack"])
    machine = document["Resources"][promotion["source"]["resource"]]
    definition = json.loads(machine["Properties"]["DefinitionString"])
    definition["States"]["WaitForPromotion"]["Seconds"] = 50
    machine["Properties"]["DefinitionString"] = json.dumps(definition)
    files[path] = json.dumps(document).encode()
    after = next(t for t in budget_for_bundle(files)["rto"]["terms"] if t["name"].startswith("Aurora promotion"))
    assert after["seconds"] == 150  # 120 s documented, seen by the third 50 s poll


def test_trading_serverless_cannot_meet_its_objectives_and_says_what_would_help():
    result = CliRunner().invoke(cli, ["budget", "-s", "trading-serverless"])
    assert result.exit_code == 1
    out = result.output
    assert "RTO:" in out and "UNREACHABLE" in out
    assert "cannot be met as written" in out
    assert "detection and DNS alone take" in out
    assert "FailureThreshold 1" in out  # the health-check setting
    assert "TTL 5 instead of an alias" in out  # the DNS setting
    assert "SwitchoverGlobalCluster" in out  # RPO 0: only a planned switchover is lossless
    assert "MultiRegionConsistency STRONG" in out  # the table's fix


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
