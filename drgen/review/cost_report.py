"""The cost estimate in the review: its summary, the lines per place, the totals per place, and with a previous
bundle the change line by line; then the notes and the price sources."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from drgen.review import document as d
from drgen.review.cost_model import Estimate, Line, amount, price_text, usd


def section(section: d.Section, current: Estimate, previous: Estimate | None = None) -> None:
    """Add the estimate to ``section``: summary, lines per place, totals, and with ``previous`` the change."""
    summary, warm = current.summary_line(), current.warm_standby_line()
    section.add(d.Para(f"**{summary[0].upper()}{summary[1:]}**: not a quote. {warm[0].upper()}{warm[1:]}."))
    rows = [
        [
            line.place,
            line.item,
            _quantity(line),
            _unit_price(line),
            usd(line.idle_usd),
            usd(line.failover_usd),
            line.detail,
        ]
        for line in current.lines
    ]
    rows.append(
        [
            "**total**",
            "",
            "",
            "",
            f"**{usd(current.idle_monthly_usd)}**",
            f"**{usd(current.failover_monthly_usd)}**",
            "estimate",
        ]
    )
    section.add(
        d.table(
            [
                "where",
                "item",
                "quantity (idle → failover)",
                "unit price (USD)",
                "USD/month idle",
                "USD/month at failover",
                "counted from",
            ],
            rows,
        )
    )
    section.add(
        d.table(
            ["where", "USD/month idle", "USD/month at failover"],
            [[place, usd(idle), usd(failover)] for place, idle, failover in _per_place(current.lines)]
            + [["**total**", f"**{usd(current.idle_monthly_usd)}**", f"**{usd(current.failover_monthly_usd)}**"]],
        )
    )
    if previous is not None:
        _delta(section, current, previous)
    section.add(d.Bullets(current.notes))
    sources = sorted({line.source for line in current.lines if line.source})
    if sources:
        section.add(
            d.Para(f"Price sources ({current.price_region}, as of {current.as_of}): " + ", ".join(sources) + ".")
        )


def _delta(section: d.Section, current: Estimate, previous: Estimate) -> None:
    before = {line.key: line for line in previous.lines}
    now = {line.key: line for line in current.lines}
    order = {
        key: i
        for i, key in enumerate(
            [*(line.key for line in current.lines), *(line.key for line in previous.lines if line.key not in now)]
        )
    }
    rows = []
    for key in sorted(set(before) | set(now), key=order.__getitem__):
        old, new = before.get(key), now.get(key)
        old_idle, old_failover = (old.idle_usd, old.failover_usd) if old else (Decimal(0), Decimal(0))
        new_idle, new_failover = (new.idle_usd, new.failover_usd) if new else (Decimal(0), Decimal(0))
        if (old_idle, old_failover) == (new_idle, new_failover) and (old is None) == (new is None):
            continue
        change = "added" if old is None else "removed" if new is None else _quantity_change(old, new)
        rows.append([key[0], key[1], change, _signed(new_idle - old_idle), _signed(new_failover - old_failover)])
    idle_delta = current.idle_monthly_usd - previous.idle_monthly_usd
    failover_delta = current.failover_monthly_usd - previous.failover_monthly_usd
    if not rows:
        section.add(
            d.Para(
                f"Against the previous bundle: the estimate is unchanged "
                f"(USD {usd(current.idle_monthly_usd)}/month idle, {usd(current.failover_monthly_usd)} at failover)."
            )
        )
        return
    rows.append(
        [
            "**total**",
            "",
            f"{usd(previous.idle_monthly_usd)} → {usd(current.idle_monthly_usd)} idle",
            f"**{_signed(idle_delta)}**",
            f"**{_signed(failover_delta)}**",
        ]
    )
    section.add(
        d.Para(
            f"Against the previous bundle (estimate): USD {_signed(idle_delta)}/month idle, "
            f"{_signed(failover_delta)} at failover."
        )
    )
    section.add(d.table(["where", "item", "change", "USD/month idle", "USD/month at failover"], rows))


def _per_place(lines: Iterable[Line]) -> list[tuple[str, Decimal, Decimal]]:
    totals: dict[str, list[Decimal]] = {}
    for line in lines:
        place = totals.setdefault(line.place, [Decimal("0.00"), Decimal("0.00")])
        place[0] += line.idle_usd
        place[1] += line.failover_usd
    return [(place, idle, failover) for place, (idle, failover) in totals.items()]


def _quantity(line: Line) -> str:
    if line.kind == "usage":
        return "per use"
    if line.quantity_idle == line.quantity_failover:
        return amount(line.quantity_idle)
    return f"{amount(line.quantity_idle)} → {amount(line.quantity_failover)}"


def _quantity_change(old: Line, new: Line) -> str:
    if (old.quantity_idle, old.quantity_failover) == (new.quantity_idle, new.quantity_failover):
        return "price"
    return f"{_quantity(old)} → {_quantity(new)}" if old.kind != "usage" else "per use"


def _unit_price(line: Line) -> str:
    if not line.priced:
        return "not in the table"
    return f"{price_text(line.unit_usd)} per {line.unit}"


def _signed(value: Decimal) -> str:
    return ("+" if value > 0 else "-" if value < 0 else "±") + usd(abs(value))
