"""Markdown report + equity-curve PNG from a freqtrade backtest result directory.

Every row is computed the same way from a daily equity curve (closed trades for the strategies,
marked-to-close for the buy-and-hold), so the rows compare like with like:
total return, CAGR, max drawdown, Sortino (daily, annualised with 365), Calmar (CAGR / max DD),
profit factor, trades, long/short split, average leverage, funding paid, liquidations.

    .venv/bin/python tools/strategy/report.py --results artifacts/strategies/backtest \
        --data ../shared/data/binance --out docs/reports/backtest.md --png docs/reports/equity.png
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from freqtrade.data.btanalysis import load_backtest_stats

PAIRS = ["BTC", "ETH", "SOL", "BNB", "ADA"]


def metrics(equity: pd.Series, start_value: float) -> dict[str, float]:
    """Daily equity (index: dates) -> return, CAGR, max DD, Sortino, Calmar."""
    eq = pd.concat([pd.Series([start_value], index=[equity.index[0] - pd.Timedelta("1D")]), equity])
    days = max((eq.index[-1] - eq.index[0]).total_seconds() / 86400, 1.0)
    total = eq.iloc[-1] / start_value - 1
    cagr = (eq.iloc[-1] / start_value) ** (365.0 / days) - 1 if eq.iloc[-1] > 0 else -1.0
    dd = float((1 - eq / eq.cummax()).max())
    rets = eq.pct_change().dropna()
    downside = np.sqrt((np.minimum(rets, 0) ** 2).mean())
    sortino = float(rets.mean() / downside * math.sqrt(365)) if downside > 0 else float("nan")
    calmar = cagr / dd if dd > 0 else float("nan")
    return {"total": total, "cagr": cagr, "max_dd": dd, "sortino": sortino, "calmar": calmar}


def strategy_rows(results: Path, wallet: float) -> tuple[list[dict], dict[str, pd.Series], tuple]:
    stats = load_backtest_stats(results)
    rows, curves = [], {}
    slim = {
        n: {
            k: v
            for k, v in st.items()
            if k not in ("trades", "periodic_breakdown", "orders", "daily_profit")
        }
        for n, st in stats["strategy"].items()
    }
    summary_path = results / "freqtrade-summary.json"
    summary_path.write_text(json.dumps(slim, indent=1, default=str))
    span = None
    for name, s in stats["strategy"].items():
        t = pd.DataFrame(s["trades"])
        start = pd.Timestamp(s["backtest_start"]).tz_localize("UTC").normalize()
        end = pd.Timestamp(s["backtest_end"]).tz_localize("UTC").normalize()
        span = (start, end)
        days = pd.date_range(start, end, freq="D", tz="UTC")
        if t.empty:
            eq = pd.Series(wallet, index=days)
        else:
            t["close_day"] = pd.to_datetime(t.close_date, utc=True).dt.normalize()
            daily = t.groupby("close_day").profit_abs.sum().reindex(days, fill_value=0.0)
            eq = wallet + daily.cumsum()
        curves[name] = eq
        m = metrics(eq, wallet)
        wins = t.profit_abs[t.profit_abs > 0].sum() if not t.empty else 0.0
        losses = -t.profit_abs[t.profit_abs < 0].sum() if not t.empty else 0.0
        rows.append(
            {
                "name": name,
                **m,
                "profit_factor": wins / losses if losses > 0 else float("nan"),
                "trades": len(t),
                "long": int((~t.is_short).sum()) if not t.empty else 0,
                "short": int(t.is_short.sum()) if not t.empty else 0,
                "avg_leverage": float(t.leverage.mean()) if not t.empty else float("nan"),
                "funding": float(t.funding_fees.sum()) if not t.empty else 0.0,
                "liquidations": int((t.exit_reason == "liquidation").sum()) if not t.empty else 0,
                "leverage_counts": {
                    f"{k:g}x": int(v) for k, v in t.leverage.value_counts().sort_index().items()
                }
                if not t.empty
                else {},
                "fees": float(
                    (
                        t.fee_open * t.amount * t.open_rate + t.fee_close * t.amount * t.close_rate
                    ).sum()
                )
                if not t.empty
                else 0.0,
            }
        )
    return rows, curves, span


def buy_and_hold(data: Path, span: tuple, wallet: float) -> tuple[dict, pd.Series]:
    start, end = span
    closes = []
    funding = 0.0
    for base in PAIRS:
        c = pd.read_feather(data / "futures" / f"{base}_USDT_USDT-15m-futures.feather")
        c = c.set_index("date").close
        c = c[(c.index >= start) & (c.index < end + pd.Timedelta("1D"))]
        closes.append(c.resample("1D").last() / c.iloc[0])
        # what a 1x perpetual long of wallet/5 would have paid (negative) or received
        f = pd.read_feather(data / "futures" / f"{base}_USDT_USDT-8h-funding_rate.feather")
        rate = (f["open"] if "open" in f.columns else f["funding_rate"]).to_numpy()
        at = pd.Series(rate, index=f["date"])
        at = at[(at.index > c.index[0]) & (at.index <= c.index[-1])]
        value = wallet / len(PAIRS) * c.reindex(at.index, method="ffill") / c.iloc[0]
        funding -= float((at * value).sum())
    eq = wallet * pd.concat(closes, axis=1).mean(axis=1)
    m = metrics(eq, wallet)
    row = {
        "name": "Buy & hold (equal weight, 1x)",
        **m,
        "profit_factor": float("nan"),
        "trades": 5,
        "long": 5,
        "short": 0,
        "avg_leverage": 1.0,
        "funding": funding,
        "liquidations": 0,
        "fees": float("nan"),
    }
    return row, eq


def fmt(v: float, pct: bool = False, nd: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v * 100:.{nd}f} %" if pct else f"{v:.{nd}f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--results", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--wallet", type=float, default=10_000.0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--png", type=Path, required=True)
    ap.add_argument("--title", default="Backtest")
    args = ap.parse_args()

    rows, curves, span = strategy_rows(args.results, args.wallet)
    bh_row, bh = buy_and_hold(args.data, span, args.wallet)
    rows.append(bh_row)
    curves[bh_row["name"]] = bh

    fig, ax = plt.subplots(figsize=(11, 5))
    for name, eq in curves.items():
        ax.plot(eq.index, eq.values, label=name, lw=1.2)
    ax.set_yscale("log")
    ax.set_ylabel("equity (USDT, log)")
    ax.set_title(f"{args.title}: {span[0]:%Y-%m-%d} .. {span[1]:%Y-%m-%d}, 5 pairs, 15m")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    args.png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.png, dpi=90)

    run = {}
    if (args.results / "run.json").exists():
        run = json.loads((args.results / "run.json").read_text())
    lines = [
        f"# {args.title}: {span[0]:%Y-%m-%d} .. {span[1]:%Y-%m-%d}",
        "",
        f"Data: `{run.get('data', args.data)}` (copied before use), 5 pairs, 15m, "
        f"start {args.wallet:.0f} USDT, max 5 open trades, fee 0.05 % per side, isolated margin,"
        " funding charged from the 8h funding and mark files.",
        f"Command: `{' '.join(run.get('command', []))}`" if run else "",
        "",
        f"![equity]({args.png.name})",
        "",
        "| strategy | total return | CAGR | max DD | Sortino | Calmar | profit factor | trades "
        "| long / short | avg leverage | funding (USDT, + received) | fees (USDT) | liquidations |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {fmt(r['total'], True, 1)} | {fmt(r['cagr'], True, 1)} | "
            f"{fmt(r['max_dd'], True, 1)} | {fmt(r['sortino'])} | {fmt(r['calmar'])} | "
            f"{fmt(r['profit_factor'])} | {r['trades']} | {r['long']} / {r['short']} | "
            f"{fmt(r['avg_leverage'])} | {fmt(r['funding'], nd=0)} | {fmt(r['fees'], nd=0)} | "
            f"{r['liquidations']} |"
        )
    lines += [
        "",
        "Leverage used per trade: "
        + "; ".join(
            f"{r['name']}: "
            + ", ".join(f"{k} {v}" for k, v in r.get("leverage_counts", {}).items())
            for r in rows
            if r.get("leverage_counts")
        )
        + ".",
    ]
    lines += [
        "",
        "Metrics from daily equity (realised P&L at trade close; buy & hold marked at the daily"
        " close). Sortino: mean / downside deviation of daily returns x sqrt(365).",
        "Buy & hold holds 1/5 of the capital in each pair at 1x from the first candle; its return"
        " is price only, the funding column shows what perpetual longs of that size would have"
        " paid (not deducted from the return).",
    ]
    args.out.write_text("\n".join(lines) + "\n")
    shutil.copy2(args.results / "freqtrade-summary.json", args.out.with_suffix(".freqtrade.json"))
    (args.out.with_suffix(".json")).write_text(json.dumps(rows, indent=2, default=str))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
