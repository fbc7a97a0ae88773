"""Soak benchmark of a running, converged server (not a CI test).

Every INTERVAL seconds for MINUTES minutes it samples, per unit (each bot, the local
exchange, the monitor, nginx and the Telegram stand-in): MainPID, NRestarts, the main
process's RSS and open file descriptors, and whether each bot's /api/v1/ping answers. All
samples go to artifacts/reliability/soak.csv; the summary table replaces the block between
the soak markers in docs/reliability.md.

Usage: python tools/reliability/soak.py [--minutes 60] [--interval 30] [--container NAME]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
# The bots, the local exchange, the monitor and the edge (nginx: its master process only).
UNITS = [
    "freqtrade@rossc",
    "freqtrade@airisk",
    "replay-exchange",
    "risk-exporter",
    "prometheus",
    "prometheus-alertmanager",
    "prometheus-node-exporter",
    "nginx",
    "telegram-standin",
]
PORTS = {"freqtrade@rossc": 8101, "freqtrade@airisk": 8102}
BEGIN, END = "<!-- soak:begin -->", "<!-- soak:end -->"

# One docker exec per sample: a line "unit pid nrestarts rss_kb fds ping" per unit.
PROBE = r"""
for u in UNITS; do
  pid=$(systemctl show -p MainPID --value "$u"); n=$(systemctl show -p NRestarts --value "$u")
  rss=$(awk '/^VmRSS:/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
  fds=$(ls /proc/$pid/fd 2>/dev/null | wc -l)
  port=$(echo "PORTS" | tr ' ' '\n' | awk -F= -v u="$u" '$1 == u {print $2}')
  ok=-
  if [ -n "$port" ]; then
    curl -fsS -m 5 "127.0.0.1:$port/api/v1/ping" > /dev/null 2>&1 && ok=1 || ok=0
  fi
  echo "$u $pid $n ${rss:-0} $fds $ok"
done
"""


@dataclass
class Sample:
    t: float
    unit: str
    pid: int
    restarts: int
    rss_kb: int
    fds: int
    ping: str


def probe(container: str) -> list[Sample]:
    script = PROBE.replace("UNITS", " ".join(UNITS)).replace(
        "PORTS", " ".join(f"{u}={p}" for u, p in PORTS.items())
    )
    out = subprocess.run(
        ["docker", "exec", container, "bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    now = time.time()
    samples = []
    for line in out.splitlines():
        unit, pid, n, rss, fds, ok = line.split()
        samples.append(Sample(now, unit, int(pid), int(n), int(rss), int(fds), ok))
    return samples


def summary(samples: list[Sample], minutes: float, started: str, container: str) -> str:
    load = Path("/proc/loadavg").read_text().split()[:3]
    lines = [
        f"Soak of `{container}`: {minutes:.1f} minutes from {started} UTC, "
        f"{len({s.t for s in samples})} samples; load average at the end {' '.join(load)}.",
        "",
        "| unit | RSS first → last (MiB) | RSS max | RSS growth | fds first → last | fds max "
        "| NRestarts start → end | MainPID changes | ping failures |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for unit in UNITS:
        rows = [s for s in samples if s.unit == unit]
        if not rows:
            continue
        first, last = rows[0], rows[-1]
        pids = len({s.pid for s in rows}) - 1
        fails = sum(1 for s in rows if s.ping == "0")
        pings = "n/a" if first.ping == "-" else f"{fails} of {len(rows)}"
        lines.append(
            f"| {unit} | {first.rss_kb / 1024:.0f} → {last.rss_kb / 1024:.0f} "
            f"| {max(s.rss_kb for s in rows) / 1024:.0f} "
            f"| {(last.rss_kb - first.rss_kb) / 1024:+.0f} "
            f"| {first.fds} → {last.fds} | {max(s.fds for s in rows)} "
            f"| {first.restarts} → {last.restarts} | {pids} | {pings} |"
        )
    return "\n".join(lines)


def write_doc(doc: Path, table: str) -> None:
    text = doc.read_text() if doc.exists() else f"{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--interval", type=float, default=30)
    parser.add_argument("--container", default="ft-reliability")
    parser.add_argument("--csv", type=Path, default=TOP / "artifacts/reliability/soak.csv")
    parser.add_argument("--doc", type=Path, default=TOP / "docs/reliability.md")
    args = parser.parse_args()

    args.csv.parent.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    t0 = time.monotonic()
    samples: list[Sample] = []
    with args.csv.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["time", "unit", "pid", "nrestarts", "rss_kb", "fds", "ping"])
        while True:
            for s in probe(args.container):
                samples.append(s)
                out.writerow([f"{s.t:.0f}", s.unit, s.pid, s.restarts, s.rss_kb, s.fds, s.ping])
            f.flush()
            if time.monotonic() - t0 >= args.minutes * 60:
                break
            time.sleep(args.interval)
    table = summary(samples, (time.monotonic() - t0) / 60, started, args.container)
    write_doc(args.doc, table)
    print(table)


if __name__ == "__main__":
    main()
