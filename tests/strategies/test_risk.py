"""Unit and property tests of packages/futures_lib/futures_lib/risk.py (no freqtrade involved)."""

from __future__ import annotations

import numpy as np
import pytest
from futures_lib import margin, risk
from hypothesis import given, settings
from hypothesis import strategies as st

FEE = 0.0005  # Binance USDT-M taker fee used by the backtests

equities = st.floats(min_value=50.0, max_value=1e8, allow_nan=False)
stoplosses = st.floats(min_value=0.005, max_value=0.6, allow_nan=False)
leverages = st.floats(min_value=1.0, max_value=10.0, allow_nan=False)
risks = st.floats(min_value=risk.RISK_PER_TRADE_MIN, max_value=risk.RISK_PER_TRADE_MAX)
prices = st.floats(min_value=1e-4, max_value=2e5, allow_nan=False)


def simulate_stop_loss(
    stake: float, stoploss: float, leverage: float, entry: float, is_short: bool, fee: float
) -> tuple[float, float]:
    """Loss (positive) of an isolated position closed exactly at freqtrade's stop price."""
    amount = stake * leverage / entry
    stop = risk.stop_price(entry, stoploss, leverage, is_short)
    side = -1.0 if is_short else 1.0
    pnl = side * amount * (stop - entry)
    fees = fee * amount * (entry + stop)
    return -pnl, fees


@settings(max_examples=400, deadline=None, database=None)
@given(equities, stoplosses, leverages, risks, prices, st.booleans())
def test_loss_at_stop_equals_risk_budget_within_fees(equity, sl, lev, r, entry, is_short):
    stake = risk.risk_stake(equity, r, -sl)
    price_loss, fees = simulate_stop_loss(stake, -sl, lev, entry, is_short, FEE)
    budget = r * equity
    assert price_loss == pytest.approx(budget, rel=1e-9)
    total = price_loss + fees
    assert budget <= total <= budget + FEE * stake * lev * (2 + sl / lev) + 1e-9 * budget
    assert risk.loss_at_stop(stake, -sl, lev, FEE) >= total - 1e-9 * budget


@settings(max_examples=200, deadline=None, database=None)
@given(equities, stoplosses, st.floats(min_value=2.0, max_value=10.0), risks, prices)
def test_naive_formula_takes_one_over_leverage_of_the_budget(equity, sl, lev, r, entry):
    naive_stake = r * equity / (sl * lev)
    price_loss, _ = simulate_stop_loss(naive_stake, -sl, lev, entry, False, 0.0)
    assert price_loss == pytest.approx(r * equity / lev, rel=1e-9)
    assert price_loss < r * equity


@settings(max_examples=200, deadline=None, database=None)
@given(equities, risks, st.floats(min_value=0.001, max_value=0.08), leverages)
def test_price_stop_sizing_is_the_same_risk(equity, r, dist, lev):
    stake = risk.stake_from_price_stop(equity, r, dist, lev)
    sl = risk.stoploss_from_price_distance(dist, lev)
    assume_valid = abs(sl) < 1
    if assume_valid:
        price_loss, _ = simulate_stop_loss(stake, sl, lev, 100.0, False, 0.0)
        assert price_loss == pytest.approx(r * equity, rel=1e-9)


def test_example_numbers_from_the_docs():
    # 10 000 USDT, 1 % risk, stoploss -0.10 at 10x: stake 1000, notional 10 000,
    # stop 1 % below entry, loss 100 USDT = 1 % of equity.
    stake = risk.risk_stake(10_000, 0.01, -0.10)
    assert stake == pytest.approx(1000.0)
    assert risk.stop_price(100.0, -0.10, 10, False) == pytest.approx(99.0)
    loss, _ = simulate_stop_loss(stake, -0.10, 10, 100.0, False, 0.0)
    assert loss == pytest.approx(100.0)
    # the common formula sizes 100 USDT and loses 10 USDT: a tenth of the budget
    assert pytest.approx(100.0) == 0.01 * 10_000 / (0.10 * 10)


@pytest.mark.parametrize("bad", [0.0, 0.004, 0.021, 0.05, 1.0, -0.01, float("nan")])
def test_risk_per_trade_out_of_range_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="risk_per_trade"):
        risk.validate_risk_per_trade(bad)


@pytest.mark.parametrize("good", [0.005, 0.01, 0.02])
def test_risk_per_trade_in_range(good):
    assert risk.validate_risk_per_trade(good) == good


@pytest.mark.parametrize("bad", [0.5, 10.5, 20])
def test_max_leverage_range(bad):
    with pytest.raises(ValueError, match="max_leverage"):
        risk.validate_max_leverage(bad)


def test_clamp_stake_caps_and_minimum():
    kw = dict(leverage=5.0, equity=10_000.0, min_stake=10.0, max_stake=50_000.0)
    assert risk.clamp_stake(1000.0, **kw) == 1000.0  # 5000 notional < 1.5 x equity
    # per pair: 1.5 x 10 000 = 15 000 notional, 12 000 already open -> 3000 / 5 = 600 stake
    assert risk.clamp_stake(1000.0, pair_notional_open=12_000.0, **kw) == pytest.approx(600.0)
    # total: 4 x equity = 40 000, 39 000 open -> 1000 / 5 = 200
    assert risk.clamp_stake(1000.0, total_notional_open=39_000.0, **kw) == pytest.approx(200.0)
    # the exchange's max stake
    assert risk.clamp_stake(1000.0, **{**kw, "max_stake": 300.0}) == 300.0
    # below the exchange minimum: do not trade rather than exceed the budget
    assert risk.clamp_stake(5.0, **kw) == 0.0
    assert risk.clamp_stake(1000.0, pair_notional_open=15_000.0, **kw) == 0.0


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.floats(min_value=0.0, max_value=1e5),
    st.floats(min_value=0.0, max_value=1e5),
    st.floats(min_value=0.0, max_value=1e5),
    leverages,
)
def test_clamp_never_raises_stake_nor_breaks_caps(stake, pair_open, total_open, lev):
    equity = 10_000.0
    out = risk.clamp_stake(
        stake,
        leverage=lev,
        equity=equity,
        min_stake=None,
        max_stake=1e9,
        pair_notional_open=pair_open,
        total_notional_open=total_open,
    )
    assert 0.0 <= out <= stake
    if out > 0:
        assert pair_open + out * lev <= 1.5 * equity + 1e-6
        assert total_open + out * lev <= 4.0 * equity + 1e-6


BTC_BRACKETS = (
    margin.Bracket(0, 300_000, 150, 0.004, 0),
    margin.Bracket(300_000, 800_000, 100, 0.005, 300),
    margin.Bracket(800_000, 3_000_000, 75, 0.0065, 1500),
    margin.Bracket(3_000_000, 12_000_000, 50, 0.01, 10500),
    margin.Bracket(12_000_000, 70_000_000, 20, 0.025, 190500),
    margin.Bracket(70_000_000, 100_000_000, 10, 0.05, 1940500),
    margin.Bracket(100_000_000, 230_000_000, 5, 0.1, 6940500),
    margin.Bracket(230_000_000, 480_000_000, 4, 0.125, 12690500),
    margin.Bracket(480_000_000, 600_000_000, 3, 0.15, 24690500),
    margin.Bracket(600_000_000, 800_000_000, 2, 0.25, 84690500),
    margin.Bracket(800_000_000, 1_200_000_000, 1, 0.5, 284690500),
)


def test_bracket_caps_leverage_for_large_notional():
    assert risk.bracket_max_leverage(BTC_BRACKETS, 1000.0) == 150.0
    # 9M stake: 10x = 90M notional, in the "70M..100M" bracket that allows 10x
    assert risk.bracket_max_leverage(BTC_BRACKETS, 9_000_000.0) == 10.0
    # 10M stake: 10x = 100M is the floor of the 5x bracket (floors are inclusive) -> 9x
    assert risk.bracket_max_leverage(BTC_BRACKETS, 10_000_000.0) == 9.0
    # 30M stake: 10x = 300M (4x bracket); 5x = 150M (5x bracket) ok
    assert risk.bracket_max_leverage(BTC_BRACKETS, 30_000_000.0) == 5.0
    # a 0.8 % stop asks for 10x; the brackets allow 5x for that stake
    lev = risk.leverage_for_stop(
        0.008, stoploss=-0.08, stake=30_000_000.0, max_leverage=10.0, brackets=BTC_BRACKETS
    )
    assert lev == 5.0


def test_liquidation_price_closed_form():
    # without maintenance amount: long liq = e (1 - 1/L) / (1 - mmr), short e (1 + 1/L)/(1 + mmr)
    e, lev, mmr = 100.0, 10.0, 0.004
    assert margin.isolated_liquidation_price(e, lev, False, mmr) == pytest.approx(
        e * (1 - 1 / lev) / (1 - mmr)
    )
    assert margin.isolated_liquidation_price(e, lev, True, mmr) == pytest.approx(
        e * (1 + 1 / lev) / (1 + mmr)
    )


def test_leverage_lowered_until_stop_precedes_liquidation():
    b = (margin.Bracket(0, None, 125, 0.05, 0),)
    # stoploss -0.6 at 10x: price stop 6 %, liquidation about 5.3 % away -> unsafe
    assert not risk.stop_before_liquidation(1.0, -0.6, 10, False, b[0])
    lev = risk.leverage_for_stop(0.06, stoploss=-0.6, stake=100.0, max_leverage=10.0, brackets=b)
    assert lev < 10
    assert risk.stop_before_liquidation(1.0, -0.6, lev, False, b[0], buffer=0.1)
    assert not risk.stop_before_liquidation(1.0, -0.6, lev + 1, False, b[0], buffer=0.1)


def test_funding_classification():
    assert risk.classify_funding(0.0001) is risk.FundingBias.NEUTRAL  # Binance baseline
    assert risk.classify_funding(0.0) is risk.FundingBias.NEUTRAL
    assert risk.classify_funding(-0.0001) is risk.FundingBias.LONG_FAVOURABLE
    assert risk.classify_funding(0.0003) is risk.FundingBias.SHORT_FAVOURABLE
    assert risk.classify_funding(float("nan")) is risk.FundingBias.NEUTRAL
    arr = risk.classify_funding_array(np.array([-0.0001, 0.0001, 0.0003, np.nan]))
    assert list(arr) == ["long_favourable", "neutral", "short_favourable", "neutral"]
    assert risk.funding_allows("long", "long_favourable")
    assert risk.funding_allows("long", "neutral")
    assert not risk.funding_allows("long", "short_favourable")
    assert not risk.funding_allows("short", "long_favourable")
    with pytest.raises(ValueError):
        risk.classify_funding(0.0, 0.001, 0.0001)


def test_funding_thresholds_fire_on_real_data():
    """A 1 % threshold would never fire; the calibrated ones do on the repository slice."""
    from strat_helpers import PAIRS, load

    rates = np.concatenate([load(p, "8h-funding_rate")["funding_rate"].to_numpy() for p in PAIRS])
    classes = set(risk.classify_funding_array(rates))
    assert classes == {"long_favourable", "short_favourable", "neutral"}
    assert np.abs(rates).max() < 0.01


def test_long_short_ratio_filter_is_neutral_without_data():
    for side in ("long", "short"):
        assert risk.long_short_ratio_allows(side, None)
        assert risk.long_short_ratio_allows(side, float("nan"))
    assert not risk.long_short_ratio_allows("long", 4.0)
    assert risk.long_short_ratio_allows("short", 4.0)
    assert not risk.long_short_ratio_allows("short", 0.2)
