"""Property tests of the portfolio risk governor (futures_lib.risk, pure functions).

The simulation below plays the governor's own rules as the strategy adapter applies them:
each new trade may lose at most ``risk_budget`` (scaled risk, never more than the room above
the floor once the open trades hit their stops) and its stake comes from
``stake_for_budget``; the trade then loses its whole budget plus an adverse extra cost.
"""

from __future__ import annotations

import pytest
from futures_lib import margin, risk
from hypothesis import given, settings
from hypothesis import strategies as st

FEE = 0.0005

limits = st.floats(min_value=risk.MAX_DRAWDOWN_MIN, max_value=risk.MAX_DRAWDOWN_MAX)
risks = st.floats(min_value=risk.RISK_PER_TRADE_MIN, max_value=risk.RISK_PER_TRADE_MAX)
costs = st.floats(min_value=0.0, max_value=0.5)  # extra loss past the stop, in budgets


@settings(max_examples=300, deadline=None)
@given(
    equity0=st.floats(min_value=100.0, max_value=1e7),
    r=risks,
    limit=limits,
    extra=st.lists(costs, min_size=1, max_size=200),
    concurrent=st.integers(min_value=1, max_value=5),
)
def test_losing_streak_never_breaks_the_floor_by_more_than_one_budget(
    equity0, r, limit, extra, concurrent
):
    """Any sequence of losing trades (``concurrent`` open at once, all stopped out together)
    leaves equity above the floor, less at most one trade's budget of costs and gaps."""
    equity = high_water = equity0
    floor = high_water * (1 - limit)
    stream = iter(extra)
    done = False
    while not done:
        open_budgets: list[float] = []
        for _ in range(concurrent):
            budget = risk.risk_budget(equity, high_water, r, limit, sum(open_budgets))
            if budget <= 0:
                break
            open_budgets.append(budget)
        if not open_budgets:
            break
        for budget in open_budgets:
            cost = next(stream, None)
            if cost is None:
                done = True
                break
            equity -= budget * (1 + cost)
        one_budget = r * equity0
        assert equity >= floor - one_budget * 0.5 * len(open_budgets) - 1e-9
        assert equity >= floor - sum(b * 0.5 for b in open_budgets) - 1e-9
    # and the governor halts there: nothing more may be risked at the floor
    assert risk.risk_budget(min(equity, floor), high_water, r, limit) == 0.0


@settings(max_examples=300, deadline=None)
@given(limit=limits, a=st.floats(0, 1), b=st.floats(0, 1))
def test_risk_scale_is_monotone_in_the_drawdown(limit, a, b):
    lo, hi = sorted((a, b))
    assert risk.risk_scale(lo, limit) >= risk.risk_scale(hi, limit)
    assert 0.0 <= risk.risk_scale(hi, limit) <= 1.0
    assert risk.risk_scale(0.0, limit) == 1.0


@settings(max_examples=200, deadline=None)
@given(limit=limits, r=risks, hwm=st.floats(min_value=100.0, max_value=1e7))
def test_halt_fires_exactly_at_the_drawdown_limit(limit, r, hwm):
    def state(equity: float) -> risk.GovernorState:
        return risk.governor_state(
            equity=equity,
            high_water=hwm,
            day_open_equity=equity,  # no daily loss
            risk_per_trade=r,
            max_drawdown=limit,
            daily_loss_limit=0.10,
        )

    at = hwm * (1 - limit)
    assert state(at).halted
    assert state(at * (1 - 1e-9)).halted
    above = state(at * (1 + 1e-6))
    assert not above.halted and above.risk_scale > 0
    assert state(at).risk_scale == 0.0


@settings(max_examples=200, deadline=None)
@given(daily=st.floats(risk.DAILY_LOSS_LIMIT_MIN, risk.DAILY_LOSS_LIMIT_MAX), r=risks)
def test_daily_limit_fires_exactly_at_its_threshold(daily, r):
    day_open = 10_000.0

    def state(equity: float) -> risk.GovernorState:
        return risk.governor_state(
            equity=equity,
            high_water=day_open,
            day_open_equity=day_open,
            risk_per_trade=r,
            max_drawdown=0.30,  # far away, so only the daily limit can fire
            daily_loss_limit=daily,
        )

    assert state(day_open * (1 - daily)).halted
    assert "daily loss" in state(day_open * (1 - daily)).reason
    assert not state(day_open * (1 - daily) * (1 + 1e-6)).halted


def test_latched_halt_stays_until_rearmed():
    kwargs = {"high_water": 10_000.0, "day_open_equity": 9_000.0, "risk_per_trade": 0.005}
    recovered = risk.governor_state(
        equity=9_500.0, max_drawdown=0.15, daily_loss_limit=0.03, latched=True, **kwargs
    )
    assert recovered.halted and "re-arm" in recovered.reason
    rearmed = risk.governor_state(
        equity=9_500.0, max_drawdown=0.15, daily_loss_limit=0.03, latched=False, **kwargs
    )
    assert not rearmed.halted and 0 < rearmed.risk_scale < 1


def test_high_water_mark_and_curve_drawdown():
    curve = [10_000.0, 10_500.0, 9_450.0, 9_800.0]
    assert risk.high_water_mark(curve, [10_700.0]) == 10_700.0
    assert risk.max_drawdown_of(curve) == pytest.approx(0.10)


def test_open_risk_counts_the_distance_to_each_stop_and_the_exit_fee():
    # long 2 @ 100 with stop 90; short 1 @ 50 with stop 55; a long whose stop locks profit
    positions = [(2.0, 100.0, 90.0, False), (1.0, 50.0, 55.0, True), (1.0, 100.0, 101.0, False)]
    fees = FEE * (2 * 90 + 55 + 101)
    assert risk.open_risk(positions, FEE) == pytest.approx(20.0 + 5.0 + fees)


@given(
    budget=st.floats(min_value=1.0, max_value=1e6),
    dist=st.floats(min_value=0.003, max_value=0.3),
)
def test_stake_for_budget_loses_the_budget_at_the_stop(budget, dist):
    lev = risk.leverage_for_stop(dist, stoploss=-0.3, max_leverage=10)
    stake = risk.stake_for_budget(budget, -0.3, lev, FEE)
    assert risk.loss_at_stop(stake, -0.3, lev, FEE) == pytest.approx(budget, rel=1e-9)


@settings(max_examples=300, deadline=None)
@given(
    dist=st.floats(min_value=0.001, max_value=0.5),
    max_lev=st.floats(min_value=1, max_value=10),
    mmr=st.floats(min_value=0.002, max_value=0.05),
    is_short=st.booleans(),
)
def test_leverage_for_stop_is_in_range_and_liquidation_safe(dist, max_lev, mmr, is_short):
    brackets = (margin.Bracket(0.0, None, 50.0, mmr, 0.0),)
    lev = risk.leverage_for_stop(
        dist, stoploss=-0.3, max_leverage=max_lev, brackets=brackets, is_short=is_short
    )
    assert 1.0 <= lev <= max_lev
    if lev > 1.0:
        assert risk.stop_before_liquidation(1.0, -0.3, lev, is_short, brackets[0], 0.1)
    if 0.3 / dist <= max_lev and lev == pytest.approx(0.3 / dist, rel=0.01):
        # uncapped: the price stop lies the asked distance away
        assert abs(risk.stop_price(1.0, -0.3, lev, is_short) - 1.0) == pytest.approx(dist, rel=0.02)


@pytest.mark.parametrize(
    ("name", "value"),
    [("max_drawdown", 0.04), ("max_drawdown", 0.31), ("daily_loss_limit", 0.2)],
)
def test_out_of_range_limits_are_clear_errors(name, value):
    check = {
        "max_drawdown": risk.validate_max_drawdown,
        "daily_loss_limit": risk.validate_daily_loss_limit,
    }[name]
    with pytest.raises(ValueError, match=name):
        check(value)
