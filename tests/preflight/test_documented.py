"""Every preset's Aurora engine version and instance class are documented by AWS for a global database in both
its Regions (eu-central-2 included), as drgen/preflight/documented.py records AWS's tables; what only a live
DescribeOrderableDBInstanceOptions confirms (the exact minor, today, in the account) is the preflight's
``orderable`` check (tests/preflight/test_checks.py)."""

from __future__ import annotations

import pytest

from drgen.bundle.reader import from_scenario
from drgen.preflight.database import databases
from drgen.preflight.documented import GLOBAL_DATABASE_URL, documented
from drgen.scenario import PRESETS


@pytest.fixture(scope="module")
def preset_databases() -> dict[str, list]:
    return {name: databases(from_scenario(name, "doc")) for name in PRESETS}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_is_documented_for_a_global_database_in_both_its_regions(name, preset_databases):
    scenario = PRESETS[name]
    found = {db.region: db for db in preset_databases[name]}
    assert set(found) == {scenario.regions.primary, scenario.regions.secondary}
    for db in found.values():
        assert db.engine == "aurora-postgresql" and db.version == scenario.database.engine_version
        assert db.classes == (scenario.database.instance_class,)
        verdict = documented(db.engine, db.version, db.classes[0], db.region)
        assert verdict.supported is True, f"{name} in {db.region}: {verdict.text} ({GLOBAL_DATABASE_URL})"


def test_the_presets_cover_the_opt_in_zurich_region():
    regions = {r for s in PRESETS.values() for r in (s.regions.primary, s.regions.secondary)}
    assert "eu-central-2" in regions
    asg = PRESETS["trading-asg"]
    zurich = documented("aurora-postgresql", asg.database.engine_version, asg.database.instance_class, "eu-central-2")
    assert zurich.supported is True and asg.regions.secondary == "eu-central-2"
    serverless = documented("aurora-postgresql", "16.8", "db.serverless", "eu-central-2")
    assert serverless.supported is True


@pytest.mark.parametrize(
    ("version", "instance_class", "region", "supported", "says"),
    [
        ("16.8", "db.r6g.large", "eu-central-2", True, "16.1 and higher"),
        ("16.0", "db.r6g.large", "eu-west-1", False, "16.1 and higher only"),
        ("14.2", "db.r6g.large", "us-east-1", False, "14.3 and higher only"),
        ("16.8", "db.t4g.medium", "us-east-1", False, "not memory optimized"),
        ("14.3", "db.serverless", "eu-central-2", False, "no Aurora Serverless v2 for 14.3 in eu-central-2"),
        ("14.6", "db.serverless", "eu-central-2", True, "14.3 and higher"),
        ("16.8", "db.r6g.large", "ap-southeast-4", None, "no row for ap-southeast-4"),
        ("12.22", "db.r6g.large", "us-east-1", None, "no Aurora PostgreSQL 12 column"),
    ],
)
def test_the_table_says_yes_no_or_nothing(version, instance_class, region, supported, says):
    verdict = documented("aurora-postgresql", version, instance_class, region)
    assert verdict.supported is supported
    assert says in verdict.text
