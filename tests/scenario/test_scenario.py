"""The scenario model: presets carry their seeds' facts, YAML overrides, suffix precedence, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from drgen.errors import ScenarioError
from drgen.naming import Names
from drgen.scenario import PRESETS, load
from drgen.scenario.model import HealthCheckType

from ..conftest import REPO


@pytest.mark.parametrize(
    ("name", "primary", "secondary", "rto", "rpo"),
    [
        ("trading-ecs", "eu-central-1", "eu-west-2", 300, 60),
        ("trading-asg", "eu-central-1", "eu-central-2", 300, 60),
        ("healthcare-lambda", "us-east-1", "us-west-2", 900, 900),
        ("trading-serverless", "us-east-1", "us-east-2", 60, 0),
        ("database-dr", "us-east-1", "eu-west-1", 300, 60),
    ],
)
def test_presets_carry_their_seed_regions_and_objectives(name, primary, secondary, rto, rpo):
    s = PRESETS[name]
    assert (s.regions.primary, s.regions.secondary) == (primary, secondary)
    assert (s.objectives.rto_seconds, s.objectives.rpo_seconds) == (rto, rpo)


def test_preset_specifics_from_the_seeds():
    assert PRESETS["trading-ecs"].database.serverless
    assert PRESETS["trading-ecs"].sessions.enabled
    assert PRESETS["trading-asg"].database.lag_alarm_seconds == 30
    assert PRESETS["trading-asg"].network.nat_gateways == 3
    hl = PRESETS["healthcare-lambda"]
    assert (hl.network.primary_cidr, hl.network.secondary_cidr) == ("10.0.0.0/16", "10.1.0.0/16")
    assert (hl.routing.health_check.interval_seconds, hl.routing.health_check.failure_threshold) == (30, 3)
    assert hl.network.peering
    assert PRESETS["trading-serverless"].sessions.enabled
    db = PRESETS["database-dr"]
    assert db.database.instance_class == "db.r6g.large"
    assert db.database.lag_alarm_seconds == 5
    assert db.routing.health_check.type is HealthCheckType.CLOUDWATCH_METRIC
    assert dict(db.tags) == {"Environment": "production", "DisasterRecovery": "enabled"}
    assert db.buckets[0].expire_days == 30


def test_suffix_precedence(monkeypatch):
    assert load("trading-ecs").suffix == "dev"
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "envsfx")
    assert load("trading-ecs").suffix == "envsfx"
    assert load("trading-ecs", suffix="cli").suffix == "cli"


def test_scenario_suffix_beats_default_but_not_env(tmp_path, monkeypatch):
    f = tmp_path / "s.yaml"
    f.write_text("base: database-dr\nsuffix: fromfile\n")
    assert load(config=f).suffix == "fromfile"
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "fromenv")
    assert load(config=f).suffix == "fromenv"


def test_example_config_overrides_nested_fields_and_keeps_the_rest():
    s = load(config=REPO / "examples" / "trading-ecs-staging.yaml")
    base = PRESETS["trading-ecs"]
    assert s.name == "trading-ecs-staging"
    assert s.suffix == "staging"
    assert s.network.primary_cidr == "10.110.0.0/16"
    assert s.database.serverless_max_acu == 4
    assert s.routing.health_check.failure_threshold == 2
    # untouched fields come from the base preset
    assert s.routing.health_check.interval_seconds == base.routing.health_check.interval_seconds
    assert s.database.instance_class == base.database.instance_class
    assert s.regions == base.regions
    assert dict(s.tags)["CostCenter"] == "trading-staging"


def _write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "scenario.yaml"
    f.write_text(text)
    return f


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("base: trading-ecs\nregions: {secondary: eu-central-1}\n", "both 'eu-central-1'"),
        ("base: trading-ecs\nregions: {secondary: mars-north-1}\n", "unknown region 'mars-north-1'"),
        ("base: trading-ecs\nnetwork: {secondary_cidr: 10.10.128.0/17}\n", "overlap"),
        ("base: trading-ecs\nnetwork: {primary_cidr: 10.10.0.0/33}\n", "not an IPv4 network"),
        ("base: trading-ecs\nbogus: 1\n", "unknown key 'bogus'"),
        ("base: trading-ecs\ndatabase: {lag_alarm: 3}\n", "unknown key 'lag_alarm'"),
        ("base: nope\n", "unknown preset 'nope'"),
        ("base: trading-ecs\nrouting: {health_check: {interval_seconds: 15}}\n", "10 or 30"),
        ("base: trading-ecs\ndatabase: {backup_retention_days: 0}\n", "1 to 35"),
        ("base: trading-ecs\ndatabase: {primary_instances: two}\n", "expected a whole number"),
        ("base: trading-ecs\ntags: {Owner: '{team}'}\n", "unknown placeholder"),
        ("base: trading-ecs\ncompute: {startup_seconds: -5}\n", "compute.startup_seconds: -5; use 0 to 3600"),
        ("base: trading-ecs\ncompute: {target_tls: true}\n", "only for kind asg"),
        ("base: trading-ecs\ncompute: {standby: hot}\n", "compute.standby: 'hot' is not one of pilot-light, warm"),
        ("base: trading-ecs\nwriter_silent_seconds: 1\n", "writer_silent_seconds: 1; use 3 to 600"),
        ("base: trading-ecs\naccount: 12345\n", "expected text"),
        ("base: trading-ecs\naccount: '1234'\n", "is not an AWS account id"),
        ("base: trading-ecs\nrouting: {zone_id: zone-1}\n", "is not a Route 53 hosted zone id"),
        ("base: trading-ecs\nrouting: {zone_id: Z123, create_zone: true}\n", "keep one of them"),
        ("base: trading-ecs\ncompute: {image: 'docker.io/library/nginx:1'}\n", "is not 'repository:tag'"),
        ("base: trading-ecs\ncompute: {tracing_image: 'public.ecr.aws/xray/aws-xray-daemon:3'}\n", "private ECR"),
        ("base: trading-ecs\ncompute: {task_cpu: 512, task_memory: 512}\n", "Fargate has no such size"),
        ("base: trading-ecs\ncompute: {task_cpu: 2048, task_memory: 4500}\n", "Fargate has no such size"),
        ("base: trading-ecs\nalerting: {email: ops-at-bank}\n", "is not an e-mail address SNS can subscribe"),
        ("base: trading-ecs\ndatabase: {engine_version: '14.1'}\n", "for 14.3 and higher only, not 14.1"),
        ("base: database-dr\ndatabase: {instance_class: db.t4g.medium}\n", "is not memory optimized"),
        (
            "base: trading-asg\nrouting: {health_check: {search_string: '\"quotes_valid\":true'}}\n",
            r"drgen's own application answers the health check here, and its answer never holds "
            r'"quotes_valid":true; search for "status":"ok"',
        ),
        ("base: trading-asg\ncompute: {image: /ami/trading}\nrouting: {health_check: {search_string: quotes}}\n", None),
        ("- just\n- a list\n", "must be a mapping"),
        ("base: trading-ecs\nnetwork: [unclosed\n", "broken YAML"),
    ],
)
def test_bad_scenario_files_name_the_problem(tmp_path, yaml_text, message):
    if message is None:  # the control case: the user's own AMI answers what the user searches for
        assert load(config=_write(tmp_path, yaml_text)).routing.health_check.search_string
        return
    with pytest.raises(ScenarioError, match=message):
        load(config=_write(tmp_path, yaml_text))


@pytest.mark.parametrize("suffix", ["UPPER", "has_underscore", "-lead", "trail-", "a--b", "x" * 21, ""])
def test_bad_suffixes_are_rejected(suffix):
    with pytest.raises(ScenarioError, match="suffix"):
        load("trading-ecs", suffix=suffix)


def test_a_suffix_that_overflows_a_name_limit_names_the_resource_and_the_room_left():
    # 20 characters is a legal suffix in general, but a load balancer name (32 max) cannot hold it.
    s = load("trading-serverless", suffix="a" * 20)
    names = Names(s)
    with pytest.raises(ScenarioError, match=r"load balancer name .* \d+ characters long \(AWS allows 32\)"):
        names.fixed("lb", "alb")


def test_regional_names_are_checked_with_both_regions(tmp_path):
    s = load("trading-ecs", suffix="dev")
    names = Names(s)
    # bucket names embed the region; the longer of the two regions decides the length
    longest = max(len(s.regions.primary), len(s.regions.secondary))
    room = 63 - len(f"{s.prefix}-artifacts--dev") - longest
    names.regional("bucket", "artifacts")
    with pytest.raises(ScenarioError, match="S3 bucket name"):
        names.regional("bucket", "x" * (len("artifacts") + room + 1))


def test_the_first_real_deploy_example_names_the_account_zone_and_image():
    s = load(config=REPO / "examples" / "first-real-deploy.yaml")
    assert s.account == "111122223333" and s.routing.domain == "dr.orders.acme-bank.net"
    assert s.compute.image == "orders-service:1.42.0" and not s.routing.create_zone
    from drgen.deploy.zone import reserved

    assert reserved(s.routing.domain) is None  # an example users copy must not be refused on a real account
