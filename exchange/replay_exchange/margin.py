"""Pure functions for the engine's Binance USDT-M accounting: fees, PnL, funding, fills.

Brackets, maintenance margin and liquidation prices are the project's futures library's
(futures_lib.margin), the same the strategies and the risk monitor use.

Signs: `side` is +1 for a long and -1 for a short; `amt` is the signed position size.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

TAKER_FEE = 0.0005  # Binance USDT-M VIP 0, no BNB discount
MAKER_FEE = 0.0002


def unrealized_pnl(amt: float, entry: float, mark: float) -> float:
    return amt * (mark - entry)


def initial_margin(amt: float, price: float, leverage: int) -> float:
    return abs(amt) * price / leverage


def bankruptcy_price(amt: float, entry: float, margin: float) -> float:
    """Price at which the position has lost exactly `margin`."""
    return entry - margin / amt


def funding_payment(amt: float, mark: float, rate: float) -> float:
    """Funding received by the account (negative: paid). Longs pay when the rate is positive."""
    return -amt * mark * rate


def open_average(amt: float, entry: float, qty: float, price: float) -> float:
    """New entry price after adding `qty` (same sign as amt, or amt == 0) at `price`."""
    total = abs(amt) + abs(qty)
    return (abs(amt) * entry + abs(qty) * price) / total


def walk_book(levels: Sequence[tuple[float, float]], qty: float) -> tuple[float, float]:
    """Average fill price and filled quantity when taking `qty` from the levels."""
    left, cost = qty, 0.0
    for price, size in levels:
        take = min(left, size)
        cost += take * price
        left -= take
        if left <= 1e-12:
            break
    filled = qty - max(left, 0.0)
    if filled <= 0:
        return 0.0, 0.0
    if left > 1e-12 and levels:  # book exhausted: the remainder fills at the last level
        cost += left * levels[-1][0]
        filled = qty
    return cost / filled, filled


def round_to(value: float, unit: Decimal, up: bool = False) -> Decimal:
    q = (Decimal(repr(value)) / unit).to_integral_value(ROUND_CEILING if up else ROUND_FLOOR)
    return q * unit


def is_multiple(value: Decimal, unit: Decimal) -> bool:
    return value % unit == 0


def stop_triggered(order_type: str, side: str, trigger: float, lo: float, hi: float) -> bool:
    """Whether a conditional order fires when the watched price spans [lo, hi].

    STOP / STOP_MARKET: buy when the price rises to the trigger, sell when it falls to it.
    TAKE_PROFIT / TAKE_PROFIT_MARKET: the opposite direction."""
    rising = order_type.startswith("STOP") == (side == "BUY")
    return hi >= trigger if rising else lo <= trigger


# A resting limit order's share of the volume traded beyond its price. The orders queued
# ahead of it at that price and the depth between take the rest; the queue is unknown, so
# a modest share: an order as large as a tenth of what trades through its price fills in
# slices (PARTIALLY_FILLED), a small one at once.
FILL_SHARE = 0.1


def limit_traded_through(side: str, price: float, lo: float, hi: float) -> bool:
    """A resting limit order fills only once the price trades beyond it: a mere touch leaves
    it in the queue."""
    return lo < price if side == "BUY" else hi > price


def limit_fill_qty(side: str, price: float, lo: float, hi: float, volume: float) -> float:
    """Quantity a resting limit order may fill over a path spanning [lo, hi] on which `volume`
    traded: FILL_SHARE of the volume traded beyond its price, the volume taken as spread
    evenly over the range."""
    if not limit_traded_through(side, price, lo, hi):
        return 0.0
    beyond = (price - lo) if side == "BUY" else (hi - price)
    return FILL_SHARE * volume * min(1.0, beyond / (hi - lo))
