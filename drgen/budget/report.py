"""The budget as data (``budget.json``) and as a text table; pure functions of the bundle's files."""

from __future__ import annotations

import json
from typing import Any

from drgen.budget.ledger import accepting_terms, ledger_table, order_rpo
from drgen.budget.model import WITHIN, Term, rpo_verdict, rpo_worst, rto_total, rto_verdict
from drgen.budget.rpo import rpo_terms
from drgen.budget.rto import rto_terms
from drgen.budget.standby import warm_standby
from drgen.budget.views import read
from drgen.stability import failover_path, primary_dependencies

BUDGET_FILE = "budget.json"
FORMAT = 1
PHASE_WIDTH = 18  # "recover/capacity"
PAD = " " * (PHASE_WIDTH + 1 + 52 + 1 + 9)
FAILOVER = "the unplanned failover, until the DR region serves"
ARC_EXECUTION_URL = "https://docs.aws.amazon.com/arc-region-switch/latest/api/API_GetPlanExecution.html"
ACCEPTING = (
    "accepting orders: until clients reach the DR API, which commits each order to its replica of the "
    "strongly consistent ledger before it answers (no failover step needed)"
)
PROCESSING = "processing: the unplanned failover, until the promoted writer has the replayed orders"
STORES = "the transactional stores: the worst one counts"
ORDERS = (
    "acknowledged orders: each is acknowledged once the strongly consistent ledger has it in two regions; "
    "the other stores are reported"
)
MODEL = (
    "RTO: an unplanned failover after the loss of the primary region, started by the fastest trigger that survives "
    "it and confirmed by a second signal; phases add up, branches of a phase run at the same time (with an order "
    "ledger: until clients reach the DR API, which commits orders at once; processing is reported beside it). RPO: "
    "per data store, the worst one counts (with an order ledger: acknowledged orders). Figures marked estimate are "
    "drgen's reading where AWS documents no number; a drill measures them."
)


def budget_for_bundle(files: dict[str, bytes]) -> dict[str, Any]:
    """The RTO and RPO budget of a rendered bundle (relative path -> bytes, manifest.json included)."""
    docs = read(files)
    objectives = docs.manifest["objectives"]
    failover = rto_terms(docs)
    committed_to_ledger = ledger_table(docs) is not None
    rto = accepting_terms(docs) if committed_to_ledger else failover  # the figure held against the objective
    rpo = order_rpo(docs, rpo_terms(docs))
    rto_status, rto_findings = rto_verdict(rto, objectives["rto_seconds"])
    rpo_status, rpo_findings = rpo_verdict(rpo, objectives["rpo_seconds"])
    rto_part = {
        "objective_seconds": objectives["rto_seconds"],
        "measures": ACCEPTING if committed_to_ledger else FAILOVER,
        **_figures(rto),
        "status": rto_status,
        "findings": rto_findings,
        "alternatives": [a for a in (warm_standby(docs, failover),) if a is not None],
    }
    if committed_to_ledger:
        rto_part["processing"] = {"measures": PROCESSING, **_figures(failover)}
    plans = [
        f"{stack.name} {logical_id}"
        for stack in docs.stacks
        for logical_id in stack.resources("AWS::ARCRegionSwitch::Plan")
    ]
    if plans:
        rto_part["measurement"] = (
            f"{plans[0]}: after a live execution, GetPlanExecution's actualRecoveryTime (the plan's run plus the "
            "time until its application health alarms are healthy again) is the measured recovery time to compare "
            f"with this estimate ({ARC_EXECUTION_URL})"
        )
    return {
        "format": FORMAT,
        "scenario": docs.manifest["scenario"],
        "suffix": docs.manifest["suffix"],
        "model": MODEL,
        "rto": rto_part,
        "rpo": {
            "objective_seconds": objectives["rpo_seconds"],
            "measures": ORDERS if committed_to_ledger else STORES,
            "seconds": _number(rpo_worst(rpo)),
            "planned_switchover_seconds": 0,
            "status": rpo_status,
            "findings": rpo_findings,
            "terms": [t.to_dict() for t in rpo],
        },
        "within_objectives": rto_status == WITHIN and rpo_status == WITHIN,
        "failover_path": _path_summary(failover_path(docs.bundle)),
    }


def _figures(terms: list[Term]) -> dict[str, Any]:
    return {
        "seconds": _number(rto_total(terms)),
        "floor_seconds": _number(rto_total(terms, lambda t: t.least)),
        "terms": [t.to_dict() for t in terms],
    }


def _path_summary(rows: list[dict[str, str]]) -> dict[str, Any]:
    """What the failover path calls, counted by where it is served, and anything it needs from the primary."""
    by_place: dict[str, int] = {}
    for row in rows:
        details = [row["region"]] if row.get("region") and row["region"] != row["where"] else []
        if row.get("when", "failover") != "failover":
            details.append(row["when"])
        place = row["where"] + (f" ({', '.join(details)})" if details else "")
        by_place[place] = by_place.get(place, 0) + 1
    return {
        "needs_by_region": dict(sorted(by_place.items())),
        "from_primary_region": primary_dependencies(rows),
    }


def budget_json(budget: dict[str, Any]) -> bytes:
    """Stable bytes: sorted keys, one-space indent, trailing newline (the bundle's JSON style)."""
    return (json.dumps(budget, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def format_text(budget: dict[str, Any]) -> str:
    """A table per objective: each term with its seconds, how it is computed and where it comes from."""
    lines = [f"budget: {budget['scenario']} (suffix {budget['suffix']})"]
    for key in ("rto", "rpo"):
        part = budget[key]
        lines += [
            "",
            f"{key.upper()}: {_s(part['seconds'])} against an objective of {_s(part['objective_seconds'])}"
            f" -> {part['status'].upper()}",
            f"  measures {part['measures']}",
        ]
        lines += _table(part["terms"])
        lines += [f"  - {finding}" for finding in part["findings"]]
        lines += [f"  - instead: {_alternative(a)}" for a in part.get("alternatives", [])]
        if "measurement" in part:
            lines.append(f"  - measured: {part['measurement']}")
        if "processing" in part:
            processing = part["processing"]
            lines += ["", f"  and {_s(processing['seconds'])} for {processing['measures']} (reported beside it):"]
            lines += _table(processing["terms"])
    path = budget["failover_path"]
    places = "; ".join(f"{count} in {place}" for place, count in path["needs_by_region"].items())
    primary = path["from_primary_region"]
    lines += [
        "",
        f"failover path needs: {places}; from the primary region: "
        + ("nothing" if not primary else "; ".join(f"{r['component']} {r['needs']}" for r in primary)),
    ]
    lines += ["", budget["model"]]
    return "\n".join(lines)


def _table(terms: list[dict[str, Any]]) -> list[str]:
    lines = [f"  {'PHASE':<{PHASE_WIDTH}} {'TERM':<52} {'SECONDS':>9}  FORMULA / SOURCE"]
    for term in terms:
        phase = term["phase"] + (f"/{term['branch']}" if term.get("branch") else "")
        counted = "" if term.get("counted", True) else " (reported, not held against the objective)"
        lines.append(
            f"  {phase:<{PHASE_WIDTH}} {term['name'][:52]:<52} {_s(term['seconds']):>9}  {term['formula']}{counted}"
        )
        where = term["source"]
        lines.append(f"  {PAD}  {where['stack']} {where['resource']}.{where['property']}")
        if "aws" in term:
            kind = "estimate" if term["aws"]["estimate"] else "documented"
            lines.append(f"  {PAD}  {kind}: {term['aws']['url']}")
    return lines


def _alternative(choice: dict[str, Any]) -> str:
    cost = (
        f", about USD {choice['monthly_usd_us_east_1']:.2f} a month at us-east-1 list prices"
        if "monthly_usd_us_east_1" in choice
        else ""
    )
    sooner = (
        f"{_s(choice['sooner_seconds'])} sooner"
        if choice["sooner_seconds"]
        else "no sooner: the scale-out already ends within the longest branch"
    )
    return (
        f"{choice['choice']} gives {_s(choice['rto_seconds'])} ({sooner}); it runs {choice['runs_more']}"
        f"{cost} ({choice['price_source']})"
    )


def _number(value: float | None) -> int | float | None:
    if value is None or value == float("inf"):
        return None
    return int(value) if float(value).is_integer() else round(value, 3)


def _s(seconds: Any) -> str:
    return "unbounded" if seconds is None else f"{seconds:g} s"
