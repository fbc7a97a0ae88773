"""Both strategies on the repository's real 92-day slice (5 pairs, 4h): signals on both sides,
no look-ahead, deterministic populate_*, funding data actually used."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from strat_helpers import PAIRS, FakeDataProvider, analyze, load, make_strategy

SIGNALS = ["enter_long", "enter_short", "exit_long", "exit_short"]
NAMES = ["RossCameronFuturesStrategy", "FuturesAIRiskStrategy"]


def _signals(df: pd.DataFrame) -> pd.DataFrame:
    out = df[SIGNALS].fillna(0).astype(int)
    out["enter_tag"] = df["enter_tag"].fillna("").astype(str)
    return out


def test_trend_entries_and_exits_on_both_sides_of_every_pair(strategy_classes, candles):
    dp = FakeDataProvider(PAIRS)
    for pair in PAIRS:
        out = analyze(
            make_strategy(strategy_classes["FuturesAIRiskStrategy"], dp), candles[pair], pair
        )
        for col in ("enter_long", "enter_short", "exit_long", "exit_short"):
            assert out[col].fillna(0).sum() > 0, (pair, col)
        assert set(out.loc[out["enter_long"] == 1, "enter_tag"]) == {"breakout_long"}
        assert out["stop_dist"].dropna().between(0.001, 0.5).all(), pair


def test_reversal_entries_are_rare_and_only_in_ranges(strategy_classes, candles):
    """The range filter makes the reversal rare (a handful in 92 days), never absent, and
    never taken while ADX says the market trends."""
    dp = FakeDataProvider(PAIRS)
    cls = strategy_classes["RossCameronFuturesStrategy"]
    longs = shorts = 0
    for pair in PAIRS:
        out = analyze(make_strategy(cls, dp), candles[pair], pair)
        entries = out[(out["enter_long"] == 1) | (out["enter_short"] == 1)]
        assert (entries["adx"] < cls.adx_max.value).all(), pair
        longs_here = out[out["enter_long"] == 1]
        assert (longs_here["close"] < longs_here["bb_lower"]).all(), pair
        longs += int(out["enter_long"].fillna(0).sum())
        shorts += int(out["enter_short"].fillna(0).sum())
        assert out["exit_long"].fillna(0).sum() > 0 and out["exit_short"].fillna(0).sum() > 0
    assert longs > 0 and shorts > 0
    assert longs + shorts < 0.02 * 5 * len(candles[PAIRS[0]])


@pytest.mark.parametrize("name", NAMES)
def test_no_look_ahead(name, strategy_classes, candles):
    """Signals on a frame cut at candle t (with only the funding and mark data known at t's
    close) equal the signals on the full frame for the same candles."""
    cls = strategy_classes[name]
    for pair in ("BTC/USDT:USDT", "SOL/USDT:USDT"):
        full_df = candles[pair]
        full = analyze(make_strategy(cls, FakeDataProvider(PAIRS)), full_df, pair)
        cuts = [150, 300, 301, 450, len(full_df) - 7]
        for n in cuts:
            cut_df = full_df.iloc[:n].reset_index(drop=True)
            dp = FakeDataProvider(PAIRS, cut=cut_df["date"].iloc[-1])
            part = analyze(make_strategy(cls, dp), cut_df, pair)
            pd.testing.assert_frame_equal(
                _signals(part), _signals(full.iloc[:n].reset_index(drop=True)), obj=f"{pair}@{n}"
            )
            for col in ("funding_rate", "stop_dist"):
                np.testing.assert_allclose(
                    part[col].to_numpy(), full[col].iloc[:n].to_numpy(), equal_nan=True
                )


def test_look_ahead_check_detects_a_leaky_feature(strategy_classes, candles):
    """The harness above can fail: a feature that peeks one candle ahead is caught."""
    cls = strategy_classes["RossCameronFuturesStrategy"]
    pair = "ETH/USDT:USDT"

    class Leaky(cls):  # type: ignore[misc, valid-type]
        def populate_indicators(self, dataframe, metadata):
            dataframe = super().populate_indicators(dataframe, metadata)
            dataframe["rsi"] = dataframe["rsi"].shift(-1)
            return dataframe

    full = analyze(make_strategy(Leaky, FakeDataProvider(PAIRS)), candles[pair], pair)
    diffs = 0
    for n in (150, 200, 250, 300, 350, 400, 450):
        cut_df = candles[pair].iloc[:n].reset_index(drop=True)
        part = analyze(
            make_strategy(Leaky, FakeDataProvider(PAIRS, cut=cut_df["date"].iloc[-1])), cut_df, pair
        )
        diffs += int(not _signals(part).equals(_signals(full.iloc[:n].reset_index(drop=True))))
        diffs += int(not np.allclose(part["rsi"], full["rsi"].iloc[:n], equal_nan=True))
    assert diffs > 0


@pytest.mark.parametrize("name", NAMES)
def test_populate_is_deterministic(name, strategy_classes, candles):
    pair = "ADA/USDT:USDT"
    runs = [
        analyze(make_strategy(strategy_classes[name], FakeDataProvider(PAIRS)), candles[pair], pair)
        for _ in range(2)
    ]
    pd.testing.assert_frame_equal(runs[0], runs[1])
    # the input frame is not modified in place
    assert list(candles[pair].columns) == ["date", "open", "high", "low", "close", "volume"]


@pytest.mark.parametrize("name", NAMES)
def test_funding_filter_blocks_entries_against_funding(name, strategy_classes, candles):
    dp = FakeDataProvider(PAIRS)
    n_blocked_candidates = 0
    for pair in PAIRS:
        out = analyze(make_strategy(strategy_classes[name], dp), candles[pair], pair)
        assert out["funding_rate"].notna().all()
        longs = out[out["enter_long"] == 1]
        shorts = out[out["enter_short"] == 1]
        assert (longs["funding_bias"] != "short_favourable").all()
        assert (shorts["funding_bias"] != "long_favourable").all()
        n_blocked_candidates += int((out["funding_bias"] != "neutral").sum())
    assert n_blocked_candidates > 0  # the filter had something to act on


def test_funding_merge_uses_only_settled_events():
    from futures_lib.features import merge_funding

    df = load("BTC/USDT:USDT", "15m-futures").iloc[:200].copy()
    fr = load("BTC/USDT:USDT", "8h-funding_rate")
    merge_funding(df, fr)
    # the 07:45 candle still sees the 00:00 event, the 08:00 candle the 08:00 one
    t0745 = df.index[df["date"] == pd.Timestamp("2025-07-01 07:45", tz="UTC")][0]
    t0800 = df.index[df["date"] == pd.Timestamp("2025-07-01 08:00", tz="UTC")][0]
    ev = fr.set_index("date")["funding_rate"]
    assert df.loc[t0745, "funding_rate"] == ev[pd.Timestamp("2025-07-01 00:00", tz="UTC")]
    assert df.loc[t0800, "funding_rate"] == ev[pd.Timestamp("2025-07-01 08:00", tz="UTC")]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("risk_cfg", "key"),
    [
        ({"risk_per_trade": 0.001}, "risk_per_trade"),
        ({"risk_per_trade": 0.03}, "risk_per_trade"),
        ({"max_leverage": 12}, "max_leverage"),
        ({"max_drawdown": 0.5}, "max_drawdown"),
        ({"max_drawdown": "15%"}, "max_drawdown"),
        ({"daily_loss_limit": 0.2}, "daily_loss_limit"),
        ({"rearm_at": "yesterday"}, "rearm_at"),
    ],
)
def test_out_of_range_risk_config_fails_at_bot_start(name, risk_cfg, key, strategy_classes):
    """Both strategies read every futures_risk key the deployment validates."""
    strat = make_strategy(strategy_classes[name], FakeDataProvider(PAIRS))
    strat.config["futures_risk"] = risk_cfg
    with pytest.raises(ValueError, match=key):
        strat.bot_start()


@pytest.mark.parametrize("name", NAMES)
def test_in_range_risk_config_is_read(name, strategy_classes):
    strat = make_strategy(strategy_classes[name], FakeDataProvider(PAIRS))
    strat.config["futures_risk"] = {
        "risk_per_trade": 0.02,
        "max_leverage": 5,
        "max_drawdown": 0.1,
        "daily_loss_limit": 0.05,
        "rearm_at": "2026-12-05T12:00:00Z",
    }
    strat.bot_start()
    assert (strat.risk_per_trade, strat.max_leverage_cfg) == (0.02, 5.0)
    assert (strat.max_drawdown, strat.daily_loss_limit) == (0.1, 0.05)
    assert strat.rearm_at.isoformat() == "2026-12-05T12:00:00+00:00"


@pytest.mark.parametrize("name", NAMES)
def test_leverage_callback_places_the_stop_at_the_candles_stop_distance(
    name, strategy_classes, candles
):
    """leverage() reads the last analysed candle's stop distance: L = |stoploss| / distance,
    capped by the configured and the exchange's maximum."""
    strat = make_strategy(strategy_classes[name], FakeDataProvider(PAIRS))
    strat.bot_start()
    pair = "BTC/USDT:USDT"
    df = analyze(strat, candles[pair], pair)
    seen = {}
    for dist in (0.02, 0.05, 0.15):
        frame = df.copy()
        frame.loc[frame.index[-1], "stop_dist"] = dist
        strat.dp.get_analyzed_dataframe = lambda p, tf, f=frame: (f, None)
        seen[dist] = strat.leverage(pair, None, 1.0, 1.0, 125.0, None, "long")
    assert seen == {0.02: 10.0, 0.05: 6.0, 0.15: 2.0}
    assert strat.leverage(pair, None, 1.0, 1.0, 3.0, None, "short") <= 3.0
