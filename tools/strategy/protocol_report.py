"""Markdown tables of the protocol's three windows from evaluate.py's JSON files.

    .venv/bin/python tools/strategy/protocol_report.py --dir docs/reports/protocol \
        --out docs/reports/protocol/results.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

WINDOWS = (
    ("dev", "2023-02-03 .. 2024-12-31 (choose and tune)"),
    ("oos", "2025-01-01 .. 2025-09-30 (judged once)"),
    ("full", "2023-02-03 .. 2025-09-30 (whole period)"),
)


def pct(v: float) -> str:
    return f"{v * 100:+.1f} %"


def summary_rows(data: dict[str, dict[str, Any]]) -> list[str]:
    rows = [
        "| strategy | return | max DD (15m MTM) | Sortino | Calmar | trades | win rate | fees | "
        "funding | liquidations | worst stop-loss / equity | bootstrap max DD p50 / p95 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in data.items():
        b = r["bootstrap_max_dd"]
        rows.append(
            f"| {name} | {pct(r['return'])} | {r['max_dd_mtm_15m']:.1%} | {r['sortino']:.2f} | "
            f"{r['calmar']:.2f} | {r['trades']} | {r['win_rate']:.0%} | {r['fees']:.0f} | "
            f"{r['funding']:+.0f} | {r['liquidations']} | {r['worst_stop_loss_of_equity']:.2%} | "
            f"{b['median']:.1%} / {b['p95']:.1%} |"
        )
    return rows


def breakdown(data: dict[str, dict[str, Any]], key: str, title: str) -> list[str]:
    out = [f"{title} (trades, profit in USDT):", ""]
    groups = sorted({g for r in data.values() for g in r[key]})
    out.append("| strategy | " + " | ".join(groups) + " |")
    out.append("|---|" + "---|" * len(groups))
    for name, r in data.items():
        cells = [
            f"{r[key][g]['trades']} / {r[key][g]['profit']:+.0f}" if g in r[key] else "-"
            for g in groups
        ]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return [*out, ""]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    lines = [
        "# Protocol results (10 000 USDT, 5 pairs, at most 5 open trades, fee 0.05 %/side,",
        "# funding from the 8h funding and mark files, risk_per_trade 0.5 %)",
        "",
        "Made by `make strategies-protocol`; numbers from `tools/strategy/evaluate.py`.",
        "",
    ]
    for key, title in WINDOWS:
        data = json.loads((args.dir / f"backtest-{key}.json").read_text())
        lines += [f"## {title}", "", *summary_rows(data), ""]
        lines += breakdown(data, "by_side", "Long and short")
        lines += breakdown(data, "by_exit", "By exit reason")
        lines += breakdown(data, "by_pair", "By pair")
    args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
