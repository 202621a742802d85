"""Bundles whose orders are committed to a strongly consistent ledger: two RTO figures and the order RPO.

With an order ledger (a DynamoDB global table with MultiRegionConsistency STRONG that the intake function writes
before it answers 202), the DR region accepts and durably records orders as soon as clients reach it: the
ledger's replica there takes writes while it and the witness form a quorum, whether or not the primary answers
(https://docs.aws.amazon.com/prescriptive-guidance/latest/dynamodb-global-tables/overview.html). Accepting is
held against the objective: the PRIMARY record's gate fails with the primary's check, then resolvers' caches
expire. Processing (the promoted Aurora writer, fed by the replay) is the whole failover, reported beside it.

The RPO of acknowledged orders is the ledger's: acknowledged once written to a second region, none is lost. The
Aurora cluster and the sessions table are reported, not held against it: Aurora's trades are rebuilt from the
ledger by the replay, sessions are not orders.
"""

from __future__ import annotations

from dataclasses import replace

from drgen.budget import signals
from drgen.budget.model import Term
from drgen.budget.rto import gate_fails, primary_record, record_cache
from drgen.budget.views import BundleDocs, Stack
from drgen.bundle.manifest import LayerName
from drgen.errors import DrgenError
from drgen.lambda_code import contract

STRONG = "STRONG"
INTAKE_ENV = (
    contract.LEDGER_TABLE
)  # the intake function's variable naming the ledger (drgen/lambda_functions.py ORDER_INTAKE)


def ledger_table(docs: BundleDocs) -> tuple[Stack, str] | None:
    """The ledger: the strongly consistent global table the intake function writes (stack, logical id)."""
    app = docs.stack(LayerName.APP, "secondary")
    names = set()
    for function in app.resources("AWS::Lambda::Function").values() if app else ():
        name = function["Properties"].get("Environment", {}).get("Variables", {}).get(INTAKE_ENV)
        if name and app is not None:
            names.add(app.resolve(name))
    data = docs.stack(LayerName.DATA, "primary")
    for logical_id, table in data.resources("AWS::DynamoDB::GlobalTable").items() if data is not None else ():
        props = table["Properties"]
        if names and data is not None and data.resolve(props.get("TableName")) in names:
            # Eventually consistent, it could lose acknowledged orders: the failover is held, every store counts.
            return (data, logical_id) if props.get("MultiRegionConsistency") == STRONG else None
    if names:
        raise DrgenError("the intake function's ledger is not a global table of the bundle; render it again")
    return None


def accepting_terms(docs: BundleDocs) -> list[Term]:
    """From the loss until a client reaches the DR API: the PRIMARY record's gate fails, then its cache."""
    glob = docs.stack(LayerName.GLOBAL, "global")
    if glob is None:
        raise DrgenError("the bundle has no global stack; render it again")
    logical_id, props = primary_record(glob)
    fails, check = gate_fails(docs, glob, props)
    detect = signals.health_check(docs, glob, check)
    cache = record_cache(glob, logical_id, props)
    return [
        *detect,
        Term(
            "accept",
            f"{logical_id} cached by resolvers",
            cache.seconds,
            f"{cache.what}, from {check} failing at {fails:g} s; the DR API writes to its ledger replica at once",
            cache.source,
            cache.figure,
            floor=cache.least,
            setting=cache.setting,
        ),
    ]


def order_rpo(docs: BundleDocs, terms: list[Term]) -> list[Term]:
    """The ledger holds acknowledged orders: the other stores are reported, not held against the objective."""
    found = ledger_table(docs)
    if found is None:
        return terms
    ledger_name = f"DynamoDB {found[1]}"
    return [
        t
        if t.name == ledger_name or not t.counted
        else replace(
            t, counted=False, limit=f"{t.limit} (orders are committed to the ledger; this store is reported)".strip()
        )
        for t in terms
    ]
