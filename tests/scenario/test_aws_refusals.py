"""Values AWS refuses partway through a real deploy, refused by the scenario's validation (or its names) instead."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from drgen.errors import ScenarioError
from drgen.naming import Names
from drgen.render import render
from drgen.scenario import load
from drgen.scenario.model import Bucket

# -- tags ------------------------------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "scenario.yaml"
    f.write_text(text)
    return f


def _tags_yaml(tags: dict[str, str]) -> str:
    return "base: trading-ecs\ntags:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in tags.items())


def test_more_tags_than_a_route53_health_check_takes_are_refused(tmp_path):
    # Route 53 takes 10 tags on a health check and drgen adds Name: 10 scenario tags make 11.
    tags = {f"Key{i}": "v" for i in range(10)}
    with pytest.raises(ScenarioError, match=r"tags: 10 tags; .*Route 53 health check.* at most 9"):
        load(config=_write(tmp_path, _tags_yaml(tags)))


def test_nine_tags_fit_every_resource_drgen_tags(tmp_path):
    """The count rule's premise, held against a rendered bundle: with the most tags the scenario may have, no
    resource holds more than AWS lets it (Route 53 health checks and hosted zones 10, the others 50)."""
    tags = {f"Key{i}": "v" for i in range(9)}
    scenario = load(config=_write(tmp_path, _tags_yaml(tags)))
    scenario = dataclasses.replace(
        scenario, routing=dataclasses.replace(scenario.routing, zone_id=None, create_zone=True)
    )
    limits = {"AWS::Route53::HealthCheck": 10, "AWS::Route53::HostedZone": 10}
    seen = set()
    for path, body in render(scenario).files.items():
        if not path.startswith("templates/"):
            continue
        for logical, resource in json.loads(body)["Resources"].items():
            props = resource.get("Properties", {})
            for field in ("Tags", "HealthCheckTags", "HostedZoneTags", "BackupVaultTags", "BackupPlanTags"):
                if field in props:
                    seen.add(resource["Type"])
                    limit = limits.get(resource["Type"], 50)
                    assert len(props[field]) <= limit, (path, logical, len(props[field]))
    assert {"AWS::Route53::HealthCheck", "AWS::Route53::HostedZone"} <= seen


@pytest.mark.parametrize("key", ["aws:team", "AWS:team", "Aws:team"])
def test_a_tag_key_with_the_reserved_prefix_in_any_case_is_refused(tmp_path, key):
    with pytest.raises(ScenarioError, match="not start with 'aws:' in any case"):
        load(config=_write(tmp_path, _tags_yaml({key: "v"})))


def test_a_scenario_name_tag_gives_way_to_drgens_on_health_checks(tmp_path):
    """AWS's tagging rule: "For each resource, each tag key must be unique, and each tag key can have only one
    value" (e.g. the AWS Batch tag restrictions page). On health checks, as everywhere else, drgen's Name wins."""
    scenario = load(config=_write(tmp_path, _tags_yaml({"Name": "mine", "team": "dr"})))
    body = json.loads(render(scenario).files["templates/global.json"])
    checks = [r for r in body["Resources"].values() if r["Type"] == "AWS::Route53::HealthCheck"]
    assert checks
    for check in checks:
        keys = [tag["Key"] for tag in check["Properties"]["HealthCheckTags"]]
        assert sorted(keys) == ["Name", "team"]
        assert next(t["Value"] for t in check["Properties"]["HealthCheckTags"] if t["Key"] == "Name") != "mine"


@pytest.mark.parametrize(
    ("value", "placeholder"),
    [
        ("x" * 240 + "{suffix}", "suffix"),  # 248 as written; the longest suffix (20) makes 260
        ("x" * 245 + "{region}", "region"),  # 253 as written; eu-central-1 (12) makes 257
        ("x" * 250 + "{role}", "role"),  # 256 as written; "secondary" makes 259
    ],
)
def test_a_tag_value_too_long_once_its_placeholders_are_filled_in_is_refused(tmp_path, value, placeholder):
    assert len(value) <= 256
    with pytest.raises(ScenarioError, match=rf"tags.Owner: .*{placeholder}.* 256"):
        load(config=_write(tmp_path, _tags_yaml({"Owner": value})))


def test_a_tag_value_that_fits_with_the_longest_placeholders_is_kept(tmp_path):
    value = "x" * (256 - 20 - len("eu-central-1")) + "{suffix}{region}"
    assert dict(load(config=_write(tmp_path, _tags_yaml({"Owner": value}))).tags)["Owner"] == value


# -- S3 bucket names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "suffix", "reserved"),
    [
        ("sthree", "dev", "starts with 'sthree-'"),
        ("amzn-s3-demo", "dev", "starts with 'amzn-s3-demo-'"),
        ("orders", "s3alias", "ends with '-s3alias'"),
    ],
)
def test_bucket_names_s3_reserves_are_refused(prefix, suffix, reserved):
    scenario = dataclasses.replace(load("trading-ecs", suffix=suffix), prefix=prefix)
    with pytest.raises(ScenarioError, match=rf"S3 bucket name '.*' {reserved}, which AWS reserves; change the"):
        Names(scenario).regional("bucket", "artifacts")


def test_a_bucket_name_merely_containing_a_reserved_word_is_kept():
    scenario = dataclasses.replace(load("trading-ecs", suffix="s3alias-x"), prefix="sthreex")
    Names(scenario).regional("bucket", "artifacts")


# -- S3 lifecycle ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("expire", "transition"), [(30, 30), (40, 60)])
def test_expiration_no_later_than_the_ia_transition_is_refused(tmp_path, expire, transition):
    bucket = f"{{purpose: logs, expire_days: {expire}, transition_ia_days: {transition}}}"
    text = f"base: trading-ecs\nbuckets:\n  - {bucket}\n"
    with pytest.raises(ScenarioError, match=r"buckets\[0\].expire_days: .* greater than transition_ia_days"):
        load(config=_write(tmp_path, text))


def test_expiration_after_the_ia_transition_is_kept(tmp_path):
    text = "base: trading-ecs\nbuckets:\n  - {purpose: logs, expire_days: 31, transition_ia_days: 30}\n"
    assert load(config=_write(tmp_path, text)).buckets == (Bucket("logs", expire_days=31, transition_ia_days=30),)


def test_an_ia_transition_before_30_days_is_refused(tmp_path):
    text = "base: trading-ecs\nbuckets:\n  - {purpose: logs, transition_ia_days: 29}\n"
    with pytest.raises(ScenarioError, match=r"buckets\[0\].transition_ia_days: 29; .*at least 30"):
        load(config=_write(tmp_path, text))


# -- Aurora master username -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "problem"),
    [
        ("db_admin", "1 to 16 letters or digits"),  # an underscore: the generic identifier rule let it through
        ("a" * 17, "1 to 16 letters or digits"),
        ("9admin", "1 to 16 letters or digits"),
        ("user", "reserved"),
        ("Select", "reserved"),
        ("rdsadmin", "reserved"),
        ("public", "reserved"),
    ],
)
def test_master_usernames_aurora_refuses_are_refused(tmp_path, username, problem):
    text = f"base: trading-ecs\ndatabase: {{master_username: {username}}}\n"
    with pytest.raises(ScenarioError, match=rf"database.master_username: '{username}'.*{problem}"):
        load(config=_write(tmp_path, text))


@pytest.mark.parametrize("username", ["dbadmin", "postgres", "a", "Admin2024", "a" * 16])
def test_master_usernames_aurora_takes_are_kept(tmp_path, username):
    text = f"base: trading-ecs\ndatabase: {{master_username: {username}}}\n"
    assert load(config=_write(tmp_path, text)).database.master_username == username


# -- regions --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["ap-east-2", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "mx-central-1"])
def test_regions_launched_lately_are_known_and_opt_in(tmp_path, region):
    from drgen.regions import is_opt_in

    text = f"base: trading-ecs\nregions: {{secondary: {region}}}\n"
    assert load(config=_write(tmp_path, text)).regions.secondary == region
    assert is_opt_in(region)


def test_the_regions_known_before_keep_their_opt_in_status():
    from drgen.regions import is_opt_in, known_regions

    default = "us-east-1 us-east-2 us-west-1 us-west-2 ca-central-1 eu-central-1 eu-west-1 eu-west-2 eu-west-3 "
    default += "eu-north-1 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-south-1 ap-southeast-1 ap-southeast-2 "
    default += "sa-east-1"
    opt_in = "af-south-1 ap-east-1 ap-south-2 ap-southeast-3 ap-southeast-4 ca-west-1 eu-central-2 eu-south-1 "
    opt_in += "eu-south-2 il-central-1 me-central-1 me-south-1"
    assert set(default.split()) | set(opt_in.split()) <= known_regions()
    assert not any(is_opt_in(r) for r in default.split())
    assert all(is_opt_in(r) for r in opt_in.split())


def test_every_region_drgen_accepts_is_one_cfn_lint_can_lint():
    """Else a linted render stops at drgen.lint.runner._check_regions ("does not know region(s) ...; upgrade it")."""
    from cfnlint.helpers import REGIONS

    from drgen.regions import known_regions

    assert set(known_regions()) <= set(REGIONS)


def test_the_regions_are_botocores_own_list_of_the_partition():
    """drgen reads botocore's data file without importing botocore; what it reads is what botocore's loader reads."""
    from botocore.loaders import create_loader

    from drgen.regions import known_regions

    partitions = create_loader().load_data("endpoints")["partitions"]
    assert next(p for p in partitions if p["partition"] == "aws")["regions"].keys() == known_regions()
