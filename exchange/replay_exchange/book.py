"""The synthetic order book around the replayed price, and tick rounding: plain functions of
the replay, shared by the engine (market fills) and the public endpoints (depth, tickers)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from .markets import SPECS
from .replay import Replay


def round_tick(price: float, tick: Decimal, down: bool = True) -> Decimal:
    q = (Decimal(repr(price)) / tick).to_integral_value(rounding=ROUND_DOWN)
    if not down and q * tick < Decimal(repr(price)):
        q += 1
    return q * tick


def book(
    replay: Replay, sym: str, now: int, levels: int
) -> tuple[list[tuple[Decimal, Decimal]], ...]:
    """Synthetic order book around the replayed price: one tick spread, levels 1 bp apart,
    sizes from the recorded volume of the current candle (so thin markets have thin books)."""
    spec = SPECS[sym]
    last = replay.last_price(sym, now)
    tick, step = spec.tick, spec.step
    best_bid = round_tick(last, tick)
    if best_bid <= 0:
        best_bid = tick
    best_ask = best_bid + tick
    s = replay.series(sym, "trade")
    i = replay._base_index(s, now)
    per_min = float(s.v[i]) / (s.tf_ms / 60_000)
    base_qty = max(Decimal(spec.min_qty), Decimal(repr(per_min / 20)).quantize(step, ROUND_DOWN))
    gap = max(tick, round_tick(float(best_bid) * 0.0001, tick))
    bids, asks = [], []
    for k in range(levels):
        qty = (base_qty * (1 + Decimal(k) / 10)).quantize(step, ROUND_DOWN)
        bp = best_bid - gap * k
        if bp > 0:
            bids.append((bp, qty))
        asks.append((best_ask + gap * k, qty))
    return bids, asks
