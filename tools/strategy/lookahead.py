"""freqtrade's own ``lookahead-analysis`` and ``recursive-analysis`` on the strategies
(repository slice by default): signals that use future candles, and indicators whose values
depend on how many startup candles came before.

.venv/bin/python tools/strategy/lookahead.py --out docs/reports/lookahead.md
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import ftconfig

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=ftconfig.REPO_DATA)
    ap.add_argument("--work", type=Path, default=ftconfig.ROOT / ".cache" / "strategies" / "la")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--strategies", nargs="+", default=["RossCameronFuturesStrategy", "FuturesAIRiskStrategy"]
    )
    ap.add_argument("--trades", type=int, default=20)
    ap.add_argument("--timerange", default="20250705-20250930")
    args = ap.parse_args()
    work = args.work.resolve()
    if work.exists():
        shutil.rmtree(work)
    data = ftconfig.copy_data(args.data.resolve(), work / "data")
    userdir = work / "user_data"
    for sub in ("strategies", "backtest_results"):
        (userdir / sub).mkdir(parents=True)
    out_lines = ["# freqtrade lookahead-analysis and recursive-analysis", ""]
    rc = 0
    with ftconfig.local_exchange(data, work) as base:
        cfg = ftconfig.write_config(work / "config.json", ftconfig.backtest_config(base, data))
        for strategy in args.strategies:
            csv = work / f"{strategy}.csv"
            res = ftconfig.freqtrade(
                "lookahead-analysis",
                "-c",
                str(cfg),
                "--userdir",
                str(userdir),
                "--datadir",
                str(data),
                "--strategy-path",
                str(ftconfig.ROOT / "strategies"),
                "--strategy",
                strategy,
                "--timerange",
                args.timerange,
                "--minimum-trade-amount",
                "5",
                "--targeted-trade-amount",
                str(args.trades),
                "--lookahead-analysis-exportfilename",
                str(csv),
                strategy_path=ftconfig.ROOT / "strategies",
            )
            rc = rc or res.returncode
            (work / f"{strategy}.log").write_text(res.stdout + res.stderr)
            out_lines += [f"## {strategy}", "", f"lookahead-analysis rc={res.returncode}", ""]
            if csv.exists():
                out_lines += ["```", csv.read_text().strip(), "```", ""]
            else:
                out_lines += ["```", (res.stdout + res.stderr)[-1500:], "```", ""]
            rec = ftconfig.freqtrade(
                "recursive-analysis",
                "-c", str(cfg), "--userdir", str(userdir), "--datadir", str(data),
                "--strategy-path", str(ftconfig.ROOT / "strategies"), "--strategy", strategy,
                "--timerange", args.timerange, "--startup-candle", "100", "200", "400",
                strategy_path=ftconfig.ROOT / "strategies",
            )  # fmt: skip
            rc = rc or rec.returncode
            (work / f"{strategy}-recursive.log").write_text(rec.stdout + rec.stderr)
            table = [ln for ln in rec.stdout.splitlines() if ln.strip()][-25:]
            out_lines += [f"recursive-analysis rc={rec.returncode}", "", "```", *table, "```", ""]
    args.out.write_text("\n".join(out_lines) + "\n")
    print("\n".join(out_lines))
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
