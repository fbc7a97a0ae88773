"""Helpers for the strategy tests: the strategies and research tools on sys.path, the
repository's real data slice, and a minimal data provider that serves funding-rate and mark
candles as freqtrade's would -- optionally only what was known at a cut-off time (for the
look-ahead tests)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
for sub in ("strategies", "tools/strategy"):
    p = str(ROOT / sub)
    if p not in sys.path:
        sys.path.insert(0, p)

DATA = ROOT / "files" / "data" / "binance" / "futures"
CANDLE = "4h"  # the strategies' timeframe
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "BNB/USDT:USDT", "ADA/USDT:USDT"]


def _stem(pair: str) -> str:
    return pair.replace("/", "_").replace(":", "_")


def load(pair: str, kind: str) -> pd.DataFrame:
    df = pd.read_feather(DATA / f"{_stem(pair)}-{kind}.feather")
    if kind.endswith("funding_rate") and "open" in df.columns:
        df = df.rename(columns={"open": "funding_rate"})[["date", "funding_rate"]]
    return df


class _FakeExchange:
    def __init__(self, mark_tf: str) -> None:
        self._mark_tf = mark_tf

    def get_option(self, name: str) -> Any:
        return {"mark_ohlcv_timeframe": self._mark_tf, "funding_fee_timeframe": "8h"}[name]


class FakeDataProvider:
    """The subset of freqtrade's DataProvider the strategies use.

    With ``cut`` set (the open time of the last 4h candle), funding events after the cut
    candle's close and mark candles not complete at that close are withheld, like in live
    trading.
    """

    def __init__(self, pairs: list[str], cut: pd.Timestamp | None = None, mark_tf: str = "8h"):
        self.pairs = pairs
        self.cut = cut
        self._exchange = _FakeExchange(mark_tf)
        self.mark_tf = mark_tf

    def current_whitelist(self) -> list[str]:
        return list(self.pairs)

    def get_funding_rate_timeframe(self) -> str:
        return "8h"

    def get_pair_dataframe(self, pair: str, timeframe: str, candle_type: str = "") -> pd.DataFrame:
        ct = str(candle_type)
        if ct == "funding_rate":
            df = load(pair, "8h-funding_rate")
            if self.cut is not None:
                df = df[df["date"] <= self.cut + pd.Timedelta(CANDLE)]
            return df.reset_index(drop=True)
        if ct in ("mark", "futures"):
            df = load(pair, f"{timeframe}-{ct}")
            if self.cut is not None:
                done = df["date"] + pd.Timedelta(timeframe) <= self.cut + pd.Timedelta(CANDLE)
                df = df[done]
            return df.reset_index(drop=True)
        raise AssertionError(f"unexpected data request {pair} {timeframe} {candle_type}")


def strategy_config() -> dict[str, Any]:
    return {
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "candle_type_def": "futures",
        "stake_currency": "USDT",
        "timeframe": CANDLE,
        "futures_risk": {"risk_per_trade": 0.005, "max_leverage": 10},
    }


def make_strategy(cls: type, dp: FakeDataProvider) -> Any:
    strat = cls(strategy_config())
    strat.dp = dp
    return strat


def analyze(strat: Any, df: pd.DataFrame, pair: str) -> pd.DataFrame:
    meta = {"pair": pair}
    out = strat.advise_indicators(df.copy(), meta)
    out = strat.advise_entry(out, meta)
    return strat.advise_exit(out, meta)
