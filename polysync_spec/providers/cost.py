"""What a run costs: prices from a data file, usage in billing units, and the arithmetic
both share. Pure (the price file is read once, from the package or `--price-file`).

Usage is counted in the units AWS bills: Glue in DPU-hours, Batch in vCPU-hours and
GB-hours (memory). A price is USD per unit, for one service, item and region; where
none is known (a region the table lacks, Batch on EC2, Fargate Spot) usage is shown
without a price and the estimate says why: a price is never made up.
"""

from __future__ import annotations

import functools
import json
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from polysync_spec.errors import PolysyncError

DPU_HOURS = "DPU-hours"
VCPU_HOURS = "vCPU-hours"
GB_HOURS = "GB-hours"
UNITS = (DPU_HOURS, VCPU_HOURS, GB_HOURS)

# Glue (2.0 and later) and Fargate both bill per second with a one-minute minimum
# (aws.amazon.com/glue/pricing, aws.amazon.com/fargate/pricing).
MINIMUM_BILLED_SECONDS = 60.0


@dataclass(frozen=True)
class Price:
    """USD per `unit` of one service's `item` (Glue: the execution class; Fargate: vCPU
    or memory) in `region`, with where and when the figure was read."""

    service: str
    item: str
    unit: str
    region: str
    usd: float
    source: str
    date: str


@dataclass(frozen=True)
class Prices:
    """The price table: (service, item, region) -> Price."""

    entries: Mapping[tuple[str, str, str], Price] = field(default_factory=dict)

    def find(self, service: str, item: str, region: str) -> Price | None:
        return self.entries.get((service, item, region))

    def merged(self, other: Prices) -> Prices:
        """This table with `other`'s entries added, replacing those of the same key."""
        return Prices({**self.entries, **other.entries})


def _parse(data: Any, where: str) -> Prices:
    if not isinstance(data, dict) or not isinstance(data.get("prices"), list):
        raise PolysyncError(f"{where}: not a price file (expected an object with a 'prices' list)")
    entries: dict[tuple[str, str, str], Price] = {}
    for index, item in enumerate(data["prices"]):
        try:
            price = Price(
                service=str(item["service"]),
                item=str(item["item"]),
                unit=str(item["unit"]),
                region=str(item["region"]),
                usd=float(item["usd"]),
                source=str(item["source"]),
                date=str(item["date"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PolysyncError(
                f"{where}: prices[{index}] needs service, item, unit, region, usd (a number), "
                f"source and date ({exc.__class__.__name__}: {exc})"
            ) from None
        if price.unit not in UNITS:
            raise PolysyncError(
                f"{where}: prices[{index}] has unit {price.unit!r}; one of {', '.join(UNITS)}"
            )
        if price.usd < 0:
            raise PolysyncError(f"{where}: prices[{index}] has a negative price")
        entries[(price.service, price.item, price.region)] = price
    return Prices(entries)


@functools.cache
def packaged_prices() -> Prices:
    """The table that ships with polysync (providers/data/prices.json), read once."""
    text = resources.files("polysync_spec.providers").joinpath("data/prices.json").read_text()
    return _parse(json.loads(text), "polysync_spec/providers/data/prices.json")


def load_prices(path: str | Path | None = None) -> Prices:
    """The packaged table, with the entries of the price file at `path` (same shape)
    added or replacing those for the same service, item and region. Raises
    PolysyncError naming the file when it cannot be read or is not a price file."""
    table = packaged_prices()
    if path is None:
        return table
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolysyncError(f"cannot read the price file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise PolysyncError(
            f"{path}:{exc.lineno}:{exc.colno}: the price file is not JSON: {exc.msg}"
        ) from None
    return table.merged(_parse(data, str(path)))


def billed_hours(seconds: float) -> float:
    """Hours billed for `seconds` of run time: per second, at least one minute."""
    return max(float(seconds), MINIMUM_BILLED_SECONDS) / 3600.0


def usage_for(rate: Mapping[str, float], seconds: float) -> dict[str, float]:
    """Usage of a run holding `rate` (units per hour of run time, e.g. {"DPU-hours": 10})
    for `seconds`, billed per second with the one-minute minimum."""
    hours = billed_hours(seconds)
    return {unit: amount * hours for unit, amount in rate.items()}


def priced(usage: Mapping[str, float], prices: Mapping[str, float]) -> float | None:
    """USD for `usage` at `prices` (USD per unit); None unless every unit has a price."""
    if not usage or any(unit not in prices for unit in usage):
        return None
    return sum(amount * prices[unit] for unit, amount in usage.items())


def median_seconds(durations: Iterable[float]) -> float | None:
    """The median of past runs' durations; None when there are none."""
    values = [float(d) for d in durations if d is not None and d > 0]
    return statistics.median(values) if values else None


@dataclass(frozen=True)
class Bound:
    """One figure of a run's cost: its usage by unit and where the time came from
    (e.g. "median of 5 recent runs (84 s)", "timeout 120 min")."""

    usage: Mapping[str, float]
    basis: str

    def to_dict(self, prices: Mapping[str, float]) -> dict[str, Any]:
        return {
            "usage": {unit: round(amount, 6) for unit, amount in self.usage.items()},
            "usd": _money(priced(self.usage, prices)),
            "basis": self.basis,
        }


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass(frozen=True)
class CostEstimate:
    """What one run is expected to cost, and at most.

    `rate`: units held per hour of run time (e.g. {"DPU-hours": 10.0}, or an array job's
    children together); `prices`: USD per unit where known (empty: usage only, and
    `notes` say why); `expected`: from the job's recent runs (None: no history);
    `upper`: from the run's own time limit (None: it has none); `sources`: where the
    prices were read."""

    rate: Mapping[str, float]
    prices: Mapping[str, float] = field(default_factory=dict)
    expected: Bound | None = None
    upper: Bound | None = None
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def expected_usd(self) -> float | None:
        return priced(self.expected.usage, self.prices) if self.expected else None

    def upper_usd(self) -> float | None:
        return priced(self.upper.usage, self.prices) if self.upper else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rate": {unit: round(amount, 6) for unit, amount in self.rate.items()},
            "prices": dict(self.prices),
            "expected": self.expected.to_dict(self.prices) if self.expected else None,
            "upper": self.upper.to_dict(self.prices) if self.upper else None,
            "notes": list(self.notes),
            "sources": list(self.sources),
        }


def gate_figure(cost: Mapping[str, Any]) -> float | None:
    """The USD a plan's cost gate counts for one run (its plan document's `cost`): the
    expected figure, else (no history) the upper bound; None when the run has no price
    or neither figure."""
    for key in ("expected", "upper"):
        figure = cost.get(key)
        if figure and figure.get("usd") is not None:
            return float(figure["usd"])
    return None
