"""Judge a freqtrade backtest by the protocol of docs/strategies.md.

Per strategy: return, maximum drawdown marked to market at every 15m close, Sortino and
Calmar from daily mark-to-market equity, trades, long vs short, by exit reason, per pair,
fees and funding, liquidations, the worst stop-loss exit against its risk budget, and the
distribution of the maximum drawdown over 1000 bootstrap resamples of the trade sequence.

    .venv/bin/python tools/strategy/evaluate.py --results DIR --data ../shared/data/binance \
        --wallet 10000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from freqtrade.data.btanalysis import load_backtest_stats

STOP_EXITS = {"stop_loss", "stoploss_on_exchange", "trailing_stop_loss"}


def _stem(pair: str) -> str:
    return pair.replace("/", "_").replace(":", "_")


def closes_15m(
    data: Path, pairs: list[str], start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """15m closes per pair (columns), stamped at each candle's close time."""
    cols = {}
    for pair in pairs:
        df = pd.read_feather(data / "futures" / f"{_stem(pair)}-15m-futures.feather")
        df = df[(df["date"] >= start - pd.Timedelta("15min")) & (df["date"] <= end)]
        cols[pair] = pd.Series(df["close"].to_numpy(), index=df["date"] + pd.Timedelta("15min"))
    return pd.DataFrame(cols).ffill()


def mtm_equity(trades: pd.DataFrame, closes: pd.DataFrame, wallet: float) -> pd.Series:
    """Equity at every 15m close: realised P&L of closed trades plus open positions at the
    close, entry fee paid (funding is booked when the trade closes)."""
    idx = closes.index
    realised = np.zeros(len(idx))
    unreal = np.zeros(len(idx))
    for t in trades.itertuples():
        t0, t1 = pd.Timestamp(t.open_date), pd.Timestamp(t.close_date)
        i_close = idx.searchsorted(t1, side="right")
        realised[i_close:] += t.profit_abs
        i_open = idx.searchsorted(t0, side="right")  # first close after the entry
        if i_close > i_open:
            px = closes[t.pair].to_numpy()[i_open:i_close]
            side = -1.0 if t.is_short else 1.0
            fee = t.fee_open * t.amount * t.open_rate
            unreal[i_open:i_close] += side * t.amount * (px - t.open_rate) - fee
    return pd.Series(wallet + realised + unreal, index=idx)


def max_dd(equity: np.ndarray) -> float:
    peak = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peak)) if len(equity) else 0.0


def daily_metrics(equity: pd.Series, wallet: float) -> dict[str, float]:
    daily = equity.resample("1D").last().dropna()
    daily = pd.concat([pd.Series([wallet], index=[daily.index[0] - pd.Timedelta("1D")]), daily])
    rets = daily.pct_change().dropna()
    downside = float(np.sqrt((np.minimum(rets, 0) ** 2).mean()))
    days = max((equity.index[-1] - equity.index[0]).total_seconds() / 86400, 1.0)
    final = float(equity.iloc[-1])
    cagr = (final / wallet) ** (365.0 / days) - 1 if final > 0 else -1.0
    dd = max_dd(equity.to_numpy())
    return {
        "return": final / wallet - 1,
        "cagr": cagr,
        "max_dd_mtm_15m": dd,
        "sortino": float(rets.mean() / downside * math.sqrt(365)) if downside > 0 else math.nan,
        "calmar": cagr / dd if dd > 0 else math.nan,
    }


def bootstrap_dd(account_returns: np.ndarray, n: int = 1000, seed: int = 7) -> dict[str, float]:
    """Maximum drawdown of the compounded trade sequence, resampled with replacement."""
    if len(account_returns) == 0:
        return {"median": 0.0, "p95": 0.0, "p99": 0.0, "resamples": n}
    rng = np.random.default_rng(seed)
    dds = np.empty(n)
    for i in range(n):
        seq = rng.choice(account_returns, size=len(account_returns), replace=True)
        dds[i] = max_dd(np.concatenate([[1.0], np.cumprod(1.0 + seq)]))
    return {
        "median": float(np.median(dds)),
        "p95": float(np.quantile(dds, 0.95)),
        "p99": float(np.quantile(dds, 0.99)),
        "resamples": n,
    }


def _group(t: pd.DataFrame, key: Any) -> dict[str, dict[str, float]]:
    g = t.groupby(key)["profit_abs"]
    return {
        str(k): {"trades": int(c), "profit": round(float(s), 2)}
        for k, c, s in zip(g.sum().index, g.count(), g.sum(), strict=True)
    }


def evaluate(
    trades: pd.DataFrame,
    data: Path,
    wallet: float,
    risk: float,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> dict[str, Any]:
    """``window``: the backtest's time range, so that CAGR and the equity curve span all of it
    (default: first entry to last exit)."""
    if trades.empty:
        return {"trades": 0}
    t = trades.copy()
    t["open_date"] = pd.to_datetime(t["open_date"], utc=True)
    t["close_date"] = pd.to_datetime(t["close_date"], utc=True)
    t = t.sort_values("close_date").reset_index(drop=True)
    start, end = t["open_date"].min(), t["close_date"].max()
    if window is not None:
        start, end = min(start, window[0]), max(end, window[1])
    closes = closes_15m(data, sorted(t["pair"].unique()), start, end)
    eq = mtm_equity(t, closes, wallet)
    out: dict[str, Any] = daily_metrics(eq, wallet)
    realised_before = wallet + t["profit_abs"].cumsum().shift(fill_value=0.0)
    fees = (t.fee_open * t.amount * t.open_rate + t.fee_close * t.amount * t.close_rate).sum()
    stops = t[t["exit_reason"].isin(STOP_EXITS)]
    worst_stop = (
        float((-stops["profit_abs"] / realised_before[stops.index]).max()) if len(stops) else 0.0
    )
    out.update(
        {
            "trades": len(t),
            "win_rate": float((t["profit_abs"] > 0).mean()),
            "profit_abs": round(float(t["profit_abs"].sum()), 2),
            "fees": round(float(fees), 2),
            "funding": round(float(t["funding_fees"].sum()), 2),
            "liquidations": int((t["exit_reason"] == "liquidation").sum()),
            "avg_leverage": float(t["leverage"].mean()),
            "worst_stop_loss_of_equity": worst_stop,
            "risk_per_trade": risk,
            "by_side": _group(t, np.where(t["is_short"], "short", "long")),
            "by_exit": _group(t, "exit_reason"),
            "by_pair": _group(t, "pair"),
            "bootstrap_max_dd": bootstrap_dd((t["profit_abs"] / realised_before).to_numpy()),
            "start": str(start),
            "end": str(end),
        }
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--results", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--wallet", type=float, default=10_000.0)
    ap.add_argument("--risk", type=float, default=0.005, help="risk_per_trade of the run")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    stats = load_backtest_stats(args.results)
    report = {
        name: evaluate(
            pd.DataFrame(s["trades"]),
            args.data,
            args.wallet,
            args.risk,
            (
                pd.Timestamp(s["backtest_start"], tz="UTC"),
                pd.Timestamp(s["backtest_end"], tz="UTC"),
            ),
        )
        for name, s in stats["strategy"].items()
    }
    text = json.dumps(report, indent=1, default=float)
    if args.json:
        args.json.write_text(text)
    for name, r in report.items():
        if not r.get("trades"):
            print(f"{name}: no trades")
            continue
        print(
            f"{name}: return {r['return']:+.1%} maxDD(15m MTM) {r['max_dd_mtm_15m']:.1%} "
            f"Sortino {r['sortino']:.2f} Calmar {r['calmar']:.2f} trades {r['trades']} "
            f"win {r['win_rate']:.0%} fees {r['fees']:.0f} funding {r['funding']:+.0f} "
            f"liq {r['liquidations']} worst stop {r['worst_stop_loss_of_equity']:.2%} "
            f"bootDD p50 {r['bootstrap_max_dd']['median']:.1%} "
            f"p95 {r['bootstrap_max_dd']['p95']:.1%}"
        )
        print("   side", r["by_side"], "\n   exit", r["by_exit"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
