"""The service-quota check (drgen/deploy/quotas.py, as `drgen quotas` runs it) as one line per Region and one
for the account-wide quotas: FAIL when a quota would be exceeded, with the request that raises it."""

from __future__ import annotations

from collections.abc import Sequence

from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle
from drgen.deploy.quota_model import Report, Row, Verdict
from drgen.deploy.quotas import check
from drgen.deploy.session import Aws
from drgen.preflight.model import GLOBAL, Check, fail, ok, unknown

NAME = "quotas"


def quota_checks(aws: Aws, bundle: RenderedBundle, to_create: Sequence[StackEntry]) -> tuple[list[Check], Report]:
    report = check(aws, bundle, to_create)
    places = [*dict.fromkeys(r for role, r in bundle.regions.items() if role != "global"), GLOBAL]
    places += [r.region for r in report.rows if not r.account_wide and r.region not in places]
    groups: dict[str, list[Row]] = {place: [] for place in places}
    for row in report.rows:
        groups[GLOBAL if row.account_wide else row.region].append(row)
    return [_line(place, rows) for place, rows in groups.items()], report


def _line(place: str, rows: list[Row]) -> Check:
    if not rows:
        return ok(place, NAME, "nothing left to create counts against a quota drgen checks")
    exceeded = [r for r in rows if r.verdict is Verdict.EXCEEDS]
    if exceeded:
        return fail(place, NAME, "; ".join(r.problem() for r in exceeded))
    tight = [f"{r.quota.name} {r.total} of {r.limit:g}" for r in rows if r.verdict is Verdict.TIGHT]
    tight_text = f"; TIGHT (over 80%): {', '.join(tight)}" if tight else ""
    unknowns = [r for r in rows if r.verdict is Verdict.UNKNOWN]
    fits = f"{len(rows) - len(unknowns)} of {len(rows)} quota(s) fit"
    if unknowns:
        names = ", ".join(f"{r.quota.name} ({r.quota.service} {r.quota.code})" for r in unknowns)
        return unknown(place, NAME, f"none known to be exceeded; {fits}, AWS did not say for {names}{tight_text}")
    return ok(place, NAME, f"{fits}{tight_text}")
