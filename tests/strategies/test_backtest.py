"""A real freqtrade backtest of both strategies on the repository's 92-day slice (5 pairs, 15m,
funding and 8h mark), markets from the project's local exchange (``exchange/``), asserting:

* no liquidation, leverage within bounds, every initial stop before the liquidation price;
* FuturesAIRiskStrategy: each stop-loss exit lost no more than the risk budget (1 % of the
  equity at entry) plus fees, funding and the slippage past the stop (gaps);
* RossCameronFuturesStrategy: each stop-loss exit lost no more than |stoploss| x stake plus
  the same costs.
"""

from __future__ import annotations

import json
from pathlib import Path

import futures_risk as risk
import pandas as pd
import pytest
import run_backtest
import strat_helpers  # noqa: F401  (puts strategies/ and tools/strategy on sys.path)
from freqtrade.data.btanalysis import load_backtest_stats

STOP_EXITS = {"stop_loss", "trailing_stop_loss", "stoploss_on_exchange"}
WALLET = 10_000.0
RISK = 0.01
TOL = 1e-6


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("bt")
    rc = run_backtest.main(
        [
            "--data",
            str(run_backtest.ftconfig.REPO_DATA),
            "--work",
            str(tmp / "work"),
            "--out",
            str(tmp / "out"),
            "--wallet",
            str(WALLET),
            "--strategies",
            "RossCameronFuturesStrategy",
            "FuturesAIRiskStrategy",
        ]
    )
    log = next((tmp / "out").glob("freqtrade-*.log")).read_text()
    assert rc == 0, log[-3000:]
    stats = load_backtest_stats(tmp / "out")
    return {name: pd.DataFrame(s["trades"]) for name, s in stats["strategy"].items()}


def _costs(t: pd.Series) -> tuple[float, float]:
    fees = t.fee_open * t.amount * t.open_rate + t.fee_close * t.amount * t.close_rate
    side = -1.0 if t.is_short else 1.0
    slippage = max(0.0, side * (t.stop_loss_abs - t.close_rate)) * t.amount
    return fees + max(0.0, -t.funding_fees), slippage


def _equity_at_entry(trades: pd.DataFrame, open_date: str) -> float:
    closed = trades[pd.to_datetime(trades.close_date) <= pd.to_datetime(open_date)]
    return WALLET + float(closed.profit_abs.sum())


def _brackets() -> dict[str, list[risk.Bracket]]:
    import freqtrade.exchange as fx

    raw = json.loads((Path(fx.__file__).parent / "binance_leverage_tiers.json").read_text())
    return {
        p: [
            risk.Bracket(
                t["minNotional"],
                t["maxNotional"],
                t["maxLeverage"],
                t["maintenanceMarginRate"],
                float(t["info"].get("cum") or 0.0),
            )
            for t in tiers
        ]
        for p, tiers in raw.items()
    }


def test_both_strategies_traded_both_sides(results):
    for name, t in results.items():
        assert len(t) > 50, name
        assert t.is_short.any() and (~t.is_short).any(), name


def test_no_liquidation_and_leverage_in_bounds(results):
    brackets = _brackets()
    for name, t in results.items():
        assert "liquidation" not in set(t.exit_reason), name
        assert t.leverage.between(1.0, 10.0).all(), name
        for _, tr in t.iterrows():
            b = risk.bracket_for_notional(brackets[tr.pair], tr.stake_amount * tr.leverage)
            liq = risk.isolated_liquidation_price(
                tr.open_rate, tr.leverage, tr.is_short, b.mmr, b.maint_amount, tr.amount
            )
            if tr.is_short:
                assert tr.initial_stop_loss_abs < liq, (name, tr.pair, tr.open_date)
            else:
                assert tr.initial_stop_loss_abs > liq, (name, tr.pair, tr.open_date)
    assert set(results["RossCameronFuturesStrategy"].leverage) == {3.0}


def test_leverage_tiers_all_used(results):
    t = results["FuturesAIRiskStrategy"]
    assert {2.0, 5.0, 10.0} <= set(t.leverage), t.leverage.value_counts()


def test_ai_risk_stop_losses_within_risk_budget(results):
    t = results["FuturesAIRiskStrategy"].sort_values("open_date")
    stops = t[t.exit_reason.isin(STOP_EXITS)]
    assert len(stops) >= 5
    near_budget = 0
    for _, tr in stops.iterrows():
        equity = _equity_at_entry(t, tr.open_date)
        budget = RISK * equity
        costs, slippage = _costs(tr)
        loss = -tr.profit_abs
        assert loss <= budget + costs + slippage + TOL * equity, (tr.pair, tr.open_date, loss)
        # planned loss at the initial stop (price distance x amount) is the budget, or less
        # when an exposure cap or the exchange limits reduced the stake
        side = -1.0 if tr.is_short else 1.0
        planned = side * (tr.open_rate - tr.initial_stop_loss_abs) * tr.amount
        assert planned <= budget * 1.001, (tr.pair, tr.open_date, planned, budget)
        near_budget += planned >= 0.9 * budget * 0.99
    assert near_budget >= len(stops) // 2  # sizing really targets the budget


def test_ross_stop_losses_within_stake_times_stoploss(results):
    t = results["RossCameronFuturesStrategy"]
    stops = t[t.exit_reason.isin(STOP_EXITS)]
    assert len(stops) >= 5
    for _, tr in stops.iterrows():
        costs, slippage = _costs(tr)
        assert -tr.profit_abs <= 0.10 * tr.stake_amount + costs + slippage + 1e-6
