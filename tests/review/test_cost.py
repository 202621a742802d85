"""The review's cost estimate: lines that add up, a NAT gateway that costs its listed price, warm standby that costs
what the budget says, and a price table that carries its date and sources and ships in the package."""

from __future__ import annotations

import configparser
import dataclasses
import datetime
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from drgen.budget import budget_for_bundle
from drgen.bundle.reader import RenderedBundle, from_directory
from drgen.render import render, write_bundles
from drgen.review import document as d
from drgen.review.cost import estimate, runs_per_month, section
from drgen.review.cost_model import Estimate, Line, price_table
from drgen.scenario import PRESETS, load
from drgen.scenario.model import Standby

REPO = Path(__file__).resolve().parents[2]
PRICES = REPO / "drgen" / "review" / "prices.json"


def _table() -> dict[str, Any]:
    """The price file as a plain document, read here independently of drgen's loader."""
    return json.loads(PRICES.read_text(encoding="utf-8"), parse_float=Decimal)


def _monthly(key: str) -> Decimal:
    table = _table()
    entry = table["prices"][key]
    assert entry["per"] == "hour"
    return entry["usd"] * table["hours_per_month"]


def _view(scenario: Any, root: Path) -> RenderedBundle:
    (path,) = write_bundles([render(scenario)], root)
    return from_directory(path)


def _variant(name: str, **changes: Any) -> Any:
    scenario = load(name, suffix="dev")
    parts = {}
    for part, values in changes.items():
        parts[part] = dataclasses.replace(getattr(scenario, part), **values) if isinstance(values, dict) else values
    return dataclasses.replace(scenario, **parts)


def _lines(est: Estimate, item: str, role: str | None = None) -> list[Line]:
    return [line for line in est.lines if line.item == item and (role is None or line.role == role)]


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_totals_are_the_sums_of_the_lines(name, bundle_root):
    est = estimate(from_directory(bundle_root / name))
    assert est.lines
    idle = failover = Decimal(0)
    for line in est.lines:
        if line.kind == "usage":  # a per-use price: shown, never added
            assert line.idle_usd == line.failover_usd == 0
        else:
            assert line.idle_usd == _cents(line.quantity_idle * line.unit_usd), line
            assert line.failover_usd == _cents(line.quantity_failover * line.unit_usd), line
        idle += line.idle_usd
        failover += line.failover_usd
    assert est.idle_monthly_usd == idle > 0
    assert est.failover_monthly_usd == failover >= idle
    per_place: dict[str, Decimal] = {}
    for line in est.lines:
        per_place[line.place] = per_place.get(line.place, Decimal(0)) + line.idle_usd
    assert sum(per_place.values()) == est.idle_monthly_usd
    assert {line.region for line in est.lines} == {s.region for s in from_directory(bundle_root / name).stacks}


def test_a_nat_gateway_adds_exactly_its_listed_monthly_price(tmp_path):
    """trading-ecs runs on interface endpoints (no NAT). One NAT gateway per region adds its hourly price x 730 to
    each region's NAT line and its Elastic IP to the public IPv4 line, and the region no longer creates the
    endpoints it needed without NAT (drgen/builders/network.py): the table says which costs more."""
    before = _view(load("trading-ecs", suffix="dev"), tmp_path / "before")
    after = _view(_variant("trading-ecs", network={"nat_gateways": 1}), tmp_path / "after")
    old, new = estimate(before), estimate(after)
    assert not _lines(old, "NAT gateway")
    nat, ipv4 = _monthly("nat_gateway"), _monthly("public_ipv4")
    assert nat == Decimal("32.85")  # 0.045 USD an hour, 730 hours
    expected = Decimal(0)
    for role in ("primary", "secondary"):
        (line,) = _lines(new, "NAT gateway", role)
        assert line.quantity_idle == line.quantity_failover == 1
        assert line.idle_usd == line.failover_usd == nat
        (was,) = _lines(old, "public IPv4 address", role)
        (now,) = _lines(new, "public IPv4 address", role)
        assert now.idle_usd - was.idle_usd == ipv4  # the gateway's Elastic IP
        (endpoints,) = _lines(old, "interface VPC endpoint (per AZ)", role)
        assert not _lines(new, "interface VPC endpoint (per AZ)", role)
        expected += nat + ipv4 - endpoints.idle_usd
    assert new.idle_monthly_usd - old.idle_monthly_usd == expected
    assert new.failover_monthly_usd - old.failover_monthly_usd == expected


def test_the_standbys_nat_gateways_follow_its_own_count(tmp_path):
    """trading-asg: three NAT gateways in the primary, one in the standby (conditions on IsPrimary); two more in
    the standby cost two NAT prices there and nothing in the primary."""
    before = estimate(_view(load("trading-asg", suffix="dev"), tmp_path / "before"))
    after = estimate(_view(_variant("trading-asg", network={"standby_nat_gateways": 3}), tmp_path / "after"))
    nat = _monthly("nat_gateway")
    assert [line.quantity_idle for line in _lines(before, "NAT gateway")] == [3, 1]
    assert [line.quantity_idle for line in _lines(after, "NAT gateway")] == [3, 3]
    (old,), (new,) = _lines(before, "NAT gateway", "secondary"), _lines(after, "NAT gateway", "secondary")
    assert new.idle_usd - old.idle_usd == 2 * nat
    assert _lines(before, "NAT gateway", "primary") == _lines(after, "NAT gateway", "primary")
    assert after.idle_monthly_usd - before.idle_monthly_usd == 2 * (nat + _monthly("public_ipv4"))


@pytest.mark.parametrize("name", ["trading-ecs", "trading-asg"])
def test_warm_standby_costs_what_the_budget_says_more_than_pilot_light(name, bundle_root, bundles, tmp_path):
    pilot = estimate(from_directory(bundle_root / name))
    warm = estimate(_view(_variant(name, compute={"standby": Standby.WARM}), tmp_path))
    extra = pilot.warm_standby_usd()
    assert extra > 0
    assert warm.idle_monthly_usd > pilot.idle_monthly_usd
    assert warm.idle_monthly_usd - pilot.idle_monthly_usd == extra
    assert warm.failover_monthly_usd == pilot.failover_monthly_usd  # both end at the active capacity
    (choice,) = budget_for_bundle(bundles[name].files)["rto"]["alternatives"]
    assert extra == Decimal(str(choice["monthly_usd_us_east_1"]))  # one price table, one figure
    assert (
        pilot.warm_standby_line() == f"pilot light vs warm standby: +USD {extra:,}/month to run DR at active capacity"
    )
    assert "runs warm standby already" in warm.warm_standby_line()
    assert warm.warm_standby_usd() == 0


def test_idle_and_failover_follow_the_conditions_and_the_scale_step(bundle_root):
    ecs = estimate(from_directory(bundle_root / "trading-ecs"))
    (primary,) = [line for line in ecs.lines if line.item.startswith("Fargate") and line.role == "primary"]
    (dr,) = [line for line in ecs.lines if line.item.startswith("Fargate") and line.role == "secondary"]
    active = load("trading-ecs").compute.active_capacity
    assert (primary.quantity_idle, primary.quantity_failover) == (active, active)
    assert (dr.quantity_idle, dr.quantity_failover) == (load("trading-ecs").compute.standby_capacity, active)
    (acu,) = _lines(ecs, "Aurora Serverless v2 capacity (ACU)", "secondary")
    database = load("trading-ecs").database
    assert (acu.quantity_idle, acu.quantity_failover) == (
        Decimal(str(database.serverless_min_acu)),
        Decimal(str(database.serverless_max_acu)),
    )
    assert not _lines(ecs, "NAT gateway")

    dbdr = estimate(from_directory(bundle_root / "database-dr"))
    instance = "Aurora db.r6g.large instance"
    assert [(line.role, line.quantity_idle) for line in _lines(dbdr, instance)] == [("primary", 2), ("secondary", 1)]
    assert _lines(dbdr, instance)[0].unit_usd == Decimal("0.26") * 730
    assert dbdr.idle_monthly_usd == dbdr.failover_monthly_usd  # a connectivity scenario has nothing to scale
    assert "no compute" in dbdr.warm_standby_line()
    checks = [line for line in dbdr.lines if line.item.startswith("Route 53 health check")]
    assert {line.place for line in checks} == {"global us-east-1"}


def test_health_checks_pay_for_their_optional_features(bundle_root):
    est = estimate(from_directory(bundle_root / "trading-ecs"))
    (endpoint,) = _lines(est, "Route 53 health check (HTTPS_STR_MATCH: HTTPS, string match, fast interval)")
    assert endpoint.unit_usd == Decimal("0.50") + 3 * Decimal("1.00")
    assert endpoint.quantity_idle == 2
    (calculated,) = _lines(est, "Route 53 health check (CALCULATED)")
    assert calculated.unit_usd == Decimal("0.50")


def test_an_arc_plan_and_a_created_zone_are_priced(tmp_path):
    scenario = load("trading-ecs", suffix="dev")
    variant = dataclasses.replace(
        scenario, arc_plan=True, routing=dataclasses.replace(scenario.routing, create_zone=True)
    )
    est = estimate(_view(variant, tmp_path))
    (plan,) = _lines(est, "ARC Region switch plan")
    assert plan.role == "secondary" and plan.idle_usd == Decimal("70.00")  # IsSecondary: one plan, in the DR region
    (zone,) = _lines(est, "Route 53 hosted zone")
    assert zone.idle_usd == Decimal("0.50")


def test_the_review_section_is_marked_an_estimate_and_shows_the_delta(tmp_path):
    old = estimate(_view(load("trading-ecs", suffix="dev"), tmp_path / "before"))
    new = estimate(_view(_variant("trading-ecs", network={"nat_gateways": 1}), tmp_path / "after"))
    doc = d.Document("review")
    section(doc.section("Cost"), new, old)
    markdown = d.to_markdown(doc)
    assert "**Estimate: USD " in markdown and "not a quote" in markdown
    assert f"us-east-1 list prices of {new.as_of}" in markdown
    assert "| primary eu-central-1 | NAT gateway | added | +32.85 | +32.85 |" in markdown
    assert "| DR eu-west-2 | public IPv4 address | 3 → 4 | +3.65 | +3.65 |" in markdown
    assert f"| **total** |   |   |   | **{new.idle_monthly_usd:,}** | **{new.failover_monthly_usd:,}** |" in markdown
    assert "https://aws.amazon.com/vpc/pricing/" in markdown
    assert d.to_html(doc).count("<table>") == 3

    unchanged = d.Document("review")
    section(unchanged.section("Cost"), old, old)
    assert "the estimate is unchanged" in d.to_markdown(unchanged)


def test_the_estimate_is_deterministic(bundle_root):
    first, second = (estimate(from_directory(bundle_root / "trading-asg")) for _ in range(2))
    assert first == second
    assert json.dumps(first.to_dict(), sort_keys=True) == json.dumps(second.to_dict(), sort_keys=True)
    keys = [line.key for line in first.lines]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("rate(1 minute)", "43800"),
        ("rate(5 minutes)", "8760"),
        ("rate(1 hour)", "730"),
        ("rate(1 day)", "30.42"),
        ("cron(0 5 * * ? *)", "30.42"),
        ("cron(0 5 ? * * *)", "30.42"),
        ("cron(0/15 * * * ? *)", "2920"),
        ("cron(0 9 ? * MON-FRI *)", "21.73"),
    ],
)
def test_schedules_become_runs_a_month(expression, runs):
    assert runs_per_month(expression) == Decimal(runs)


def test_every_price_has_a_source_and_the_table_a_date():
    table = _table()
    assert datetime.date.fromisoformat(table["as_of"]) <= datetime.date.today()
    assert table["region"] == "us-east-1" and table["currency"] == "USD" and table["hours_per_month"] == 730
    assert "us-east-1" in table["basis"] and "estimate" in table["basis"].lower()
    for key, entry in table["prices"].items():
        assert entry["source"].startswith("https://aws.amazon.com/") and entry["source"].endswith("/"), key
        assert entry["unit"] and entry["per"] in (
            "hour",
            "month",
            "GB",
            "GB-month",
            "GB-second",
            "request",
            "million",
        ), key
        values = entry["by_type"].values() if "by_type" in entry else [entry["usd"]]
        assert all(isinstance(v, Decimal) and v > 0 for v in values), key
    loaded = price_table()
    assert loaded.as_of == table["as_of"]
    assert loaded.usd("ec2_instance", "t3.small") == Decimal("0.0208")
    assert all(p.source for p in loaded.prices.values())


def test_the_price_file_ships_in_the_package():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    shipped = {package.strip(): value.split() for package, value in config["options.package_data"].items()}
    assert "prices.json" in shipped["drgen.review"]
    assert PRICES.is_file()
