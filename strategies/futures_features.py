"""Causal feature helpers shared by the futures strategies (pandas only, no freqtrade import).

Every function here only uses information available at the *open* of a 15m candle row
``date`` (the strategy decides at that candle's close, so this is conservative by one candle
for funding and mark):

* a funding event at time T is known from T on (Binance settles it at T);
* a mark candle opened at D with timeframe tf is complete at D + tf.

The data provider hands these frames to the strategies in backtesting and live alike
(funding-rate and mark candle types), so both modes compute the same columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MARK_BASE_TIMEFRAME = "8h"
MARK_EMA_PERIOD = 21  # 8h candles: one week


def _tf(tf: str) -> pd.Timedelta:
    return pd.Timedelta(tf.replace("m", "min")) if tf.endswith("m") else pd.Timedelta(tf)


def daily_vol(close: pd.Series, window: int = 96) -> pd.Series:
    """Std of 15m log returns over ``window`` candles, scaled to one day (x sqrt(window))."""
    lr = np.log(close.astype(float)).diff()
    return lr.rolling(window, min_periods=window).std() * np.sqrt(window)


def funding_series(funding: pd.DataFrame | None) -> pd.DataFrame:
    """Normalise a funding-rate frame (2026 layout ``funding_rate`` or legacy ``open``)."""
    if funding is None or funding.empty:
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns, UTC]"), "funding_rate": []})
    col = "funding_rate" if "funding_rate" in funding.columns else "open"
    out = funding[["date", col]].rename(columns={col: "funding_rate"}).copy()
    out["date"] = pd.to_datetime(out["date"], utc=True).dt.floor("s")
    return out.dropna().drop_duplicates("date").sort_values("date")


def merge_funding(df: pd.DataFrame, funding: pd.DataFrame | None) -> pd.DataFrame:
    """Add ``funding_rate``: the last settled funding event at or before each candle's open."""
    fr = funding_series(funding)
    left = df[["date"]].copy()
    left["_order"] = np.arange(len(left))
    if fr.empty:
        df["funding_rate"] = np.nan
        return df
    merged = pd.merge_asof(
        left.sort_values("date"),
        fr.astype({"date": left["date"].dtype}),
        on="date",
        direction="backward",
    ).sort_values("_order")
    df["funding_rate"] = merged["funding_rate"].to_numpy()
    return df


def mark_to_base(mark: pd.DataFrame | None, mark_timeframe: str) -> pd.DataFrame:
    """Mark candles at 8h, whatever timeframe the exchange serves (1h default, 8h in backtests).

    Finer candles are aggregated into 00/08/16 UTC buckets; incomplete buckets are dropped, so
    live (1h mark) and backtest (8h mark) see the same 8h candles.
    """
    cols = ["date", "open", "high", "low", "close"]
    if mark is None or mark.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols}).astype(
            {"date": "datetime64[ns, UTC]"}
        )
    m = mark[cols].copy()
    base = _tf(MARK_BASE_TIMEFRAME)
    step = _tf(mark_timeframe)
    if step == base:
        return m.reset_index(drop=True)
    if base % step != pd.Timedelta(0) or step > base:
        raise ValueError(f"cannot build {MARK_BASE_TIMEFRAME} mark candles from {mark_timeframe}")
    per = int(base / step)
    g = m.set_index("date").resample(base, origin="epoch", label="left")
    out = g.agg({"open": "first", "high": "max", "low": "min", "close": "last"})
    out["n"] = g["close"].count()
    out = out[out["n"] == per].drop(columns="n").reset_index()
    return out


def merge_mark(df: pd.DataFrame, mark: pd.DataFrame | None, mark_timeframe: str) -> pd.DataFrame:
    """Add ``mark_close`` / ``mark_ema`` / ``mark_trend`` of the last *completed* 8h mark candle.

    ``mark_trend`` = mark close / EMA(21) of 8h mark closes - 1 (about one week).
    """
    m = mark_to_base(mark, mark_timeframe)
    if m.empty:
        df["mark_close"] = np.nan
        df["mark_ema"] = np.nan
        df["mark_trend"] = np.nan
        return df
    m = m.sort_values("date").reset_index(drop=True)
    m["mark_ema"] = m["close"].ewm(span=MARK_EMA_PERIOD, adjust=False).mean()
    m["mark_trend"] = m["close"] / m["mark_ema"] - 1.0
    # available from completion on: D + 8h; a 15m row uses it once its open >= D + 8h
    m["date"] = m["date"] + _tf(MARK_BASE_TIMEFRAME)
    right = m[["date", "close", "mark_ema", "mark_trend"]].rename(columns={"close": "mark_close"})
    left = df[["date"]].copy()
    left["_order"] = np.arange(len(left))
    merged = pd.merge_asof(
        left.sort_values("date"),
        right.astype({"date": left["date"].dtype}),
        on="date",
        direction="backward",
    ).sort_values("_order")
    for c in ("mark_close", "mark_ema", "mark_trend"):
        df[c] = merged[c].to_numpy()
    return df


def merge_completed(
    df: pd.DataFrame, inf: pd.DataFrame | None, timeframe: str, columns: dict[str, str]
) -> pd.DataFrame:
    """Merge columns of a higher-timeframe frame, each row available once its candle closed.

    ``columns`` maps source column -> new column name. Rows of ``inf`` are candles opened at
    ``date``; they become visible to 15m rows whose open is >= date + timeframe.
    """
    if inf is None or inf.empty:
        for new in columns.values():
            df[new] = np.nan
        return df
    right = inf[["date", *columns]].rename(columns=columns).copy()
    right["date"] = pd.to_datetime(right["date"], utc=True) + _tf(timeframe)
    left = df[["date"]].copy()
    left["_order"] = np.arange(len(left))
    merged = pd.merge_asof(
        left.sort_values("date"),
        right.sort_values("date").astype({"date": left["date"].dtype}),
        on="date",
        direction="backward",
    ).sort_values("_order")
    for new in columns.values():
        df[new] = merged[new].to_numpy()
    return df
