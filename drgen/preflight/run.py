"""Every preflight check, in order: the account and its Regions first (a Region that is not enabled answers
nothing else), then the zone, the service-linked roles, the database, the images, the Availability Zones and the
quotas, side by side.

Read-only against AWS, with one exception deploy makes too: in the sandbox a missing zone of the scenario's
domain is created as the stand-in for the user's (drgen/deploy/zone.py). Nothing here raises for what AWS
answers: a refusal or an unimplemented call is an UNKNOWN line, never a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from drgen.bundle.manifest import StackEntry
from drgen.bundle.reader import RenderedBundle
from drgen.deploy.quota_model import Report as QuotaReport
from drgen.deploy.session import CLOUD_ERRORS, Aws, error_code, error_text
from drgen.errors import DrgenError
from drgen.preflight.account import account_guard, regions_enabled, service_roles
from drgen.preflight.database import databases, orderable
from drgen.preflight.delegation import zone_check
from drgen.preflight.images import image_checks
from drgen.preflight.model import GLOBAL, Check, Report, Status, fail, unknown
from drgen.preflight.quota import quota_checks
from drgen.preflight.zones import zone_checks

WORKERS = 8
Job = Callable[[], list[Check]]


def run(
    aws: Aws,
    bundle: RenderedBundle,
    to_create: Callable[[], Sequence[StackEntry]] | None = None,
    resolve: Callable[[str], list[str]] | None = None,
    workers: int = WORKERS,
) -> Report:
    """The report of every check. ``to_create`` gives the stacks still to create, for the quota check (None:
    no quota check); ``resolve`` stands in for public DNS (tests)."""
    account = aws.account_id()  # no credentials, no endpoint: the caller's one-line error
    first = [
        *_guarded(GLOBAL, "account", lambda: [account_guard(aws, bundle)]),
        *_guarded(bundle.regions["global"], "region", lambda: regions_enabled(aws, bundle)),
    ]
    disabled = {c.where for c in first if c.name == "region" and c.status is Status.FAIL}
    enabled = set(bundle.stack_regions) | set(bundle.regions.values())
    enabled -= disabled
    quota_report: list[QuotaReport] = []
    jobs: list[Job] = []
    if bundle.deployment is not None:
        deployment = bundle.deployment
        jobs.append(lambda: _guarded(GLOBAL, "zone", lambda: [zone_check(aws, deployment, resolve)]))
    jobs.append(lambda: _guarded(GLOBAL, "service-role", lambda: service_roles(aws, bundle)))
    for database in databases(bundle):
        if database.region in disabled:
            jobs.append(_skipped(database.region, "orderable"))
        else:
            check = functools.partial(orderable, aws, database)
            jobs.append(functools.partial(_guarded, database.region, "orderable", check))
    jobs.append(lambda: _guarded(GLOBAL, "image", lambda: image_checks(aws, bundle, enabled)))
    jobs.append(lambda: _guarded(GLOBAL, "zones", lambda: zone_checks(aws, bundle, enabled)))
    if to_create is not None:
        stacks = to_create
        jobs.append(lambda: _quotas(aws, bundle, stacks, disabled, quota_report))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        later = [check for checks in pool.map(lambda job: job(), jobs) for check in checks]
    checks = _by_place(bundle, [*first, *later])
    return Report(bundle.scenario, bundle.suffix, account, checks, quota_report[0] if quota_report else None)


def _guarded(where: str, name: str, job: Job) -> list[Check]:
    """The job's checks; what AWS refuses becomes UNKNOWN, a DrgenError (the user's to fix) a FAIL."""
    try:
        return job()
    except CLOUD_ERRORS as exc:
        return [unknown(where, name, f"AWS did not answer: {_reason(exc)}")]
    except DrgenError as exc:
        return [fail(where, name, str(exc))]


def _quotas(
    aws: Aws,
    bundle: RenderedBundle,
    to_create: Callable[[], Sequence[StackEntry]],
    disabled: set[str],
    reports: list[QuotaReport],
) -> list[Check]:
    """The quota lines (and the quota report into ``reports``); not checked while a Region is not enabled."""
    if disabled:
        return _skipped(", ".join(sorted(disabled)), "quotas", GLOBAL)()
    try:
        entries = to_create()  # a DrgenError here (a --mode switch) is the caller's, as it is deploy's own
    except CLOUD_ERRORS as exc:
        return [unknown(GLOBAL, "quotas", f"could not read the stacks' state: {_reason(exc)}")]

    def job() -> list[Check]:
        checks, report = quota_checks(aws, bundle, entries)
        reports.append(report)
        return checks

    return _guarded(GLOBAL, "quotas", job)


def _skipped(region: str, name: str, where: str | None = None) -> Job:
    return lambda: [unknown(where or region, name, f"not checked: {region} is not enabled (above)")]


def _reason(exc: BaseException) -> str:
    text = error_text(exc)
    if "<html" in text.lower() or "<!doctype" in text.lower():
        return f"{error_code(exc) or 'an error'} from the endpoint (the call is not implemented there)"
    return text.splitlines()[0]


def _by_place(bundle: RenderedBundle, checks: list[Check]) -> tuple[Check, ...]:
    """Global checks first, then the primary's, the DR Region's and any other Region's, each in check order."""
    order = [GLOBAL, *dict.fromkeys(r for role, r in bundle.regions.items() if role != "global")]
    rank = {place: n for n, place in enumerate(order)}
    return tuple(sorted(checks, key=lambda c: rank.get(c.where, len(order))))
