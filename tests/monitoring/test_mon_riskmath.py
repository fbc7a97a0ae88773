"""The pure risk arithmetic: worked examples and properties."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
from risk_exporter import riskmath

prices = st.floats(min_value=1e-4, max_value=1e7, allow_nan=False, allow_infinity=False)


def test_liquidation_distance_long_and_short() -> None:
    assert riskmath.liquidation_distance(50_000, 45_000, is_short=False) == 0.1
    assert riskmath.liquidation_distance(50_000, 55_000, is_short=True) == 0.1
    # Past the liquidation price the distance is negative, which any threshold catches.
    assert riskmath.liquidation_distance(44_000, 45_000, is_short=False) < 0
    assert math.isnan(riskmath.liquidation_distance(50_000, None, is_short=False))
    assert math.isnan(riskmath.liquidation_distance(50_000, 0.0, is_short=True))


@given(mark=prices, liq=prices, short=st.booleans())
def test_liquidation_distance_is_positive_exactly_on_the_safe_side(
    mark: float, liq: float, short: bool
) -> None:
    d = riskmath.liquidation_distance(mark, liq, short)
    safe = liq > mark if short else liq < mark
    assert (d > 0) == safe or mark == liq


def test_margin_ratio() -> None:
    # 5x long, 100 USDT margin, 500 notional at 0.5 % maintenance → 2.5 / 100.
    mm = riskmath.maintenance_margin(riskmath.notional(0.01, 50_000), 0.005)
    assert mm == 2.5
    assert riskmath.margin_ratio(mm, 100.0) == 0.025
    # Losing 97.5 of the 100 margin puts the ratio at 1: liquidation.
    assert riskmath.margin_ratio(mm, 2.5) == 1.0
    assert riskmath.margin_ratio(mm, 0.0) == math.inf
    assert riskmath.margin_ratio(mm, -5.0) == math.inf


def test_drawdown_and_peak() -> None:
    peak = None
    for equity in (1000.0, 1100.0, 990.0):
        peak = riskmath.next_peak(peak, equity)
    assert peak == 1100.0
    assert riskmath.drawdown(990.0, peak) == 0.1
    assert riskmath.drawdown(1200.0, peak) == 0.0
    assert riskmath.drawdown(10.0, 0.0) == 0.0


@given(
    equities=st.lists(
        st.floats(min_value=0.01, max_value=1e9, allow_nan=False), min_size=1, max_size=50
    )
)
def test_drawdown_bounded(equities: list[float]) -> None:
    peak = None
    for e in equities:
        peak = riskmath.next_peak(peak, e)
        assert peak is not None
        assert 0.0 <= riskmath.drawdown(e, peak) < 1.0


def test_live_vs_backtest() -> None:
    # 1000 capital, 16 USDT in 10 days → 0.16 %/day; backtest expected 0.2 %/day → 0.8.
    live = riskmath.daily_return(16.0, 1000.0, 10.0)
    expected = riskmath.expected_daily_return(profit_ratio=0.6, period_days=300)
    assert math.isclose(riskmath.live_vs_backtest(live, expected), 0.8)
    assert riskmath.expected_daily_return(daily_ratio=0.001) == 0.001
    assert math.isnan(riskmath.live_vs_backtest(live, 0.0))
    assert math.isnan(riskmath.daily_return(1.0, 1000.0, 0.0))


def test_funding_sign_and_ratio() -> None:
    assert riskmath.funding_paid(-1.5) == 1.5  # freqtrade: negative = paid
    assert riskmath.funding_paid(None) == 0.0
    assert riskmath.ratio(50, 200) == 0.25
    assert math.isnan(riskmath.ratio(50, None))
