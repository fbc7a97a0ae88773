"""Futures analytics over freqtrade trade databases (SQLite), printed as tables and drawn as
a PNG chart.

    python -m risk_exporter.analytics --db trend=/var/lib/freqtrade/trend/tradesv3.sqlite \
        --db /var/lib/freqtrade/meanrev/tradesv3.sqlite --png /tmp/futures.png

Reads freqtrade's `trades` table read-only: is_short, leverage, funding_fees (freqtrade sign:
+ received, - paid), liquidation_price, close_profit_abs, realized_profit, exit_reason,
strategy, pair. A liquidation is a trade closed with exit_reason "liquidation".
"""

from __future__ import annotations

import argparse
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # matplotlib is optional (the analytics extra): imported where drawn
    from matplotlib.axes import Axes

LIQUIDATION = "liquidation"  # freqtrade ExitType.LIQUIDATION


@dataclass(frozen=True)
class TradeRow:
    bot: str
    pair: str
    strategy: str
    is_short: bool
    is_open: bool
    leverage: float
    funding_fees: float
    pnl: float  # closed: close_profit_abs; open: realised part of partial exits
    exit_reason: str


@dataclass
class Group:
    trades: int = 0
    open: int = 0
    long: int = 0
    short: int = 0
    leverage_sum: float = 0.0
    funding_paid: float = 0.0
    liquidations: int = 0
    pnl: float = 0.0

    def add(self, t: TradeRow) -> None:
        self.trades += 1
        self.open += t.is_open
        self.short += t.is_short
        self.long += not t.is_short
        self.leverage_sum += t.leverage
        self.funding_paid -= t.funding_fees
        self.liquidations += t.exit_reason == LIQUIDATION
        self.pnl += t.pnl

    @property
    def avg_leverage(self) -> float:
        return self.leverage_sum / self.trades if self.trades else 0.0


@dataclass
class Report:
    total: Group = field(default_factory=Group)
    by_strategy: dict[str, Group] = field(default_factory=lambda: defaultdict(Group))
    by_pair: dict[str, Group] = field(default_factory=lambda: defaultdict(Group))
    by_bot: dict[str, Group] = field(default_factory=lambda: defaultdict(Group))


def aggregate(rows: Iterable[TradeRow]) -> Report:
    rep = Report()
    for r in rows:
        rep.total.add(r)
        rep.by_strategy[r.strategy].add(r)
        rep.by_pair[r.pair].add(r)
        rep.by_bot[r.bot].add(r)
    return rep


QUERY = """
SELECT pair, COALESCE(strategy, ''), is_short, is_open, COALESCE(leverage, 1.0),
       COALESCE(funding_fees, 0.0),
       CASE WHEN is_open THEN COALESCE(realized_profit, 0.0)
            ELSE COALESCE(close_profit_abs, 0.0) END,
       COALESCE(exit_reason, '')
FROM trades
"""


def read_db(bot: str, path: Path) -> list[TradeRow]:
    # Read-only URI: the analytics must never lock or migrate a running bot's database.
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [
            TradeRow(
                bot,
                pair,
                strat,
                bool(short),
                bool(is_open),
                float(lev),
                float(ff),
                float(pnl),
                reason,
            )
            for pair, strat, short, is_open, lev, ff, pnl, reason in conn.execute(QUERY)
        ]
    finally:
        conn.close()


def parse_db_arg(arg: str) -> tuple[str, Path]:
    """'name=path' or 'path' (the bot is then named after the file's parent directory)."""
    if "=" in arg:
        name, _, path = arg.partition("=")
        return name, Path(path)
    p = Path(arg)
    return (p.parent.name or p.stem), p


HEADERS = ("trades", "open", "long", "short", "avg lev", "funding paid", "liq.", "PnL")


def _row(name: str, g: Group) -> list[str]:
    return [
        name,
        str(g.trades),
        str(g.open),
        str(g.long),
        str(g.short),
        f"{g.avg_leverage:.2f}",
        f"{g.funding_paid:.4f}",
        str(g.liquidations),
        f"{g.pnl:.4f}",
    ]


def table(title: str, groups: dict[str, Group]) -> str:
    rows = [[title, *HEADERS]] + [_row(k, groups[k]) for k in sorted(groups)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_text(rep: Report) -> str:
    return "\n\n".join(
        [
            table("total", {"all": rep.total}),
            table("bot", rep.by_bot),
            table("strategy", rep.by_strategy),
            table("pair", rep.by_pair),
        ]
    )


def draw_png(rep: Report, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # headless: servers have no display
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    (ax_strat, ax_pair), (ax_side, ax_fund) = axes

    def bars(ax: Axes, groups: dict[str, Group], attr: str, title: str) -> None:
        names = sorted(groups)
        values = [getattr(groups[n], attr) for n in names]
        ax.bar(names, values, color=["tab:green" if v >= 0 else "tab:red" for v in values])
        ax.set_title(title)
        ax.axhline(0, color="black", linewidth=0.5)
        ax.tick_params(axis="x", rotation=30)

    bars(ax_strat, rep.by_strategy, "pnl", "PnL per strategy (USDT)")
    bars(ax_pair, rep.by_pair, "pnl", "PnL per pair (USDT)")
    names = sorted(rep.by_pair)
    ax_side.bar(names, [rep.by_pair[n].long for n in names], label="long")
    ax_side.bar(
        names,
        [rep.by_pair[n].short for n in names],
        bottom=[rep.by_pair[n].long for n in names],
        label="short",
    )
    ax_side.set_title(
        f"Trades: {rep.total.long} long / {rep.total.short} short, "
        f"avg leverage {rep.total.avg_leverage:.1f}x, {rep.total.liquidations} liquidations"
    )
    ax_side.legend()
    ax_side.tick_params(axis="x", rotation=30)
    bars(ax_fund, rep.by_pair, "funding_paid", "Funding paid per pair (USDT, - = received)")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="risk_exporter.analytics",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--db", action="append", required=True, help="[name=]path to tradesv3.sqlite")
    ap.add_argument("--png", type=Path, help="write the chart here")
    args = ap.parse_args(argv)
    rows: list[TradeRow] = []
    for arg in args.db:
        name, path = parse_db_arg(arg)
        if not path.is_file():
            ap.error(f"no such database: {path}")
        rows += read_db(name, path)
    rep = aggregate(rows)
    print(render_text(rep))
    if args.png:
        draw_png(rep, args.png)
        print(f"\nchart: {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
