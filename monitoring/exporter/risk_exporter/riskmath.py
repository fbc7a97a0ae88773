"""Pure risk arithmetic. No I/O, no clocks: every input is an argument.

Definitions (also in docs/monitoring.md):

* notional            = amount x mark price (absolute value, quote currency)
* maintenance margin  = notional x maintenance margin rate (Binance tier rate; with the
  bracket's maintenance amount, futures_lib.margin, when the tiers are known)
* margin balance      = margin (the position's collateral, freqtrade's stake) + unrealised PnL
* margin ratio        = maintenance margin / margin balance; Binance liquidates at 1.0
* liquidation distance = how far the mark price may still move against the position before
  the liquidation price, as a fraction of the mark price
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def notional(amount: float, mark_price: float) -> float:
    return abs(amount) * mark_price


def maintenance_margin(notional_value: float, mm_rate: float) -> float:
    return notional_value * mm_rate


def margin_ratio(maint_margin: float, margin_balance: float) -> float:
    """Maintenance margin over margin balance. An exhausted balance (<= 0) is +Inf: the
    position is past liquidation, and +Inf still compares greater than any threshold."""
    if margin_balance <= 0:
        return math.inf
    return maint_margin / margin_balance


def liquidation_distance(
    mark_price: float, liquidation_price: float | None, is_short: bool
) -> float:
    """Fraction of the mark price the market can still move against the position.

    Long: (mark - liq) / mark. Short: (liq - mark) / mark. Negative once beyond the
    liquidation price; NaN when freqtrade reports no liquidation price (spot, or unknown).
    """
    if liquidation_price is None or liquidation_price <= 0 or mark_price <= 0:
        return math.nan
    if is_short:
        return (liquidation_price - mark_price) / mark_price
    return (mark_price - liquidation_price) / mark_price


def drawdown(equity: float, peak_equity: float) -> float:
    """Drop from the peak as a fraction of the peak; 0 at or above the peak."""
    if peak_equity <= 0:
        return 0.0
    return max(0.0, (peak_equity - equity) / peak_equity)


def next_peak(previous_peak: float | None, equity: float) -> float:
    if previous_peak is None or math.isnan(previous_peak):
        return equity
    return max(previous_peak, equity)


def daily_return(profit_abs: float, starting_capital: float, days: float) -> float:
    """Average simple return per day (no compounding: matches how backtest reports read)."""
    if starting_capital <= 0 or days <= 0:
        return math.nan
    return profit_abs / starting_capital / days


def expected_daily_return(
    profit_ratio: float | None = None,
    period_days: float | None = None,
    daily_ratio: float | None = None,
) -> float:
    """Backtest expectation normalised to a daily ratio: either given directly or as the total
    profit ratio over the backtest period."""
    if daily_ratio is not None:
        return daily_ratio
    if profit_ratio is not None and period_days:
        return profit_ratio / period_days
    return math.nan


def live_vs_backtest(live_daily: float, expected_daily: float) -> float:
    """Live performance as a fraction of the backtest's. 1.0 = as backtested; target >= 0.8.
    Undefined (NaN) if the backtest expected no profit."""
    if math.isnan(live_daily) or math.isnan(expected_daily) or expected_daily <= 0:
        return math.nan
    return live_daily / expected_daily


def funding_paid(funding_fees: float | None) -> float:
    """freqtrade stores funding as received (+) / paid (-); the monitor speaks of cost."""
    if funding_fees is None:
        return 0.0
    return -funding_fees


def ratio(value: float, limit: float | None) -> float:
    if not limit or limit <= 0:
        return math.nan
    return value / limit


def account_margin_ratio(maint_margins: Iterable[float], equity: float) -> float:
    """Cross-margin view of the whole bot: all maintenance margins over equity."""
    return margin_ratio(sum(maint_margins), equity)
