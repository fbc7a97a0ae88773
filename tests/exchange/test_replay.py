"""Time-shifted replay: anchor, candles equal to the recording, in-candle path, looping."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from replay_exchange.core import Exchange
from replay_exchange.replay import DAY_MS
from rx_support import DATA_DIR, REPO, FakeClock

T0 = 1_795_604_123_141  # 2026-11-25 10:55:23 UTC


def recorded(name: str) -> pd.DataFrame:
    df = pd.read_feather(DATA_DIR / "futures" / name)
    df["ms"] = df["date"].dt.as_unit("ms").astype("int64")
    return df.set_index("ms")


@pytest.fixture
def ex(tmp_path: Path) -> Exchange:
    return Exchange(DATA_DIR, tmp_path / "s.json", clock=FakeClock(T0))


def test_anchor_leaves_history_and_is_whole_days(ex: Exchange) -> None:
    c = ex.replay.clock
    assert c.offset % DAY_MS == 0
    rec = c.recorded(T0)
    assert rec - ex.replay.data.window_start >= 30 * DAY_MS
    assert ex.replay.data.window_end - rec >= 30 * DAY_MS
    assert rec % DAY_MS == T0 % DAY_MS  # time of day is preserved


def test_anchor_survives_restart(tmp_path: Path) -> None:
    first = Exchange(DATA_DIR, tmp_path / "s.json", clock=FakeClock(T0))
    later = Exchange(DATA_DIR, tmp_path / "s.json", clock=FakeClock(T0 + 5 * DAY_MS))
    assert later.replay.clock.offset == first.replay.clock.offset


def test_closed_15m_candles_are_the_recorded_ones(ex: Exchange) -> None:
    df = recorded("BTC_USDT_USDT-15m-futures.feather")
    candles = ex.replay.klines("BTCUSDT", "trade", "15m", T0, None, None, 50)
    assert len(candles) == 50
    for t, o, h, low, c, v in candles[:-1]:
        row = df.loc[ex.replay.clock.recorded(t)]
        assert (o, h, low, c, v) == (row.open, row.high, row.low, row.close, row.volume)
    assert candles[-1][0] <= T0 < candles[-1][0] + 900_000  # last one is the open candle


def test_aggregated_4h_matches_recorded_4h(ex: Exchange) -> None:
    df = recorded("BTC_USDT_USDT-4h-futures.feather")
    candles = ex.replay.klines("BTCUSDT", "trade", "4h", T0, None, None, 20)
    for t, o, h, low, c, v in candles[:-1]:
        row = df.loc[ex.replay.clock.recorded(t)]
        assert (o, h, low, c) == pytest.approx((row.open, row.high, row.low, row.close))
        assert v == pytest.approx(row.volume, rel=1e-9)


def test_open_candle_moves_along_the_recorded_range(ex: Exchange, tmp_path: Path) -> None:
    df = recorded("ETH_USDT_USDT-15m-futures.feather")
    start = T0 - T0 % 900_000
    row = df.loc[ex.replay.clock.recorded(start)]
    seen = []
    for frac in (0.1, 0.4, 0.7, 0.999):
        now = start + int(frac * 900_000)
        last = ex.replay.klines("ETHUSDT", "trade", "15m", now, None, None, 1)[-1]
        assert last[0] == start
        assert last[1] == row.open
        assert row.low <= last[3] <= last[2] <= row.high
        seen.append(last[4])
    assert seen[-1] == pytest.approx(row.close, rel=1e-4)
    assert len(set(seen)) > 1  # the price moves inside the candle


def test_start_and_end_time_semantics(ex: Exchange) -> None:
    start = T0 - 10 * 3_600_000 + 1  # not on the grid: first candle is the next hour
    got = ex.replay.klines("BTCUSDT", "trade", "1h", T0, start, None, 3)
    first = -(-start // 3_600_000) * 3_600_000
    assert [c[0] for c in got] == [first, first + 3_600_000, first + 7_200_000]
    end = T0 - 5 * 3_600_000
    got = ex.replay.klines("BTCUSDT", "trade", "1h", T0, None, end, 4)
    assert got[-1][0] <= end and len(got) == 4
    assert ex.replay.klines("BTCUSDT", "trade", "1h", T0, T0 + DAY_MS, None, 4) == []


def test_replay_loops_after_the_recording(ex: Exchange) -> None:
    c = ex.replay.clock
    period = ex.replay.data.period
    assert c.recorded(T0 + period) == c.recorded(T0)
    # far beyond the data there are still candles, taken from the start of the recording
    far = T0 + 2 * period + 3 * DAY_MS
    assert len(ex.replay.klines("SOLUSDT", "trade", "1h", far, None, None, 10)) == 10


def test_funding_events_at_recorded_times_with_recorded_rates(ex: Exchange) -> None:
    df = recorded("ADA_USDT_USDT-8h-funding_rate.feather")
    events = ex.replay.funding_events("ADAUSDT", T0 - 3 * DAY_MS, T0)
    assert len(events) == 9
    for t, rate in events:
        assert t % (8 * 3_600_000) == 0  # 00/08/16 UTC after the whole-day shift
        assert rate == df.loc[ex.replay.clock.recorded(t)].open


def test_mark_klines_come_from_the_mark_series(ex: Exchange) -> None:
    df = recorded("SOL_USDT_USDT-1h-mark.feather")
    candles = ex.replay.klines("SOLUSDT", "mark", "1h", T0, None, None, 5)
    for t, o, h, low, c, _ in candles[:-1]:
        row = df.loc[ex.replay.clock.recorded(t)]
        assert (o, h, low, c) == (row.open, row.high, row.low, row.close)


SHARED = REPO.parent / "shared" / "data" / "binance"


@pytest.mark.skipif(not (SHARED / "futures").is_dir(), reason="no ../shared/data (user clone)")
def test_full_development_set_loads_with_its_whole_window(tmp_path: Path) -> None:
    copy = tmp_path / "binance"
    shutil.copytree(SHARED / "futures", copy / "futures")  # never read the shared set in place
    ex = Exchange(copy, tmp_path / "s.json", clock=FakeClock(T0))
    data = ex.replay.data
    assert data.period >= 30 * 30 * DAY_MS  # about 33 months, not cut to the shortest 1h mark
    assert data.symbols["BNBUSDT"].mark.tf_ms == 8 * 3_600_000
    df = recorded("BTC_USDT_USDT-15m-futures.feather")
    for t, o, h, low, c, _ in ex.replay.klines("BTCUSDT", "trade", "15m", T0, None, None, 5)[:-1]:
        r = ex.replay.clock.recorded(t)
        if r in df.index:  # the shipped slice is part of the full set
            assert (o, h, low, c) == tuple(df.loc[r, ["open", "high", "low", "close"]])
