"""Shared risk module for the USDT-M futures strategies.

Plain, typed, pure functions: no freqtrade import, no I/O, no clock.

Conventions (freqtrade futures semantics, isolated margin):

* ``stake`` is the margin put up for a trade (quote currency, USDT).
* ``leverage`` L: notional = stake * L.
* ``stoploss`` is freqtrade's stoploss: a fraction of the *stake*, not of the price. freqtrade
  places the stop at ``entry * (1 - |stoploss| / L)`` for a long (``1 + ...`` for a short), so
  the price moves ``|stoploss| / L`` and the notional ``stake * L`` loses
  ``stake * L * |stoploss| / L = stake * |stoploss|`` -- independent of the leverage.
* Sizing from risk therefore is ``stake = risk_per_trade * equity / |stoploss|``.
  The often-seen ``risk * equity / (|stoploss| * L)`` divides by L a second time: it is right
  only when the stop is a *price* distance (see :func:`stake_from_price_stop`), and applied to
  freqtrade's stake-relative stoploss it risks 1/L of the budget (a tenth at 10x).

See docs/strategies.md for the calibration of the constants below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

import numpy as np

from futures_lib import margin
from futures_lib.margin import Bracket

# --- risk budget -----------------------------------------------------------------------------
RISK_PER_TRADE_DEFAULT = 0.01
RISK_PER_TRADE_MIN = 0.005
RISK_PER_TRADE_MAX = 0.02

# --- leverage --------------------------------------------------------------------------------
MAX_LEVERAGE_MIN = 1.0
MAX_LEVERAGE_MAX = 10.0

# --- funding ---------------------------------------------------------------------------------
# Binance funding per 8 h event. The baseline (interest component) is +0.0001 (0.01 %) and
# 31 % of all events (2023-01..2025-09) sit exactly on it; docs/strategies.md has the quantiles.
FUNDING_LONG_FAVOURABLE_MAX = -0.00002  # rate at or below: shorts pay longs -> favours longs
FUNDING_SHORT_FAVOURABLE_MIN = 0.00015  # rate at or above: longs pay well above baseline


class FundingBias(StrEnum):
    LONG_FAVOURABLE = "long_favourable"
    SHORT_FAVOURABLE = "short_favourable"
    NEUTRAL = "neutral"


# Used when the exchange's brackets are unknown: Binance's first bracket of the smallest of
# the five pairs (BNB/ADA: 0..10k USDT, 75x, 0.5 %) with a stricter mmr for safety.
DEFAULT_BRACKETS: tuple[Bracket, ...] = (Bracket(0.0, None, 20.0, 0.01, 0.0),)


# --- validation ------------------------------------------------------------------------------
def validate_risk_per_trade(risk_per_trade: float) -> float:
    """Return ``risk_per_trade`` if it lies in [0.5 %, 2 %] (as a fraction), else raise."""
    if not isinstance(risk_per_trade, int | float) or math.isnan(risk_per_trade):
        raise ValueError(f"risk_per_trade must be a number, got {risk_per_trade!r}")
    if not RISK_PER_TRADE_MIN <= risk_per_trade <= RISK_PER_TRADE_MAX:
        raise ValueError(
            f"risk_per_trade={risk_per_trade} is outside the allowed range "
            f"[{RISK_PER_TRADE_MIN}, {RISK_PER_TRADE_MAX}] (a fraction of equity: 0.01 = 1 %)"
        )
    return float(risk_per_trade)


def validate_max_leverage(max_leverage: float) -> float:
    if not MAX_LEVERAGE_MIN <= max_leverage <= MAX_LEVERAGE_MAX:
        raise ValueError(
            f"max_leverage={max_leverage} is outside [{MAX_LEVERAGE_MIN}, {MAX_LEVERAGE_MAX}]"
        )
    return float(max_leverage)


def _validate_stoploss(stoploss: float) -> float:
    sl = abs(stoploss)
    if not 0 < sl < 1:
        raise ValueError(f"stoploss must be a fraction of the stake in (0, 1), got {stoploss}")
    return sl


# --- sizing ----------------------------------------------------------------------------------
def risk_stake(equity: float, risk_per_trade: float, stoploss: float) -> float:
    """Stake whose loss at freqtrade's stop is ``risk_per_trade * equity``.

    Leverage does not appear: the stake lost at the stop is ``|stoploss| * stake`` whatever the
    leverage (the stop price is ``entry * (1 - |stoploss| / L)``).
    """
    validate_risk_per_trade(risk_per_trade)
    sl = _validate_stoploss(stoploss)
    if equity <= 0:
        return 0.0
    return risk_per_trade * equity / sl


def stake_from_price_stop(
    equity: float, risk_per_trade: float, price_distance: float, leverage: float
) -> float:
    """Stake for a stop given as a *price* distance (fraction of the entry price).

    Here the leverage belongs in the denominator: the notional ``stake * L`` loses
    ``price_distance`` of its value. Identical to :func:`risk_stake` with the freqtrade
    stoploss ``price_distance * L``.
    """
    if price_distance <= 0 or leverage < 1:
        raise ValueError("price_distance must be > 0 and leverage >= 1")
    return risk_stake(equity, risk_per_trade, price_distance * leverage)


def stoploss_from_price_distance(price_distance: float, leverage: float) -> float:
    """freqtrade stoploss (negative, stake-relative) for a stop ``price_distance`` away."""
    return -price_distance * leverage


def stop_price(entry: float, stoploss: float, leverage: float, is_short: bool) -> float:
    """Price at which freqtrade's stop triggers."""
    move = abs(stoploss) / leverage
    return entry * (1 + move) if is_short else entry * (1 - move)


def loss_at_stop(stake: float, stoploss: float, leverage: float, fee_rate: float = 0.0) -> float:
    """Loss (quote currency, positive) when the stop fills exactly, including both fees.

    Price loss ``stake * |stoploss|``; entry fee on ``stake * L``, exit fee on the notional at the
    stop price ``stake * L * (1 -/+ |stoploss| / L)``; taken pessimistically as
    ``(1 + |sl|/L)``.
    """
    sl = abs(stoploss)
    notional = stake * leverage
    return stake * sl + fee_rate * notional * (2 + sl / leverage)


def clamp_stake(
    stake: float,
    *,
    leverage: float,
    equity: float,
    min_stake: float | None,
    max_stake: float,
    pair_notional_open: float = 0.0,
    total_notional_open: float = 0.0,
    max_pair_exposure: float = 1.5,
    max_total_exposure: float = 4.0,
) -> float:
    """Clamp a risk stake to the exchange's limits and to the exposure caps.

    Exposures are notional (stake * leverage) as multiples of equity: ``max_pair_exposure`` for
    all positions in one pair, ``max_total_exposure`` for all positions. Clamping only ever
    lowers the stake (never raises it above the risk stake): when the result would be below
    ``min_stake`` the function returns 0.0, meaning "do not trade" -- taking the exchange minimum
    would risk more than the budget.
    """
    if stake <= 0 or equity <= 0 or leverage <= 0:
        return 0.0
    pair_room = max(0.0, max_pair_exposure * equity - pair_notional_open) / leverage
    total_room = max(0.0, max_total_exposure * equity - total_notional_open) / leverage
    out = min(stake, max_stake, pair_room, total_room)
    if min_stake is not None and out < min_stake:
        return 0.0
    return max(out, 0.0)


# --- leverage -------------------------------------------------------------------------------
def bracket_max_leverage(brackets: Sequence[Bracket], stake: float) -> float:
    """Highest whole leverage L whose notional ``stake * L`` falls in a bracket allowing L."""
    top = int(max(b.max_leverage for b in brackets))
    last_cap = brackets[-1].notional_cap
    for lev in range(top, 0, -1):
        notional = stake * lev
        if last_cap is not None and notional > last_cap:
            continue
        if margin.bracket_for(brackets, notional).max_leverage >= lev:
            return float(lev)
    return 1.0


def stop_before_liquidation(
    entry: float,
    stoploss: float,
    leverage: float,
    is_short: bool,
    bracket: Bracket,
    buffer: float = 0.1,
    amount: float | None = None,
) -> bool:
    """True if the stop triggers before liquidation with a safety ``buffer``.

    ``buffer`` is a fraction of the entry-to-liquidation distance (freqtrade's own
    ``liquidation_buffer`` uses the same unit, default 0.05): the stop must lie within
    ``(1 - buffer)`` of that distance.
    """
    liq = margin.isolated_liquidation_price(
        entry, leverage, is_short, bracket.mmr, bracket.maint_amount, amount
    )
    stop = stop_price(entry, stoploss, leverage, is_short)
    liq_dist = (liq - entry) if is_short else (entry - liq)
    stop_dist = (stop - entry) if is_short else (entry - stop)
    return liq_dist > 0 and stop_dist <= (1 - buffer) * liq_dist


def _liquidation_safe(
    lev: float,
    sl: float,
    stake: float,
    brackets: Sequence[Bracket],
    is_short: bool,
    liquidation_buffer: float,
) -> float:
    """Lower ``lev`` until the stop sits before liquidation (whole steps; never below 1)."""
    while lev > 1.0:
        bracket = margin.bracket_for(brackets, stake * lev)
        amount = stake * lev if stake > 0 else None  # at entry price 1.0
        if stop_before_liquidation(1.0, sl, lev, is_short, bracket, liquidation_buffer, amount):
            break
        lev = max(1.0, float(math.ceil(lev)) - 1.0)
    return max(lev, 1.0)


def leverage_for_stop(
    stop_distance: float,
    *,
    stoploss: float,
    max_leverage: float,
    exchange_max_leverage: float | None = None,
    brackets: Sequence[Bracket] = DEFAULT_BRACKETS,
    is_short: bool = False,
    liquidation_buffer: float = 0.1,
    stake: float = 0.0,
) -> float:
    """Leverage that puts freqtrade's stake-relative stop ``stop_distance`` away in price.

    freqtrade's stop lies ``|stoploss| / L`` from the entry, so ``L = |stoploss| /
    stop_distance``; then capped by ``max_leverage``, the exchange's maximum and the brackets
    (a capped leverage only widens the price stop: the stake lost at the stop stays
    ``stake * |stoploss|``), and lowered until the stop sits before liquidation. An unknown
    distance (NaN or <= 0) gives 1x.
    """
    validate_max_leverage(max_leverage)
    sl = _validate_stoploss(stoploss)
    if not stop_distance > 0:  # NaN too
        return 1.0
    cap = max_leverage
    if exchange_max_leverage is not None:
        cap = min(cap, exchange_max_leverage)
    if stake > 0:
        cap = min(cap, bracket_max_leverage(brackets, stake))
    # two decimals (rounding noise such as 5.9999999 counts as 6), never above a cap
    lev = max(1.0, min(math.floor(sl / stop_distance * 100 + 1e-6) / 100, cap))
    return _liquidation_safe(lev, sl, stake, brackets, is_short, liquidation_buffer)


def stake_for_budget(budget: float, stoploss: float, leverage: float, fee_rate: float) -> float:
    """Stake whose loss at the stop, both fees included (:func:`loss_at_stop`), is ``budget``."""
    sl = _validate_stoploss(stoploss)
    if budget <= 0 or leverage <= 0:
        return 0.0
    return budget / (sl + fee_rate * leverage * (2 + sl / leverage))


# --- funding ---------------------------------------------------------------------------------
def classify_funding(
    rate: float,
    long_favourable_max: float = FUNDING_LONG_FAVOURABLE_MAX,
    short_favourable_min: float = FUNDING_SHORT_FAVOURABLE_MIN,
) -> FundingBias:
    """Classify one funding rate (per 8 h event, e.g. 0.0001 = 0.01 %). NaN is neutral.

    Positive funding: longs pay shorts -> favours shorts. Negative: shorts pay longs.
    """
    if long_favourable_max >= short_favourable_min:
        raise ValueError("long_favourable_max must be below short_favourable_min")
    if rate is None or math.isnan(rate):
        return FundingBias.NEUTRAL
    if rate <= long_favourable_max:
        return FundingBias.LONG_FAVOURABLE
    if rate >= short_favourable_min:
        return FundingBias.SHORT_FAVOURABLE
    return FundingBias.NEUTRAL


def classify_funding_array(
    rates: np.ndarray,
    long_favourable_max: float = FUNDING_LONG_FAVOURABLE_MAX,
    short_favourable_min: float = FUNDING_SHORT_FAVOURABLE_MIN,
) -> np.ndarray:
    """Vectorised :func:`classify_funding`: array of FundingBias values (as str)."""
    r = np.asarray(rates, dtype=float)
    out = np.full(r.shape, FundingBias.NEUTRAL.value, dtype=object)
    out[r <= long_favourable_max] = FundingBias.LONG_FAVOURABLE.value
    out[r >= short_favourable_min] = FundingBias.SHORT_FAVOURABLE.value
    return out


def funding_allows(side: str, bias: str) -> bool:
    """Long unless funding favours shorts; short unless funding favours longs."""
    if side == "long":
        return bias != FundingBias.SHORT_FAVOURABLE
    if side == "short":
        return bias != FundingBias.LONG_FAVOURABLE
    raise ValueError(f"side must be 'long' or 'short', got {side!r}")


# --- live-only long/short-ratio filter ---------------------------------------------------------
def long_short_ratio_allows(side: str, ratio: float | None, extreme: float = 3.0) -> bool:
    """Contrarian crowding filter on Binance's global long/short account ratio.

    ``None`` (no data: backtests, hyperopt, endpoint down) is neutral and allows everything.
    A long is refused when the crowd is extremely long (ratio >= extreme), a short when it is
    extremely short (ratio <= 1 / extreme).
    """
    if ratio is None or math.isnan(ratio) or ratio <= 0:
        return True
    if side == "long":
        return ratio < extreme
    if side == "short":
        return ratio > 1.0 / extreme
    raise ValueError(f"side must be 'long' or 'short', got {side!r}")


# --- portfolio risk governor -------------------------------------------------------------------
# The account-level loss limit (design: 15 % maximum drawdown). Equity is marked to market:
# realised P&L (fees and funding included) plus open positions at the last candle close. The
# strategy adapter (futures_lib.manager) derives the high-water mark and the halt from the bot's
# own trade database, so a restart, a release switch or a rollback keeps them.
MAX_DRAWDOWN_DEFAULT = 0.15
MAX_DRAWDOWN_MIN = 0.05
MAX_DRAWDOWN_MAX = 0.30
DAILY_LOSS_LIMIT_DEFAULT = 0.03
DAILY_LOSS_LIMIT_MIN = 0.01
DAILY_LOSS_LIMIT_MAX = 0.10


class GovernorState(NamedTuple):
    """What the governor decided for the next entry (fractions of equity)."""

    equity: float
    high_water: float
    drawdown: float  # (high_water - equity) / high_water, >= 0
    daily_loss: float  # (day_open - equity) / day_open, >= 0
    risk_scale: float  # multiplies risk_per_trade, in [0, 1]
    halted: bool
    reason: str  # "" while entries are allowed


def validate_fraction(name: str, value: float, low: float, high: float) -> float:
    """Return ``value`` if it is a number in [low, high], else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(
            f"{name}={value} is outside the allowed range [{low}, {high}] (a fraction: 0.15 = 15 %)"
        )
    return float(value)


def validate_max_drawdown(value: float) -> float:
    return validate_fraction("max_drawdown", value, MAX_DRAWDOWN_MIN, MAX_DRAWDOWN_MAX)


def validate_daily_loss_limit(value: float) -> float:
    return validate_fraction("daily_loss_limit", value, DAILY_LOSS_LIMIT_MIN, DAILY_LOSS_LIMIT_MAX)


def drawdown(equity: float, high_water: float) -> float:
    """Drawdown from the high-water mark as a fraction (0 at or above the mark)."""
    if high_water <= 0:
        return 1.0 if equity <= 0 else 0.0
    return max(0.0, (high_water - equity) / high_water)


def risk_scale(dd: float, max_drawdown: float) -> float:
    """Multiplier of the per-trade risk: 1 at no drawdown, falling linearly to 0 at the limit.

    Linear so that the risk taken shrinks with the room left above the floor: a run of losses
    slows itself down instead of reaching the limit at full size.
    """
    if max_drawdown <= 0:
        raise ValueError("max_drawdown must be > 0")
    return min(1.0, max(0.0, 1.0 - dd / max_drawdown))


def open_risk(positions: Sequence[tuple[float, float, float, bool]], fee_rate: float) -> float:
    """What open positions still lose from the current price to their stops, plus exit fees.

    ``positions``: (amount, current_price, stop_price, is_short). A stop already beyond the
    current price (profit locked in) adds only its exit fee.
    """
    total = 0.0
    for amount, price, stop, is_short in positions:
        move = (stop - price) if is_short else (price - stop)
        total += max(0.0, move) * amount + fee_rate * amount * stop
    return total


def risk_budget(
    equity: float,
    high_water: float,
    risk_per_trade: float,
    max_drawdown: float,
    open_risk_amount: float = 0.0,
) -> float:
    """Quote amount a new trade may lose at its stop, fees included.

    The smaller of the scaled per-trade budget and the room left above the drawdown floor
    ``high_water * (1 - max_drawdown)`` once every open position has hit its stop: even if all
    open trades and the new one stop out together, equity ends at the floor, short only by gaps
    past the stops and funding.
    """
    if equity <= 0:
        return 0.0
    scaled = risk_per_trade * equity * risk_scale(drawdown(equity, high_water), max_drawdown)
    floor = high_water * (1.0 - max_drawdown)
    room = equity - floor - open_risk_amount
    return max(0.0, min(scaled, room))


def high_water_mark(realised_curve: Sequence[float], peaks: Sequence[float] = ()) -> float:
    """Highest equity seen: the realised curve (equity after each closed trade, starting with
    the opening balance) and the mark-to-market peaks recorded while trades were open."""
    values = [*realised_curve, *peaks]
    if not values:
        raise ValueError("no equity observed")
    return max(values)


def max_drawdown_of(curve: Sequence[float]) -> float:
    """Largest peak-to-trough drawdown of an equity curve in time order."""
    peak = -math.inf
    worst = 0.0
    for equity in curve:
        peak = max(peak, equity)
        worst = max(worst, drawdown(equity, peak))
    return worst


def governor_state(
    *,
    equity: float,
    high_water: float,
    day_open_equity: float,
    risk_per_trade: float,
    max_drawdown: float,
    daily_loss_limit: float,
    latched: bool = False,
) -> GovernorState:
    """Whether entries are allowed, and at which risk scale.

    Halts when the drawdown reaches ``max_drawdown``, when the day's loss reaches
    ``daily_loss_limit``, or while an earlier drawdown halt is ``latched`` (it stays until the
    operator re-arms; the daily halt ends with the UTC day).
    """
    validate_risk_per_trade(risk_per_trade)
    validate_max_drawdown(max_drawdown)
    validate_daily_loss_limit(daily_loss_limit)
    hwm = max(high_water, equity)
    dd = drawdown(equity, hwm)
    day_loss = 0.0 if day_open_equity <= 0 else max(0.0, 1.0 - equity / day_open_equity)
    reason = ""
    # a relative tolerance, so that equity exactly at the floor halts despite rounding
    if dd >= max_drawdown * (1 - 1e-9):
        reason = f"drawdown {dd:.2%} reached the limit {max_drawdown:.2%}"
    elif latched:
        reason = f"drawdown reached the limit {max_drawdown:.2%} earlier; re-arm to resume"
    elif day_loss >= daily_loss_limit * (1 - 1e-9):
        reason = f"daily loss {day_loss:.2%} reached the limit {daily_loss_limit:.2%}"
    scale = 0.0 if reason else risk_scale(dd, max_drawdown)
    return GovernorState(equity, hwm, dd, day_loss, scale, bool(reason), reason)


def floor_room(equity: float, high_water: float, max_drawdown: float) -> float:
    """Quote amount equity may still lose before the drawdown floor."""
    return equity - high_water * (1.0 - max_drawdown)


def tightened_stop(price: float, stop: float, is_short: bool, factor: float) -> float:
    """The stop moved toward ``price`` so that its distance shrinks to ``factor`` (0..1) of
    what it was. Used when the open positions' loss to their stops exceeds the room above the
    drawdown floor (the mark-to-market peak rose while the stops stayed put): every open stop
    shrinks by the same factor, so that all stops hit together end at the floor."""
    f = min(1.0, max(0.0, factor))
    return price + (stop - price) * f if is_short else price - (price - stop) * f
