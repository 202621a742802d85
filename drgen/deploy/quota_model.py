"""The quota preflight's data: the quotas (with how to count what is needed and what is in use), one row per
quota and region with its verdict, and the report. Nothing here calls AWS except through a ``Probe``."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from drgen.deploy.session import Aws

TIGHT_SHARE = 0.8  # used + needed above this share of the limit: TIGHT


class Verdict(enum.StrEnum):
    OK = "OK"
    TIGHT = "TIGHT"
    EXCEEDS = "EXCEEDS"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Resource:
    """A resource a stack creates in its region, its properties resolved for the stack's role."""

    region: str
    logical_id: str
    type: str
    properties: dict[str, Any]


class Probe:
    """AWS access for one region, with the instance-type lookup cached (needed and in use both ask it)."""

    def __init__(self, aws: Aws, region: str) -> None:
        self.aws = aws
        self.region = region
        self.vcpus = cache(self._vcpus)

    def client(self, service: str) -> Any:
        return self.aws.client(service, self.region)

    def _vcpus(self, instance_type: str) -> int:
        types = self.client("ec2").describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"]
        return int(types[0]["VCpuInfo"]["DefaultVCpus"])

    def count(self, service: str, operation: str, key: str, **kwargs: Any) -> int:
        """How many items a paginated list call returns in this region."""
        pages = self.client(service).get_paginator(operation).paginate(**kwargs)
        return sum(len(page.get(key, [])) for page in pages)


Need = Callable[[Sequence[Resource], Probe], int]
Usage = Callable[[Probe], int]


@dataclass(frozen=True)
class Quota:
    name: str
    service: str
    code: str
    need: Need
    usage: Usage | None  # None: no cheap API counts it (in use unknown)
    account_wide: bool = False
    note: str = ""


@dataclass(frozen=True)
class Row:
    """One quota in one region (or account-wide): the verdict and what it is made of."""

    region: str
    account_wide: bool
    quota: Quota
    needed: int
    in_use: int | None
    limit: float | None
    note: str = ""

    @property
    def total(self) -> int:
        return self.needed + (self.in_use or 0)

    @property
    def verdict(self) -> Verdict:
        if self.limit is None:
            return Verdict.UNKNOWN
        if self.total > self.limit:
            return Verdict.EXCEEDS
        return Verdict.TIGHT if self.total > TIGHT_SHARE * self.limit else Verdict.OK

    @property
    def request(self) -> str:
        """The CLI call that asks AWS for enough of this quota."""
        return (
            f"aws service-quotas request-service-quota-increase --service-code {self.quota.service} "
            f"--quota-code {self.quota.code} --desired-value {self.total} --region {self.region}"
        )

    def problem(self) -> str:
        where = "account-wide" if self.account_wide else f"in {self.region}"
        in_use = "unknown" if self.in_use is None else self.in_use
        return (
            f"{self.quota.name} ({self.quota.service} {self.quota.code}) {where}: needs {self.needed}, "
            f"{in_use} in use, limit {number(self.limit)}; raise it: {self.request}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "account_wide": self.account_wide,
            "quota": self.quota.name,
            "service_code": self.quota.service,
            "quota_code": self.quota.code,
            "needed": self.needed,
            "in_use": self.in_use,
            "limit": self.limit,
            "verdict": self.verdict.value,
            "note": self.note,
            **({"request": self.request} if self.verdict is Verdict.EXCEEDS else {}),
        }


@dataclass(frozen=True)
class Report:
    scenario: str
    suffix: str
    regions: dict[str, str]  # role -> region, as the manifest lists them
    to_create: tuple[str, ...]  # stacks whose resources are counted as needed
    rows: tuple[Row, ...]

    @property
    def exceeded(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.verdict is Verdict.EXCEEDS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "suffix": self.suffix,
            "regions": self.regions,
            "stacks_to_create": list(self.to_create),
            "quotas": [r.to_dict() for r in self.rows],
            "exceeds": bool(self.exceeded),
        }


def number(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if value == int(value) else f"{value:g}"
