"""Cost as people read it: a run's estimate (plan), a plan's totals, a run's usage
(after apply). Figures come from the plan document's `cost` (`providers.cost`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from polysync_spec.engine.model import Plan
from polysync_spec.providers.cost import UNITS, priced


def usd(amount: float | None) -> str:
    """$0.0042, $1.23, $1,234.50: cents, or four decimals below one cent."""
    if amount is None:
        return "-"
    return f"${amount:,.4f}" if 0 < amount < 0.01 else f"${amount:,.2f}"


def usage_text(usage: Mapping[str, float] | None) -> str:
    """`0.25 DPU-hours` / `0.0167 vCPU-hours, 0.0333 GB-hours`."""
    if not usage:
        return "-"
    order = sorted(usage, key=lambda u: UNITS.index(u) if u in UNITS else len(UNITS))
    return ", ".join(f"{_amount(usage[unit])} {unit}" for unit in order)


def _amount(value: float) -> str:
    text = f"{value:.4f}" if value < 10 else f"{value:,.1f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _figure(figure: Mapping[str, Any] | None) -> str | None:
    if not figure:
        return None
    money = f"{usd(figure['usd'])} " if figure.get("usd") is not None else ""
    return f"{money}({usage_text(figure.get('usage'))}; {figure.get('basis')})"


def run_estimate(cost: Mapping[str, Any] | None) -> str:
    """One run's estimate in one line: expected, then at most."""
    if not cost:
        return "cannot be sized (no worker settings, capacity or container resources known)"
    parts = []
    expected, upper = _figure(cost.get("expected")), _figure(cost.get("upper"))
    if expected:
        parts.append(f"expected {expected}")
    if upper:
        parts.append(f"at most {upper}")
    if not parts:
        parts.append(f"{usage_text(cost.get('rate'))} per hour of run time")
    return ", ".join(parts)


def run_estimate_short(cost: Mapping[str, Any] | None) -> str:
    """A table cell: `$0.12 (≤ $1.10)`, `≤ $1.10` without history, or usage where there
    is no price."""
    if not cost:
        return "—"
    expected, upper = cost.get("expected") or {}, cost.get("upper") or {}
    if expected.get("usd") is not None or upper.get("usd") is not None:
        if expected.get("usd") is None:
            return f"≤ {usd(upper['usd'])}"
        bound = f" (≤ {usd(upper['usd'])})" if upper.get("usd") is not None else ""
        return usd(expected["usd"]) + bound
    figure = expected or upper
    if figure:
        return usage_text(figure.get("usage"))
    return f"{usage_text(cost.get('rate'))} per hour of run time"


def plan_totals(plan: Plan) -> str:
    """`expected $1.23, at most $9.87 (limit $5.00); not priced: export`."""
    expected, upper, unpriced = plan.cost_totals()
    text = f"expected {usd(expected)}"
    text += f", at most {usd(upper)}" if upper is not None else ", no upper bound"
    if plan.max_cost is not None:
        text += f" (limit {usd(plan.max_cost)})"
    if unpriced:
        text += f"; not priced: {', '.join(unpriced)}"
    return text


def actual(usage: Mapping[str, float] | None, cost: Mapping[str, Any] | None) -> str:
    """What a run used, priced at the plan's prices where it has them."""
    if not usage:
        return "-"
    amount = priced(usage, (cost or {}).get("prices") or {})
    return f"{usd(amount)} ({usage_text(usage)})" if amount is not None else usage_text(usage)
