"""Benchmark the risk exporter: scrape latency (p50/p99) and resident memory with
3 bots x 5 open positions (fake freqtrade APIs serving the recorded dry-run responses).

    python monitoring/tools/bench.py [--bots 3] [--positions 5] [--scrapes 1000]

The exporter runs as its own process (python -m risk_exporter), polling every second while
it is scraped, so polls and scrapes contend as they do in production. Targets: p99 < 100 ms,
RSS < 80 MB. Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from fake_freqtrade import FakeFreqtrade

EXPORTER = Path(__file__).resolve().parents[1] / "exporter"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def percentile(sorted_values: list[float], q: float) -> float:
    idx = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[idx]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bots", type=int, default=3)
    ap.add_argument("--positions", type=int, default=5)
    ap.add_argument("--scrapes", type=int, default=1000)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--tiers", type=Path, help="leverage_tiers_file for the exporter")
    args = ap.parse_args()

    fakes = [FakeFreqtrade(n_positions=args.positions).start() for _ in range(args.bots)]
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        pw = Path(tmp) / "pw"
        pw.write_text("monitor-pw")
        cfg = {
            "listen_address": "127.0.0.1",
            "listen_port": port,
            "poll_interval_seconds": 1,
            "bots": [
                {
                    "name": f"bot{i}",
                    "url": f.url,
                    "username": "monitor",
                    "password_file": str(pw),
                    "max_total_notional_usdt": 5000,
                    "max_stake_per_trade_usdt": 100,
                    "backtest": {"expected_daily_return_ratio": 0.001},
                }
                for i, f in enumerate(fakes)
            ],
        }
        if args.tiers:
            cfg["leverage_tiers_file"] = str(args.tiers)
        cfg_path = Path(tmp) / "config.yml"
        cfg_path.write_text(json.dumps(cfg))  # JSON is YAML
        env = {**os.environ, "PYTHONPATH": str(EXPORTER)}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "risk_exporter",
                "--config",
                str(cfg_path),
                "--log-level",
                "WARNING",
            ],
            env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}/metrics"
            deadline = time.monotonic() + 30
            body = ""
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(url, timeout=2) as r:
                        body = r.read().decode()
                    if body.count("risk_bot_up{") == args.bots and " 0.0" not in "".join(
                        line for line in body.splitlines() if line.startswith("risk_bot_up{")
                    ):
                        break
                except OSError:
                    pass
                time.sleep(0.2)
            else:
                print("exporter did not come up with all bots", file=sys.stderr)
                return 2
            lat = []
            for _ in range(args.scrapes):
                t0 = time.perf_counter()
                with urllib.request.urlopen(url, timeout=5) as r:
                    body = r.read()
                lat.append((time.perf_counter() - t0) * 1000)
            rss, peak = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)
            for f in fakes:
                f.stop()
    lat.sort()
    result = {
        "bots": args.bots,
        "leverage_tiers_file": str(args.tiers) if args.tiers else None,
        "positions_per_bot": args.positions,
        "scrapes": args.scrapes,
        "scrape_bytes": len(body),
        "series": sum(1 for line in body.decode().splitlines() if line and line[0] != "#"),
        "p50_ms": round(statistics.median(lat), 2),
        "p90_ms": round(percentile(lat, 0.90), 2),
        "p99_ms": round(percentile(lat, 0.99), 2),
        "max_ms": round(lat[-1], 2),
        "rss_mb": round(rss, 1),
        "peak_rss_mb": round(peak, 1),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    ok = result["p99_ms"] < 100 and result["peak_rss_mb"] < 80
    print("targets (p99 < 100 ms, RSS < 80 MB):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
