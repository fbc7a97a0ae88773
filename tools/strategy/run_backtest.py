"""Backtest (or hyperopt) the strategies offline: copy the data, start the local exchange for
markets, write a config, run freqtrade, leave freqtrade's JSON results in --out.

    .venv/bin/python tools/strategy/run_backtest.py --out artifacts/strategies/backtest \
        --strategies RossCameronFuturesStrategy FuturesAIRiskStrategy SampleShortStrategy

Data: --data (default: ../shared/data/binance when present, else the repository slice),
copied under --work (default .cache/strategies) first; freqtrade never sees the original.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import ftconfig

HERE = Path(__file__).resolve().parent


STRATEGY_PATH = ftconfig.ROOT / "strategies"
BENCH_PATH = HERE / "benchmark_strategies"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=ftconfig.default_data())
    ap.add_argument("--work", type=Path, default=ftconfig.ROOT / ".cache" / "strategies")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--strategies", nargs="+", default=["RossCameronFuturesStrategy", "FuturesAIRiskStrategy"]
    )
    ap.add_argument("--pairs", nargs="+", default=ftconfig.PAIRS)
    ap.add_argument("--strategy-path", type=Path, default=STRATEGY_PATH)
    ap.add_argument(
        "--keep-data", action="store_true", help="reuse the data copy in --work if present"
    )
    ap.add_argument("--timerange", default="")
    ap.add_argument("--wallet", type=float, default=10_000.0)
    ap.add_argument(
        "--risk",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="futures_risk keys for the config, e.g. risk_per_trade=0.005 max_drawdown=0.03",
    )
    ap.add_argument("--hyperopt", action="store_true", help="run hyperopt instead of backtesting")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--spaces", nargs="+", default=["buy", "sell", "roi", "stoploss"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more freqtrade args")
    args = ap.parse_args(argv)

    src = args.data.resolve()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    data_copy = work / "data"
    if not (args.keep_data and (data_copy / "futures").is_dir()):
        if data_copy.exists():
            shutil.rmtree(data_copy)
        ftconfig.copy_data(src, data_copy, args.pairs)
    userdir = work / "user_data"
    for sub in ("data", "strategies", "hyperopts", "hyperopt_results", "backtest_results", "logs"):
        (userdir / sub).mkdir(parents=True, exist_ok=True)
    for f in BENCH_PATH.glob("*.py"):
        shutil.copy2(f, userdir / "strategies" / f.name)  # reference strategies
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    print(f"data: {src} (copied to {data_copy})", flush=True)
    with ftconfig.local_exchange(data_copy, work) as base:
        cfg = ftconfig.backtest_config(base, data_copy, pairs=args.pairs, wallet=args.wallet)
        for item in args.risk:
            key, _, value = item.partition("=")
            cfg["futures_risk"][key] = value if key == "rearm_at" else float(value)
        cfg_path = ftconfig.write_config(work / "config.json", cfg)
        common = [
            "-c",
            str(cfg_path),
            "--userdir",
            str(userdir),
            "--datadir",
            str(data_copy),
            "--strategy-path",
            str(args.strategy_path.resolve()),
        ]
        if args.timerange:
            common += ["--timerange", args.timerange]
        if args.hyperopt:
            (strategy,) = args.strategies
            cmd = [
                "hyperopt",
                *common,
                "--strategy",
                strategy,
                "--hyperopt-loss",
                "SortinoHyperOptLoss",
                "--spaces",
                *args.spaces,
                "--epochs",
                str(args.epochs),
                "-j",
                str(args.jobs),
                "--random-state",
                "42",
                "--print-json",
                *args.extra,
            ]
        else:
            cmd = [
                "backtesting",
                *common,
                "--strategy-list",
                *args.strategies,
                "--export",
                "trades",
                "--backtest-directory",
                str(out),
                "--breakdown",
                "day",
                *args.extra,
            ]
        t0 = time.time()
        res = ftconfig.freqtrade(*cmd, strategy_path=args.strategy_path.resolve())
        wall = time.time() - t0
    (out / f"freqtrade-{cmd[0]}.log").write_text(res.stdout + res.stderr)
    if args.hyperopt:
        (out / "hyperopt-stdout.txt").write_text(res.stdout)
    (out / "run.json").write_text(
        json.dumps(
            {
                "command": ["freqtrade", *cmd],
                "data": str(src),
                "wall_seconds": round(wall, 2),
                "returncode": res.returncode,
            },
            indent=2,
        )
    )
    tail = (res.stdout + res.stderr).splitlines()[-60:]
    print("\n".join(tail))
    if res.returncode != 0:
        print(f"freqtrade failed (rc={res.returncode}), log in {out}", file=sys.stderr)
    return res.returncode


if __name__ == "__main__":
    raise SystemExit(main())
