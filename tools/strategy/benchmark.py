"""Backtest wall time and peak memory: each strategy next to freqtrade's sample strategy.

One freqtrade process per strategy (5 pairs x the whole data period, all on the strategies'
4h candles), run back to back in the same session on the same data copy and the same local
exchange, measured with GNU time (``/usr/bin/time -v``: elapsed wall clock, maximum resident
set size). Each strategy is reported as a ratio to SampleShortStrategy. ``--repeat`` runs
alternate the strategies.

    .venv/bin/python tools/strategy/benchmark.py --data ../shared/data/binance \
        --out docs/reports/benchmark.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
from pathlib import Path

import ftconfig

HERE = Path(__file__).resolve().parent


STRATEGIES = ["SampleShortStrategy", "RossCameronFuturesStrategy", "FuturesAIRiskStrategy"]


def measure(cmd: list[str]) -> tuple[float, float]:
    res = subprocess.run(["/usr/bin/time", "-v", *cmd], text=True, capture_output=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-3000:])
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", res.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
    assert wall and rss, res.stderr[-2000:]
    h = int(wall.group(1) or 0)
    seconds = h * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    return seconds, int(rss.group(1)) / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=ftconfig.default_data())
    ap.add_argument("--work", type=Path, default=ftconfig.ROOT / ".cache" / "strategies" / "bench")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--timerange", default="")
    args = ap.parse_args()

    work = args.work.resolve()
    if work.exists():
        shutil.rmtree(work)
    data = ftconfig.copy_data(args.data.resolve(), work / "data")
    userdir = work / "user_data"
    (userdir / "strategies").mkdir(parents=True)
    for f in (HERE / "benchmark_strategies").glob("*.py"):
        shutil.copy2(f, userdir / "strategies" / f.name)
    samples: dict[str, list[tuple[float, float]]] = {s: [] for s in STRATEGIES}
    with ftconfig.local_exchange(data, work) as base:
        cfg = ftconfig.write_config(work / "config.json", ftconfig.backtest_config(base, data))
        for _ in range(args.repeat):
            for strategy in STRATEGIES:
                cmd = [
                    str(ftconfig.ROOT / ".venv" / "bin" / "freqtrade"),
                    "backtesting",
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
                    "--export",
                    "none",
                ]
                if args.timerange:
                    cmd += ["--timerange", args.timerange]
                samples[strategy].append(measure(cmd))
                print(strategy, samples[strategy][-1], flush=True)

    med = {
        s: (statistics.median(w for w, _ in v), statistics.median(m for _, m in v))
        for s, v in samples.items()
    }
    base_w, base_m = med["SampleShortStrategy"]
    lines = [
        "# Backtest benchmark",
        "",
        f"5 pairs x 4h, data `{args.data}` ({args.timerange or 'whole period'}), one freqtrade "
        f"process per strategy, median of {args.repeat} run(s), measured with /usr/bin/time -v. "
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}.",
        "Wall time includes start-up, market loading from the local exchange and data loading.",
        "",
        "| strategy | wall time (s) | peak RSS (MiB) | time vs sample | memory vs sample |",
        "|---|---|---|---|---|",
    ]
    for s, (w, m) in med.items():
        lines.append(f"| {s} | {w:.1f} | {m:.0f} | {w / base_w:.2f}x | {m / base_m:.2f}x |")
    args.out.write_text("\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps(samples, indent=2))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
