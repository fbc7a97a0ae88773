"""Causal feature helpers shared by the futures strategies (pandas only, no freqtrade import).

Funding is merged as known at the *open* of each candle row ``date`` (the strategy decides at
that candle's close, so this is conservative by one candle): a funding event at time T is
known from T on (Binance settles it at T). The data provider hands the funding-rate frame to
the strategies in backtesting and live alike, so both modes compute the same column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _tf(tf: str) -> pd.Timedelta:
    return pd.Timedelta(tf.replace("m", "min")) if tf.endswith("m") else pd.Timedelta(tf)


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
