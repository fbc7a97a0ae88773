"""The screening that chose the strategies' designs, on 2023-01..2024-12 only.

A small event simulator in R multiples (a trade's result divided by its planned loss at the
stop): signals at a candle's close act at the next open, stops fill at the stop or at the open
when the price gapped through, 0.05 % taker fee per side, funding at every 8h event. One
position per pair, no portfolio limits: a fast filter for ideas, not the judgement (that is
freqtrade's backtest and tools/strategy/evaluate.py). It prints the development years only.

    .venv/bin/python tools/strategy/screen.py --data ../shared/data/binance trend
    .venv/bin/python tools/strategy/screen.py --data ../shared/data/binance trend --stop har
    .venv/bin/python tools/strategy/screen.py --data ../shared/data/binance reversal --tf 1h
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import pandas as pd

PAIRS = ["BTC", "ETH", "SOL", "BNB", "ADA"]
FEE = 0.0005
DEV_END = pd.Timestamp("2025-01-01", tz="UTC")


def load(data: Path, pair: str, tf: str) -> tuple[pd.DataFrame, pd.Series]:
    f = data / "futures"
    df = pd.read_feather(f / f"{pair}_USDT_USDT-{tf}-futures.feather").set_index("date")
    fr = pd.read_feather(f / f"{pair}_USDT_USDT-8h-funding_rate.feather").set_index("date")
    df = df[df.index < DEV_END]  # the judging window is never loaded here
    return df, fr.iloc[:, 0]


def rsi(c: pd.Series, n: int = 14) -> pd.Series:
    d = c.diff()
    up = d.clip(lower=0).ewm(alpha=1 / n, adjust=False).mean()
    dn = (-d.clip(upper=0)).ewm(alpha=1 / n, adjust=False).mean()
    return 100 - 100 / (1 + up / dn)


def atr(df: pd.DataFrame, n: int = 14) -> pd.Series:
    pc = df.close.shift()
    tr = pd.concat([df.high - df.low, (df.high - pc).abs(), (df.low - pc).abs()], axis=1)
    return tr.max(axis=1).ewm(alpha=1 / n, adjust=False).mean()


def adx(df: pd.DataFrame, n: int = 14) -> pd.Series:
    up, dn = df.high.diff(), -df.low.diff()
    pdm = pd.Series(np.where((up > dn) & (up > 0), up, 0.0), index=df.index)
    ndm = pd.Series(np.where((dn > up) & (dn > 0), dn, 0.0), index=df.index)
    a = atr(df, n)
    pdi = 100 * pdm.ewm(alpha=1 / n, adjust=False).mean() / a
    ndi = 100 * ndm.ewm(alpha=1 / n, adjust=False).mean() / a
    return (100 * (pdi - ndi).abs() / (pdi + ndi)).ewm(alpha=1 / n, adjust=False).mean()


def simulate(df, fund, enter_long, enter_short, exit_long, exit_short, stop_dist) -> list[tuple]:
    o, h, low, c, t = df.open.values, df.high.values, df.low.values, df.close.values, df.index
    fr = fund.reindex(t).fillna(0.0).values
    el, es, xl, xs, sd = (s.values for s in (enter_long, enter_short, exit_long, exit_short,
                                             stop_dist))  # fmt: skip
    trades, i, n = [], 0, len(o)
    while i < n - 1:
        side = 1 if el[i] else -1 if es[i] else 0
        if side == 0 or np.isnan(sd[i]):
            i += 1
            continue
        entry, d = o[i + 1], sd[i]
        stop, funding, j = entry * (1 - side * d), 0.0, i + 1
        exit_px = c[-1]
        while j < n:
            if j > i + 1:
                funding += side * fr[j] * o[j] / entry
            gap = o[j] <= stop if side == 1 else o[j] >= stop
            hit = low[j] <= stop if side == 1 else h[j] >= stop
            if gap or hit:
                exit_px = o[j] if gap else stop
                break
            if (xl[j] if side == 1 else xs[j]) and j + 1 < n:
                exit_px, j = o[j + 1], j + 1
                break
            j += 1
        gross = side * (exit_px - entry) / entry
        trades.append((t[i + 1], side, (gross - FEE * (1 + exit_px / entry) - funding) / d))
        i = j
    return trades


def report(name: str, trades: list[tuple]) -> None:
    df = pd.DataFrame(trades, columns=["t", "side", "R"]).sort_values("t")
    parts = []
    for label, year in (("2023", 2023), ("2024", 2024)):
        s = df[df.t.dt.year == year]
        cum = s.R.cumsum()
        dd = float((cum.cummax().clip(lower=0) - cum).max()) if len(s) else 0.0
        parts.append(
            f"{label}: n={len(s)} sumR={s.R.sum():+.1f} meanR={s.R.mean():+.3f} "
            f"long={s[s.side == 1].R.sum():+.1f} short={s[s.side == -1].R.sum():+.1f} ddR={dd:.1f}"
        )
    print(f"{name:32s} " + " | ".join(parts))


def har_vol(data: Path) -> dict[str, pd.Series]:
    """Daily volatility forecast per pair at each 4h close: the log-HAR model of
    vol_forecast.py, fitted on 2023-2024 (its fit never sees a later target)."""
    import vol_forecast as vf

    feats = {p: vf.features(data, p) for p in PAIRS}
    dev = pd.concat(feats.values())
    dev = dev[dev.index < vf.SPLIT]

    def design(s: pd.DataFrame) -> np.ndarray:
        return np.column_stack([np.ones(len(s)), np.log(s.d), np.log(s.w), np.log(s.m)])

    coef, *_ = np.linalg.lstsq(design(dev), np.log(dev.y), rcond=None)
    s2 = float((np.log(dev.y) - design(dev) @ coef).var())
    return {
        p: pd.Series(np.sqrt(np.exp(design(f) @ coef + s2 / 2)), index=f.index)
        for p, f in feats.items()
    }


def trend(data: Path, tf: str, stop: str) -> None:
    frames = {p: load(data, p, tf) for p in PAIRS}
    har = har_vol(data) if stop == "har" else {}
    ks = [1.0, 1.5, 2.0] if stop == "har" else [2.0, 3.0]
    for n, m, k in itertools.product([20, 40, 55], [10, 20], ks):
        trades = []
        for pair, (df, fr) in frames.items():
            dist = k * har[pair].reindex(df.index) if stop == "har" else k * atr(df) / df.close
            upper, lower = df.high.rolling(n).max().shift(1), df.low.rolling(n).min().shift(1)
            xl = df.close < df.low.rolling(m).min().shift(1)
            xs = df.close > df.high.rolling(m).max().shift(1)
            trades += simulate(df, fr, df.close > upper, df.close < lower, xl, xs, dist)
        report(f"breakout N{n} exit{m} stop {k} x {stop}", trades)


def reversal(data: Path, tf: str) -> None:
    frames = {p: load(data, p, tf) for p in PAIRS}
    for adx_max, rsi_low, k in itertools.product([None, 20, 25], [25, 30], [2.0, 3.0]):
        trades = []
        for df, fr in frames.values():
            c = df.close
            mid, sd = c.rolling(20).mean(), c.rolling(20).std(ddof=0)
            r, a = rsi(c), atr(df)
            ranging = adx(df) < adx_max if adx_max else c > 0
            el = ranging & (c < mid - 2 * sd) & (r < rsi_low)
            es = ranging & (c > mid + 2 * sd) & (r > 100 - rsi_low)
            trades += simulate(df, fr, el, es, c >= mid, c <= mid, k * a / c)
        report(f"{tf} adx<{adx_max} rsi{rsi_low} stop{k}ATR", trades)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("design", choices=["trend", "reversal"])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--tf", default="4h", choices=["15m", "1h", "4h"])
    ap.add_argument(
        "--stop", default="atr", choices=["atr", "har"], help="trend: the stop's input (4h only)"
    )
    args = ap.parse_args(argv)
    if args.design == "trend":
        trend(args.data, args.tf, args.stop)
    else:
        reversal(args.data, args.tf)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
