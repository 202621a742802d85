"""REVIEW.md names where the rendered bundle departs from what AWS recommends, read from the templates."""

from __future__ import annotations

import dataclasses

from drgen.bundle.reader import from_files
from drgen.render import render
from drgen.review.recommendations import departures
from drgen.scenario import load


def _departures(name: str, **database: object) -> list[str]:
    scenario = load(name, suffix="dev")
    scenario = dataclasses.replace(scenario, database=dataclasses.replace(scenario.database, **database))
    return departures(from_files(render(scenario).files, name))


def test_a_serverless_global_primary_below_8_acus_is_named_with_aws_recommendation():
    """aurora-global-database.configuration.requirements.html: "For a global database with Aurora Serverless v2,
    the minimum recommended capacity for the DB cluster in the primary AWS Region is 8 ACUs"."""
    (line,) = _departures("trading-ecs")
    assert "PrimaryCluster (eu-central-1)" in line and "scale down to 0.5 ACUs" in line and "at least 8" in line
    assert _departures("trading-ecs", serverless_min_acu=8) == []
    assert _departures("trading-ecs", serverless_min_acu=16) == []


def test_provisioned_instances_have_no_capacity_floor_to_name():
    assert _departures("database-dr") == []
