"""Binance USDⓈ-M margin math: leverage brackets, maintenance margin and liquidation price.

One copy for every part of the project that needs it: the strategies (leverage below the
liquidation price), the risk monitor (maintenance margin of open positions) and the exchange
stand-in (its accounts). Plain, typed, pure functions.

Binance's formula for one one-way position (USDⓈ-M "liquidation price"):

    LP = (WB - TMM1 + UPNL1 + cum - s * size * EP) / (size * MMR - s * size)

with s = +1 for a long and -1 for a short. Isolated margin: WB is the position's isolated
wallet and TMM1 = UPNL1 = 0. Cross margin: WB is the cross wallet, TMM1 and UPNL1 the
maintenance margin and unrealised PnL of the account's other cross positions. MMR and cum
(the "maintenance amount") come from the bracket that holds the notional.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple


class Bracket(NamedTuple):
    """One leverage bracket: notionals in [notional_floor, notional_cap) allow up to
    max_leverage and keep mmr x notional - maint_amount as maintenance margin."""

    notional_floor: float
    notional_cap: float | None  # None: no upper bound
    max_leverage: float
    mmr: float  # maintenance-margin rate
    maint_amount: float = 0.0  # Binance "cum"

    @classmethod
    def from_binance(cls, wire: Mapping[str, Any]) -> Bracket:
        """From a bracket of Binance's ``GET /fapi/v1/leverageBracket``."""
        return cls(
            float(wire["notionalFloor"]),
            float(wire["notionalCap"]),
            float(wire["initialLeverage"]),
            float(wire["maintMarginRatio"]),
            float(wire.get("cum") or 0.0),
        )

    @classmethod
    def from_ccxt(cls, tier: Mapping[str, Any]) -> Bracket:
        """From a ccxt leverage tier (freqtrade's ``binance_leverage_tiers.json`` and its
        exchange object): ``maintAmt``, or else Binance's ``cum`` in ``info``."""
        cap = tier.get("maxNotional")
        maint = tier.get("maintAmt")
        if maint is None:
            maint = (tier.get("info") or {}).get("cum")
        return cls(
            float(tier["minNotional"]),
            None if cap is None else float(cap),
            float(tier["maxLeverage"]),
            float(tier["maintenanceMarginRate"]),
            float(maint or 0.0),
        )


def bracket_for(brackets: Sequence[Bracket], notional: float) -> Bracket:
    """The bracket that holds ``notional``: the last whose floor it reaches (the first below
    every floor, the last above every cap)."""
    if not brackets:
        raise ValueError("no leverage brackets")
    chosen = brackets[0]
    for b in brackets:
        if notional >= b.notional_floor:
            chosen = b
    return chosen


def maintenance_margin(brackets: Sequence[Bracket], notional: float) -> float:
    """Maintenance margin of a position of ``notional`` (either sign): |notional| x MMR - cum
    of its bracket, never below 0."""
    size = abs(notional)
    b = bracket_for(brackets, size)
    return max(0.0, size * b.mmr - b.maint_amount)


def _solve(amt: float, entry: float, wallet: float, mmr: float, cum: float) -> float:
    side = 1.0 if amt > 0 else -1.0
    size = abs(amt)
    return (wallet + cum - side * size * entry) / (size * mmr - side * size)


def liquidation_price(
    amt: float,
    entry: float,
    wallet: float,
    brackets: Sequence[Bracket],
    other_maint: float = 0.0,
    other_upnl: float = 0.0,
) -> float:
    """Liquidation price of a one-way position of signed size ``amt`` (0 for none).

    ``wallet`` is the isolated wallet, or the cross wallet with ``other_maint`` and
    ``other_upnl`` of the other cross positions. The bracket is the one that holds the
    notional *at the liquidation price*, so every bracket is tried; without a self-consistent
    one (beyond the last cap) the bracket at the entry's notional applies.
    """
    if amt == 0:
        return 0.0
    size = abs(amt)
    wb = wallet - other_maint + other_upnl
    for b in brackets:
        lp = _solve(amt, entry, wb, b.mmr, b.maint_amount)
        cap = b.notional_cap
        if b.notional_floor <= size * lp and (cap is None or size * lp < cap):
            return max(lp, 0.0)
    b = bracket_for(brackets, size * entry)
    return max(_solve(amt, entry, wb, b.mmr, b.maint_amount), 0.0)


def isolated_liquidation_price(
    entry: float,
    leverage: float,
    is_short: bool,
    mmr: float,
    maint_amount: float = 0.0,
    amount: float | None = None,
) -> float:
    """Isolated liquidation price of a position opened at ``entry`` with ``leverage`` (its
    wallet is the initial margin, entry x amount / leverage), in one bracket (mmr, cum).

    ``amount`` (base units) is needed for ``maint_amount``; without it cum is ignored and the
    price is that of any size.
    """
    size = amount if amount is not None else 1.0
    cum = maint_amount if amount is not None else 0.0
    amt = -size if is_short else size
    return _solve(amt, entry, entry * size / leverage, mmr, cum)
