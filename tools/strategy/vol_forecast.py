"""Does a learned volatility forecast earn a place in the strategies? Evidence, not a model
that ships.

A log-HAR model (Corsi 2009: next-day realised variance from the last day's, week's and
month's) on 4h candles, pooled over the five pairs, fitted by least squares on 2023-2024 only,
scored against trailing realised variance (24 h, 7 d, 30 d) by QLIKE and MSE, in sample and
once on 2025-01..09. Target: realised variance of the next 24 h from 1h returns.

    .venv/bin/python tools/strategy/vol_forecast.py --data ../shared/data/binance
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

PAIRS = ["BTC", "ETH", "SOL", "BNB", "ADA"]
SPLIT = pd.Timestamp("2024-12-30", tz="UTC")  # last target of the fit ends 2024-12-31
JUDGE_END = pd.Timestamp("2025-10-01", tz="UTC")


def features(data: Path, pair: str) -> pd.DataFrame:
    f = data / "futures"
    h = pd.read_feather(f / f"{pair}_USDT_USDT-1h-futures.feather").set_index("date")
    r1 = np.log(h["close"]).diff() ** 2
    target = r1[::-1].rolling(24).sum()[::-1].shift(-1)  # next 24 h, at each 1h open
    c = pd.read_feather(f / f"{pair}_USDT_USDT-4h-futures.feather").set_index("date")
    r = np.log(c["close"]).diff() ** 2
    # 4h candle opened at T closes at T+4h: the next 24 h start with the 1h candle at T+4h
    y = target.reindex(c.index + pd.Timedelta(hours=3)).to_numpy()
    out = pd.DataFrame(
        {
            "d": r.rolling(6).sum(),
            "w": r.rolling(42).sum() / 7,
            "m": r.rolling(180).sum() / 30,
            "y": y,
        },
        index=c.index,
    )
    return out.replace(0.0, np.nan).dropna()


def qlike(y: np.ndarray, f: np.ndarray) -> float:
    return float(np.mean(y / f - np.log(y / f) - 1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    x = pd.concat([features(args.data, p) for p in PAIRS])
    dev, oos = x[x.index < SPLIT], x[(x.index >= pd.Timestamp("2025-01-01", tz="UTC"))]
    oos = oos[oos.index < JUDGE_END - pd.Timedelta("1D")]

    def design(s: pd.DataFrame) -> np.ndarray:
        return np.column_stack([np.ones(len(s)), np.log(s.d), np.log(s.w), np.log(s.m)])

    coef, *_ = np.linalg.lstsq(design(dev), np.log(dev.y), rcond=None)
    s2 = float((np.log(dev.y) - design(dev) @ coef).var())
    report: dict = {
        "coef": coef.tolist(),
        "resid_var": s2,
        "rows": {"dev": len(dev), "oos": len(oos)},
    }
    for name, s in (("2023-2024 (fit)", dev), ("2025-01..09 (judged once)", oos)):
        har = np.exp(design(s) @ coef + s2 / 2)
        row = {}
        for label, f in (
            ("trailing 24h", s.d),
            ("trailing 7d", s.w),
            ("trailing 30d", s.m),
            ("HAR", har),
        ):
            row[label] = {
                "qlike": qlike(s.y.to_numpy(), np.asarray(f)),
                "mse": float(np.mean((s.y - f) ** 2)),
            }
        report[name] = row
        print(name, {k: round(v["qlike"], 4) for k, v in row.items()})
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
