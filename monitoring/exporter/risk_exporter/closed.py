"""Closed trades: funding paid and returns by leverage, accumulated in one paging pass.

freqtrade's `/api/v1/trades` lists closed trades only, ordered by trade id. A trade joins the
list when it closes, so one that closes after a higher-id trade is inserted *before* it: an
offset alone would then count the higher one twice and the lower one never. Hence the split
into committed and provisional totals below (`settle` states the invariant). A poll either
replaces all of `ClosedTrades` or (when a page fails) none of it. Everything here but
`closed_since` is pure.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .client import TradesApi, checked_trades_page

# Upper bounds of the leverage buckets: fixed, so the `leverage` label cannot grow. 125 is
# Binance's maximum leverage.
LEVERAGE_BOUNDS: tuple[int, ...] = (1, 2, 3, 5, 10, 20, 50, 125)


def leverage_bucket(leverage: float | None) -> int:
    """Smallest bound >= leverage. Missing (None) or NaN counts as 1; above 125 (which
    Binance does not allow) goes to the last bucket."""
    if leverage is None or math.isnan(leverage):
        return LEVERAGE_BOUNDS[0]
    return next((b for b in LEVERAGE_BOUNDS if leverage <= b), LEVERAGE_BOUNDS[-1])


def leverage_label(bound: int) -> str:
    """Label value of a bucket: 1 → "1x"."""
    return f"{bound}x"


@dataclass(frozen=True)
class LeverageReturns:
    """Closed trades of one leverage bucket."""

    trades: int = 0
    profit_usdt: float = 0.0  # sum of profit_abs (realised, fees and funding included)
    profit_ratio_sum: float = 0.0  # sum of profit_ratio; mean return = this / trades

    def add(self, profit_usdt: float, profit_ratio: float) -> LeverageReturns:
        return LeverageReturns(
            self.trades + 1, self.profit_usdt + profit_usdt, self.profit_ratio_sum + profit_ratio
        )

    def __add__(self, other: LeverageReturns) -> LeverageReturns:
        return LeverageReturns(
            self.trades + other.trades,
            self.profit_usdt + other.profit_usdt,
            self.profit_ratio_sum + other.profit_ratio_sum,
        )


@dataclass(frozen=True)
class Totals:
    """Funding paid and returns by leverage over a set of closed trades."""

    funding_paid: float = 0.0  # paid = positive (freqtrade's funding_fees: received = +)
    by_leverage: Mapping[int, LeverageReturns] = field(default_factory=dict)

    def fold(self, trades: Iterable[Mapping[str, Any]]) -> Totals:
        """These totals plus `trades`."""
        funding = self.funding_paid
        buckets = dict(self.by_leverage)
        for t in trades:
            funding -= _number(t.get("funding_fees"))
            lev = t.get("leverage")
            bound = leverage_bucket(None if lev is None else float(lev))
            buckets[bound] = buckets.get(bound, LeverageReturns()).add(
                _number(t.get("profit_abs")), _number(t.get("profit_ratio"))
            )
        return Totals(funding, dict(sorted(buckets.items())))

    def __add__(self, other: Totals) -> Totals:
        buckets = dict(self.by_leverage)
        for bound, r in other.by_leverage.items():
            buckets[bound] = buckets.get(bound, LeverageReturns()) + r
        return Totals(self.funding_paid + other.funding_paid, dict(sorted(buckets.items())))


@dataclass(frozen=True)
class ClosedTrades:
    """Closed trades as of the last good poll: `committed` over the id-ordered list's first
    `offset` trades (final), `provisional` over the rest (recounted by every poll), and the
    highest trade id any poll has seen. Reported values are committed + provisional."""

    offset: int = 0
    committed: Totals = field(default_factory=Totals)
    provisional: Totals = field(default_factory=Totals)
    seen_id: int = 0  # freqtrade's ids start at 1: 0 = none seen yet

    @property
    def total(self) -> Totals:
        return self.committed + self.provisional

    @property
    def funding_paid(self) -> float:
        return self.total.funding_paid

    @property
    def by_leverage(self) -> Mapping[int, LeverageReturns]:
        return self.total.by_leverage


def trade_id(trade: Mapping[str, Any]) -> int:
    """freqtrade's `trade_id`; missing or malformed fails the poll (KeyError, ValueError)."""
    return int(trade["trade_id"])


def open_trade_ids(status: Iterable[Mapping[str, Any]]) -> frozenset[int]:
    """Ids of the open trades in a `/status` answer."""
    return frozenset(trade_id(t) for t in status)


def final_bound(open_ids: Collection[int], seen_id: int) -> int:
    """B: closed trades with id < B are final. The lowest open id; with nothing open, one above
    the highest id seen before this poll (not infinity: a trade opened after `/status` may
    still be open, and all we know of its id is that it exceeds every id seen before)."""
    return min(open_ids) if open_ids else seen_id + 1


def settle(
    closed: ClosedTrades, open_ids: Collection[int], rows: Iterable[Mapping[str, Any]]
) -> ClosedTrades:
    """The next totals, from this poll's `/status` ids `open_ids` (read first, at time S) and
    `rows`, the `/trades` pages read after S from `closed.offset` to the end.

    Invariant: with B = `final_bound(...)`, every trade with id < B was closed at S (all open
    ones had ids >= B; with none open, ids < B existed before S) and no trade created later
    gets an id < B (ids only grow). So the closed trades with id < B are a fixed set and, from
    S on, the fixed prefix of the list: trades closing later have ids >= B and land behind it.
    B never falls between polls, so `offset` / `committed` always cover exactly the closed
    trades below the last B, and rows with id < B extend them (each enters once). Rows with
    id >= B go to `provisional`, rebuilt from scratch each poll, never committed in the same
    poll: no trade is in both. A trade closing during the pass only shifts rows >= B: a page
    may repeat the last row of the one before (skipped: ids must increase) and the trade may
    be missed until the next poll. A trade open at S but already closed when `/trades` is read
    is left out: this poll counts it (and its funding) as open, the next one as closed.
    (Deleting a closed trade from freqtrade breaks the prefix; an exporter restart recounts.)
    """
    bound = final_bound(open_ids, closed.seen_id)
    final: list[Mapping[str, Any]] = []
    pending: list[Mapping[str, Any]] = []
    last: int | None = None
    for t in rows:
        tid = trade_id(t)
        if last is not None and tid <= last:
            continue
        last = tid
        if tid < bound:
            final.append(t)
        elif tid not in open_ids:
            pending.append(t)
    seen = max(closed.seen_id, max(open_ids, default=0), last or 0)
    return ClosedTrades(
        offset=closed.offset + len(final),
        committed=closed.committed.fold(final),
        provisional=Totals().fold(pending),
        seen_id=seen,
    )


def _number(value: Any) -> float:
    # A non-numeric string raises ValueError: the poll fails rather than count it as 0.
    return float(value or 0.0)


def closed_since(
    api: TradesApi, closed: ClosedTrades, open_ids: Collection[int], page: int = 500
) -> ClosedTrades:
    """Page `/trades` from `closed.offset` to the end and `settle` them. `open_ids` must come
    from a `/status` read before the first page. Raises (BotApiError, ValueError, ...) if any
    page fails: the caller then keeps `closed`."""
    rows: list[dict[str, Any]] = []
    while True:
        trades = checked_trades_page(api, limit=page, offset=closed.offset + len(rows))
        rows += trades
        if len(trades) < page:
            return settle(closed, open_ids, rows)
