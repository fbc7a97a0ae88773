"""Futures analytics on real freqtrade databases: one written by freqtrade's own persistence
models (init_db + Trade), one recorded from the dry-run bot used for the API fixtures."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mon_paths import FIXTURES, MONITORING
from risk_exporter import analytics

T0 = datetime(2026, 11, 1, tzinfo=UTC)

# pair, strategy, short, leverage, funding_fees (freqtrade sign), close pnl or None, reason
TRADES = [
    ("BTC/USDT:USDT", "Trend", False, 5.0, -1.25, 12.5, "roi"),
    ("BTC/USDT:USDT", "Trend", True, 3.0, 0.5, -4.0, "stop_loss"),
    ("ETH/USDT:USDT", "Trend", False, 10.0, -3.0, -95.0, "liquidation"),
    ("ETH/USDT:USDT", "MeanRev", True, 2.0, 0.25, 6.0, "exit_signal"),
    ("SOL/USDT:USDT", "MeanRev", False, 4.0, -0.5, None, None),  # still open
]


@pytest.fixture(scope="module")
def ft_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from freqtrade.enums import TradingMode
    from freqtrade.persistence import Trade, init_db

    path = tmp_path_factory.mktemp("ftdb") / "tradesv3.sqlite"
    init_db(f"sqlite:///{path}")
    for i, (pair, strat, short, lev, ff, pnl, reason) in enumerate(TRADES):
        t = Trade(
            pair=pair,
            exchange="binance",
            strategy=strat,
            is_short=short,
            leverage=lev,
            trading_mode=TradingMode.FUTURES,
            stake_amount=100.0,
            amount=1.0,
            open_rate=100.0,
            fee_open=0.0005,
            fee_close=0.0005,
            funding_fees=ff,
            open_date=T0 + timedelta(hours=i),
            is_open=pnl is None,
            liquidation_price=90.0 if not short else 110.0,
        )
        if pnl is not None:
            t.close_rate = 101.0
            t.close_date = T0 + timedelta(hours=i + 1)
            t.close_profit_abs = pnl
            t.exit_reason = reason
        Trade.session.add(t)
    Trade.commit()
    Trade.session.remove()
    return path


def test_report_from_freqtrade_written_db(ft_db: Path) -> None:
    rep = analytics.aggregate(analytics.read_db("bot1", ft_db))
    assert (rep.total.trades, rep.total.open, rep.total.long, rep.total.short) == (5, 1, 3, 2)
    assert rep.total.avg_leverage == pytest.approx((5 + 3 + 10 + 2 + 4) / 5)
    assert rep.total.liquidations == 1
    assert rep.total.funding_paid == pytest.approx(1.25 - 0.5 + 3.0 - 0.25 + 0.5)
    assert rep.by_strategy["Trend"].pnl == pytest.approx(12.5 - 4.0 - 95.0)
    assert rep.by_strategy["MeanRev"].pnl == pytest.approx(6.0)
    assert rep.by_pair["ETH/USDT:USDT"].liquidations == 1
    assert rep.by_pair["SOL/USDT:USDT"].open == 1


def test_cli_table_and_png_over_two_databases(ft_db: Path, tmp_path: Path) -> None:
    png = tmp_path / "futures.png"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "risk_exporter.analytics",
            "--db",
            f"bot1={ft_db}",
            "--db",
            f"probe={FIXTURES.parent / 'dryrun-tradesv3.sqlite'}",
            "--png",
            str(png),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(MONITORING / "exporter"), "PATH": "/usr/bin:/bin"},
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    total = next(line for line in lines if line.startswith("all "))
    # 5 written + 5 recorded trades; 3+3 long, 2+2 short; one liquidation.
    assert total.split()[1:6] == ["10", "5", "6", "4", "4.80"]
    assert any(line.startswith("MonitorProbe ") for line in lines)
    assert any(line.split()[:1] == ["Trend"] and line.endswith(" -86.5000") for line in lines)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_missing_database_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        analytics.main(["--db", str(tmp_path / "nope.sqlite")])
