"""Pure functions for Binance USDT-M margin math: brackets, margins, liquidation, funding, fills.

Signs: `side` is +1 for a long and -1 for a short; `amt` is the signed position size.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

TAKER_FEE = 0.0005  # Binance USDT-M VIP 0, no BNB discount
MAKER_FEE = 0.0002

Bracket = dict[str, Any]


def bracket_for(brackets: Sequence[Bracket], notional: float) -> Bracket:
    """The bracket whose [notionalFloor, notionalCap) holds the notional (last one if above)."""
    for b in brackets:
        if notional < b["notionalCap"]:
            return b
    return brackets[-1]


def max_leverage(brackets: Sequence[Bracket], notional: float) -> int:
    return int(bracket_for(brackets, notional)["initialLeverage"])


def maint_margin(brackets: Sequence[Bracket], notional: float) -> float:
    """Maintenance margin = notional * rate - maintenance amount ("cum") of the bracket."""
    b = bracket_for(brackets, abs(notional))
    rate: float = b["maintMarginRatio"]
    cum: float = b["cum"]
    return abs(notional) * rate - cum


def unrealized_pnl(amt: float, entry: float, mark: float) -> float:
    return amt * (mark - entry)


def initial_margin(amt: float, price: float, leverage: int) -> float:
    return abs(amt) * price / leverage


def liquidation_price(
    amt: float,
    entry: float,
    wallet: float,
    brackets: Sequence[Bracket],
    other_maint: float = 0.0,
    other_upnl: float = 0.0,
) -> float:
    """Binance's liquidation price for one one-way position.

    LP = (WB - TMM1 + UPNL1 + cumB - side*size*EP) / (size*MMR_B - side*size)

    Isolated: WB is the position's isolated wallet, TMM1 = UPNL1 = 0.
    Cross: WB is the cross wallet balance, TMM1/UPNL1 the maintenance margin and unrealized
    PnL of all other cross positions. The bracket (MMR_B, cumB) is the one that holds the
    position's notional *at the liquidation price*, so every bracket is tried.
    """
    if amt == 0:
        return 0.0
    side = 1.0 if amt > 0 else -1.0
    size = abs(amt)

    def solve(b: Bracket) -> float:
        cum: float = b["cum"]
        rate: float = b["maintMarginRatio"]
        num = wallet - other_maint + other_upnl + cum - side * size * entry
        return num / (size * rate - side * size)

    for b in brackets:
        lp = solve(b)
        if b["notionalFloor"] <= size * lp < b["notionalCap"]:
            return max(lp, 0.0)
    # no self-consistent bracket (e.g. beyond the last cap): use the one at the entry notional
    return max(solve(bracket_for(brackets, size * entry)), 0.0)


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
