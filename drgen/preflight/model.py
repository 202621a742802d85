"""A preflight check's verdict: one line per check and place (a Region, or ``global``), and the report of them all."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drgen.deploy.quota_model import Report as QuotaReport

GLOBAL = "global"  # where account-wide checks (the account, the zone, IAM, account quotas) report


class Status(enum.StrEnum):
    OK = "OK"
    FAIL = "FAIL"  # the deploy would fail or do harm: the detail names the command or setting that fixes it
    UNKNOWN = "UNKNOWN"  # AWS (or the sandbox) could not say; nothing known to be wrong


@dataclass(frozen=True)
class Check:
    where: str  # a Region, or GLOBAL
    name: str  # account, region, orderable, zone, image, service-role, quotas
    status: Status
    detail: str

    def line(self) -> str:
        return f"{self.where:<14} {self.name:<13} {self.status.value:<7} {self.detail}"

    def to_dict(self) -> dict[str, str]:
        return {"region": self.where, "check": self.name, "status": self.status.value, "detail": self.detail}

    def sandboxed(self, sandbox: bool) -> Check:
        """Against the sandbox, what only a real account can hold (an opted-in Region, an image, orderability)
        is not known to be missing: a FAIL there becomes UNKNOWN, its fix kept for the real deploy."""
        if not sandbox or self.status is not Status.FAIL:
            return self
        return replace(self, status=Status.UNKNOWN, detail=f"sandbox: {self.detail}")


def ok(where: str, name: str, detail: str) -> Check:
    return Check(where, name, Status.OK, detail)


def fail(where: str, name: str, detail: str) -> Check:
    return Check(where, name, Status.FAIL, detail)


def unknown(where: str, name: str, detail: str) -> Check:
    return Check(where, name, Status.UNKNOWN, detail)


@dataclass(frozen=True)
class Report:
    scenario: str
    suffix: str
    account: str
    checks: tuple[Check, ...]
    quotas: QuotaReport | None = None  # the quota check's own report, when it ran

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status is Status.FAIL)

    def counts(self) -> dict[Status, int]:
        return {status: sum(1 for c in self.checks if c.status is status) for status in Status}

    def summary(self) -> str:
        counts = ", ".join(f"{n} {status.value}" for status, n in self.counts().items())
        return f"preflight: {self.scenario} (suffix {self.suffix}) in account {self.account}: {counts}"

    def text(self) -> str:
        return "\n".join(c.line() for c in self.checks)

    def to_json(self) -> str:
        return json.dumps([c.to_dict() for c in self.checks], indent=2)


def first_failure(checks: Sequence[Check]) -> str:
    """One line naming the first failed check and its fix, and how many more failed."""
    failed = [c for c in checks if c.status is Status.FAIL]
    first = failed[0]
    more = f" (and {len(failed) - 1} more failed check(s), above)" if len(failed) > 1 else ""
    return f"preflight {first.name} ({first.where}) failed: {first.detail}{more}"
