"""The price table and the shapes of a cost estimate: one dated table of AWS list prices, shipped in the package.

``prices.json`` (beside this module, listed in setup.cfg's package data) holds every price drgen uses, each with
the AWS pricing page it comes from, the region it is for (us-east-1) and the date it was taken (``as_of``). The
review's cost estimate (drgen/review/cost.py) and the budget's warm-standby figure (drgen/budget/standby.py) both
read it, so there is one table to update. Prices are parsed as Decimal: a monthly figure is exact until it is
rounded to cents once, per line.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from typing import Any

PRICES_FILE = "prices.json"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Price:
    """One price: USD per ``per`` (hour, month, GB, GB-second, request, million), what it is, where it is listed."""

    key: str
    usd: Decimal
    per: str
    unit: str
    source: str


@dataclass(frozen=True)
class PriceTable:
    as_of: str
    region: str
    currency: str
    hours_per_month: int
    basis: str
    prices: dict[str, Price]

    def price(self, key: str, kind: str | None = None) -> Price | None:
        """The price ``key`` (an instance family's price for ``kind``, e.g. ``ec2_instance``/``t3.small``)."""
        return self.prices.get(f"{key}:{kind}" if kind else key)

    def usd(self, key: str, kind: str | None = None) -> Decimal:
        price = self.price(key, kind)
        if price is None:
            raise KeyError(f"{key}:{kind}" if kind else key)
        return price.usd

    def monthly(self, key: str, kind: str | None = None) -> Decimal:
        """USD per unit-month: an hourly price times the table's hours per month, a monthly price as it is."""
        price = self.price(key, kind)
        if price is None:
            raise KeyError(f"{key}:{kind}" if kind else key)
        return price.usd * self.hours_per_month if price.per == "hour" else price.usd

    def source(self, key: str, kind: str | None = None) -> str:
        """The page ``key`` is listed on (an instance family's page also for a type the table does not hold)."""
        price = self.price(key, kind) or next((p for k, p in self.prices.items() if k.startswith(f"{key}:")), None)
        if price is None:
            raise KeyError(key)
        return price.source

    def sources(self) -> list[str]:
        return sorted({p.source for p in self.prices.values()})


@functools.cache
def price_table() -> PriceTable:
    """The shipped table (read once). Instance families (``by_type``) become one price per type: ``key:type``."""
    text = resources.files("drgen").joinpath("review", PRICES_FILE).read_text(encoding="utf-8")
    return parse_prices(json.loads(text, parse_float=Decimal))


def parse_prices(document: dict[str, Any]) -> PriceTable:
    prices: dict[str, Price] = {}
    for key, entry in document["prices"].items():
        common = {"per": entry["per"], "unit": entry["unit"], "source": entry["source"]}
        if "by_type" in entry:
            for kind, usd in entry["by_type"].items():
                prices[f"{key}:{kind}"] = Price(key=f"{key}:{kind}", usd=Decimal(usd), **common)
        else:
            prices[key] = Price(key=key, usd=Decimal(entry["usd"]), **common)
    return PriceTable(
        as_of=str(document["as_of"]),
        region=str(document["region"]),
        currency=str(document["currency"]),
        hours_per_month=int(document["hours_per_month"]),
        basis=str(document["basis"]),
        prices=prices,
    )


def cents(value: Decimal) -> Decimal:
    """Rounded to cents, half up: the one rounding every line goes through."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def usd(value: Decimal, places: int = 2) -> str:
    """``1,234.56`` (or ``1,235`` with places=0), half up."""
    exponent = Decimal(1).scaleb(-places)
    return f"{value.quantize(exponent, rounding=ROUND_HALF_UP):,}"


def price_text(value: Decimal) -> str:
    """A unit price as listed: at least cents (``7.30``), more places when it has them (``0.0000166667``)."""
    if value == value.quantize(CENT):
        return f"{value.quantize(CENT):,}"
    return f"{value.normalize():,f}"


def amount(value: Decimal) -> str:
    """A quantity as counted: ``1,460`` when whole, ``2,920.5`` when not."""
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.normalize():,f}"


@dataclass(frozen=True)
class Line:
    """One priced line: what runs where, how many, at what unit price, and its monthly cost idle and at failover.

    ``idle_usd`` and ``failover_usd`` are ``quantity x unit_usd`` rounded to cents. A usage-priced line (data
    processed, requests) has quantity 0: it shows the unit price and adds nothing to the totals.
    """

    place: str  # "primary eu-central-1", "DR eu-west-2", "global us-east-1"
    region: str
    role: str
    item: str
    unit: str  # what one unit is ("NAT gateway-month", "GB-second")
    quantity_idle: Decimal
    quantity_failover: Decimal
    unit_usd: Decimal
    idle_usd: Decimal
    failover_usd: Decimal
    detail: str = ""
    source: str = ""
    kind: str = ""  # "compute" for the capacity a failover scales; "usage" for a per-use price
    priced: bool = True  # False: not in the price table (counted, not costed)
    order: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.place, self.item)

    def to_dict(self) -> dict[str, Any]:
        return {
            "place": self.place,
            "region": self.region,
            "role": self.role,
            "item": self.item,
            "unit": self.unit,
            "quantity_idle": _number(self.quantity_idle),
            "quantity_failover": _number(self.quantity_failover),
            "unit_usd": str(self.unit_usd),
            "monthly_usd_idle": str(self.idle_usd),
            "monthly_usd_failover": str(self.failover_usd),
            "detail": self.detail,
            "source": self.source,
            "kind": self.kind,
            "priced": self.priced,
        }


def _number(value: Decimal) -> int | str:
    return int(value) if value == value.to_integral_value() else str(value.normalize())


@dataclass(frozen=True)
class Estimate:
    """What a bundle costs a month while the DR region idles at standby capacity and once it runs at failover."""

    lines: tuple[Line, ...]
    idle_monthly_usd: Decimal
    failover_monthly_usd: Decimal
    as_of: str
    price_region: str = "us-east-1"
    notes: tuple[str, ...] = field(default=())

    def summary_line(self) -> str:
        return (
            f"estimate: USD {usd(self.idle_monthly_usd, 0)}/month idle, {usd(self.failover_monthly_usd, 0)} at "
            f"failover ({self.price_region} list prices of {self.as_of})"
        )

    def compute_lines(self, role: str = "secondary") -> list[Line]:
        return [line for line in self.lines if line.kind == "compute" and line.role == role]

    def warm_standby_usd(self) -> Decimal:
        """What running the DR compute at its active capacity all the time adds a month."""
        return sum((line.failover_usd - line.idle_usd for line in self.compute_lines()), Decimal(0))

    def warm_standby_line(self) -> str:
        compute = self.compute_lines()
        extra = self.warm_standby_usd()
        if not compute:
            return "pilot light vs warm standby: the DR region runs no compute that a failover scales"
        if extra == 0:
            running = sum((line.idle_usd for line in compute), Decimal(0))
            return (
                f"pilot light vs warm standby: this bundle runs warm standby already (the DR compute at its active "
                f"capacity, USD {usd(running)}/month)"
            )
        return f"pilot light vs warm standby: +USD {usd(extra)}/month to run DR at active capacity"

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimate": True,
            "summary": self.summary_line(),
            "warm_standby": self.warm_standby_line(),
            "as_of": self.as_of,
            "price_region": self.price_region,
            "monthly_usd_idle": str(self.idle_monthly_usd),
            "monthly_usd_failover": str(self.failover_monthly_usd),
            "warm_standby_monthly_usd": str(self.warm_standby_usd()),
            "lines": [line.to_dict() for line in self.lines],
            "notes": list(self.notes),
        }
