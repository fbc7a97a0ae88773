"""Honest hyperopt: fit on an in-sample window, judge on a later out-of-sample window.

1. copy strategies/ to a scratch folder (hyperopt writes <Strategy>.json next to the strategy);
2. hyperopt with SortinoHyperOptLoss over buy sell roi stoploss on the in-sample window only;
3. backtest defaults and fitted parameters on both windows;
4. write a Markdown/JSON summary. The fitted parameters are proposed as new defaults only if
   they hold out of sample (OOS profit > 0 and OOS Sortino above the defaults'); changing the
   defaults in strategies/ stays a reviewed, manual step.

    .venv/bin/python tools/strategy/walk_forward.py --strategy RossCameronFuturesStrategy \
        --in-sample 20230101-20241231 --out-of-sample 20250101-20250930 --epochs 100
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import ftconfig
import run_backtest
from freqtrade.data.btanalysis import load_backtest_stats

HERE = Path(__file__).resolve().parent


def _summary(results: Path, strategy: str) -> dict:
    s = load_backtest_stats(results)["strategy"][strategy]
    return {
        k: s.get(k)
        for k in (
            "total_trades",
            "profit_total",
            "profit_total_abs",
            "cagr",
            "sortino",
            "calmar",
            "profit_factor",
            "max_drawdown_account",
            "trade_count_long",
            "trade_count_short",
            "backtest_start",
            "backtest_end",
        )
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=ftconfig.default_data())
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=ftconfig.ROOT / ".cache" / "strategies" / "wf")
    ap.add_argument("--strategy", required=True)
    ap.add_argument("--in-sample", required=True)
    ap.add_argument("--out-of-sample", required=True)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()

    work = args.work.resolve()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    tuned_dir = work / "strategies_tuned"
    if tuned_dir.exists():
        shutil.rmtree(tuned_dir)
    shutil.copytree(
        ftconfig.ROOT / "strategies", tuned_dir, ignore=shutil.ignore_patterns("*.json")
    )
    common = ["--data", str(args.data), "--work", str(work)]

    rc = run_backtest.main(
        [
            *common,
            "--out",
            str(out / "hyperopt"),
            "--strategies",
            args.strategy,
            "--strategy-path",
            str(tuned_dir),
            "--timerange",
            args.in_sample,
            "--hyperopt",
            "--epochs",
            str(args.epochs),
            "--jobs",
            str(args.jobs),
        ]
    )
    params_file = tuned_dir / f"{args.strategy}.json"
    if rc != 0 or not params_file.exists():
        print("hyperopt failed or found no result", file=sys.stderr)
        return rc or 1
    shutil.copy2(params_file, out / f"{args.strategy}.tuned.json")

    summary: dict = {
        "strategy": args.strategy,
        "in_sample": args.in_sample,
        "out_of_sample": args.out_of_sample,
        "epochs": args.epochs,
        "loss": "SortinoHyperOptLoss",
        "spaces": ["buy", "sell", "roi", "stoploss"],
        "params": json.loads(params_file.read_text()).get("params"),
    }
    for label, spath in (("default", ftconfig.ROOT / "strategies"), ("tuned", tuned_dir)):
        for window, tr in (("in_sample", args.in_sample), ("out_of_sample", args.out_of_sample)):
            res_dir = out / f"{label}-{window}"
            if res_dir.exists():
                shutil.rmtree(res_dir)
            rc = run_backtest.main(
                [
                    *common,
                    "--keep-data",
                    "--out",
                    str(res_dir),
                    "--strategies",
                    args.strategy,
                    "--strategy-path",
                    str(spath),
                    "--timerange",
                    tr,
                ]
            )
            if rc != 0:
                return rc
            summary[f"{label}_{window}"] = _summary(res_dir, args.strategy)

    t_oos, d_oos = summary["tuned_out_of_sample"], summary["default_out_of_sample"]
    holds = (t_oos["profit_total"] or 0) > 0 and (t_oos["sortino"] or -1e9) > (
        d_oos["sortino"] or -1e9
    )
    summary["holds_out_of_sample"] = bool(holds)
    (out / "walk_forward.json").write_text(json.dumps(summary, indent=2, default=str))

    def row(label: str, key: str) -> str:
        s = summary[key]
        return (
            f"| {label} | {s['total_trades']} | {s['profit_total'] * 100:.1f} % | "
            f"{(s['cagr'] or 0) * 100:.1f} % | {s['max_drawdown_account'] * 100:.1f} % | "
            f"{s['sortino']:.2f} | {s['calmar']:.2f} | {s['profit_factor']:.2f} |"
        )

    md = [
        f"# Walk-forward hyperopt: {args.strategy}",
        "",
        f"SortinoHyperOptLoss over buy sell roi stoploss, {args.epochs} epochs, random state 42, "
        f"fit on {args.in_sample}, judged on {args.out_of_sample}. Data `{args.data}`.",
        "",
        "| run | trades | profit | CAGR | max DD | Sortino | Calmar | profit factor |",
        "|---|---|---|---|---|---|---|---|",
        row("defaults, in-sample", "default_in_sample"),
        row("tuned, in-sample", "tuned_in_sample"),
        row("defaults, out-of-sample", "default_out_of_sample"),
        row("tuned, out-of-sample", "tuned_out_of_sample"),
        "",
        f"Holds out of sample (OOS profit > 0 and OOS Sortino above the defaults'): "
        f"**{'yes' if holds else 'no'}**.",
        "",
        "Tuned parameters:",
        "",
        "```json",
        json.dumps(summary["params"], indent=2),
        "```",
    ]
    (out / "walk_forward.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
