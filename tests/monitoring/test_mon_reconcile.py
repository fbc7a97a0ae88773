"""Reconciliation of the account's positions with the live bots' open trades: the math, the
refresh rules, the configuration (key and secret from the environment only) and the metrics.
Against a real exchange and a live freqtrade bot: tests/exchange/test_live_faults.py."""

from __future__ import annotations

import dataclasses

import mon_paths  # noqa: F401  (puts the exporter on sys.path)
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from risk_exporter.collector import RiskCollector
from risk_exporter.config import ConfigError, parse_config, reconcile_credentials
from risk_exporter.reconcile import (
    Close,
    Reconciliation,
    bots_net,
    due_closes,
    live_trades,
    mismatch,
    parse_position_risk,
    unowned,
)
from risk_exporter.snapshot import BotSnapshot, Position

ENV = {"RISK_EXPORTER_EXCHANGE_KEY": "k" * 64, "RISK_EXPORTER_EXCHANGE_SECRET": "s" * 64}
BOTS = [{"name": "a", "url": "http://127.0.0.1:1", "username": "u", "password_file": "/x"}]


def position(pair: str, side: str, amount: float) -> Position:
    zeros = {f.name: 0.0 for f in dataclasses.fields(Position)}
    return Position(**{**zeros, "trade_id": 1, "pair": pair, "side": side, "amount": amount})


def snapshot(dry_run: bool, *positions: Position, taken_at: float = 0.0) -> BotSnapshot:
    values: dict[str, object] = {f.name: 0.0 for f in dataclasses.fields(BotSnapshot)}
    values.update(dict.fromkeys(("stake_currency", "strategy", "trading_mode"), ""))
    values.update(margin_mode="", version="", state="running", extra={})
    values.update(dry_run=dry_run, positions=tuple(positions), taken_at=taken_at)
    return BotSnapshot(**values)  # type: ignore[arg-type]


def test_position_risk_keeps_open_positions_signed() -> None:
    rows = [
        {"symbol": "BTCUSDT", "positionAmt": "0.002"},
        {"symbol": "ETHUSDT", "positionAmt": "-0.050"},
        {"symbol": "SOLUSDT", "positionAmt": "0.000"},
    ]
    assert parse_position_risk(rows) == {"BTCUSDT": 0.002, "ETHUSDT": -0.05}
    assert parse_position_risk({"code": -2015}) == {}


def test_bots_net_sums_per_symbol_with_shorts_negative() -> None:
    trades = [
        ("BTC/USDT:USDT", 0.003, False),
        ("BTC/USDT:USDT", 0.001, True),
        ("ETH/USDT:USDT", 0.05, True),
    ]
    assert bots_net(trades) == pytest.approx({"BTCUSDT": 0.002, "ETHUSDT": -0.05})


def test_mismatch_both_ways_and_nothing_when_they_agree() -> None:
    exchange = {"BTCUSDT": 0.002, "SOLUSDT": 1.0}
    bots = {"BTCUSDT": 0.002 + 1e-12, "ETHUSDT": 0.054}
    # SOL: a position no bot knows; ETH: a trade whose position is gone; BTC: float noise.
    assert mismatch(exchange, bots) == {"ETHUSDT": -0.054, "SOLUSDT": 1.0}
    assert mismatch({}, {}) == {}


def test_only_live_bots_count() -> None:
    live = snapshot(False, position("BTC/USDT:USDT", "short", 0.01))
    paper = snapshot(True, position("ETH/USDT:USDT", "long", 1.0))
    assert live_trades([live, paper]) == [("BTC/USDT:USDT", 0.01, True)]


def test_refresh_waits_for_every_bot_and_counts_errors() -> None:
    rec = Reconciliation()
    live = snapshot(False, position("BTC/USDT:USDT", "long", 0.01))
    rec.refresh(lambda: {"BTCUSDT": 0.011}, lambda: [live, None], now=lambda: 5.0)
    assert not rec.up and rec.mismatches == {}  # one bot not polled yet: no verdict
    rec.refresh(lambda: {"BTCUSDT": 0.011}, lambda: [live], now=lambda: 6.0)
    assert rec.up and rec.mismatches == pytest.approx({"BTCUSDT": 0.001})
    assert rec.last_success == 6.0

    def down() -> dict[str, float]:
        raise OSError("connection refused")

    rec.refresh(down, lambda: [live])
    assert not rec.up and rec.errors == 1
    assert rec.mismatches == pytest.approx({"BTCUSDT": 0.001})  # the last verdict stays shown


def test_config_and_credentials_from_the_environment_only() -> None:
    raw = {"bots": BOTS, "reconcile": {"enabled": True, "exchange_url": "http://x:1/"}}
    cfg = parse_config(raw)
    assert cfg.reconcile.enabled and cfg.reconcile.exchange_url == "http://x:1"
    assert not parse_config({"bots": BOTS}).reconcile.enabled
    with pytest.raises(ConfigError, match="RISK_EXPORTER_EXCHANGE_SECRET"):
        reconcile_credentials({"RISK_EXPORTER_EXCHANGE_KEY": "k"})
    assert reconcile_credentials(ENV) == ("k" * 64, "s" * 64)


def test_metrics() -> None:
    cfg = parse_config({"bots": BOTS, "reconcile": {"enabled": True}})
    rec = Reconciliation(up=True, mismatches={"SOLUSDT": 1.0}, last_success=7.0)
    registry = CollectorRegistry()
    registry.register(RiskCollector(cfg, [], reconciliation=rec))
    text = generate_latest(registry).decode()
    assert 'risk_exchange_position_mismatch{symbol="SOLUSDT"} 1.0' in text
    assert "risk_exchange_mismatched_symbols 1.0" in text
    assert "risk_exchange_reconcile_up 1.0" in text
    assert "risk_exchange_reconcile_errors_total 0.0" in text
    assert "risk_exchange_reconcile_last_success_timestamp_seconds 7.0" in text


def test_only_positions_in_symbols_no_bot_trades_are_orphans() -> None:
    exchange = {"BTCUSDT": 0.003, "SOLUSDT": -1.0, "ETHUSDT": 0.05}
    bots = {"BTCUSDT": 0.002, "ETHUSDT": 0.05}
    # BTC: the bot holds part (a fill in flight?) - never closed; ETH agrees; SOL is no bot's.
    assert unowned(exchange, bots) == {"SOLUSDT": -1.0}


def test_an_orphan_is_due_only_after_the_bots_were_read_grace_seconds_later() -> None:
    closes, watch = due_closes({"SOLUSDT": 1.0}, {}, now=100.0, bots_read_at=99.0, grace_s=60)
    assert closes == [] and watch == {"SOLUSDT": (1.0, 100.0)}
    # Time passes but a bot's trades were not read again since: nothing is due.
    closes, watch = due_closes({"SOLUSDT": 1.0}, watch, now=200.0, bots_read_at=150.0, grace_s=60)
    assert closes == [] and watch == {"SOLUSDT": (1.0, 100.0)}
    closes, watch = due_closes({"SOLUSDT": 1.0}, watch, now=205.0, bots_read_at=160.0, grace_s=60)
    assert closes == [Close("SOLUSDT", "SELL", 1.0)]
    # A short is closed by a buy; a changed amount (a fill in progress) restarts the wait.
    closes, watch = due_closes({"SOLUSDT": -2.0}, watch, now=210.0, bots_read_at=209.0, grace_s=60)
    assert closes == [] and watch == {"SOLUSDT": (-2.0, 210.0)}
    closes, _ = due_closes({"SOLUSDT": -2.0}, watch, now=280.0, bots_read_at=270.0, grace_s=60)
    assert closes == [Close("SOLUSDT", "BUY", 2.0)]
    # Gone from the account: no longer watched.
    assert due_closes({}, watch, now=300.0, bots_read_at=299.0, grace_s=60) == ([], {})


def test_refresh_closes_an_orphan_once_and_retries_a_refused_close() -> None:
    sent: list[Close] = []
    refuse = [True]

    def closer(order: Close) -> None:
        if refuse[0]:
            raise OSError("HTTP 503")
        sent.append(order)

    rec = Reconciliation(closer=closer, close_after_s=60)
    account = {"SOLUSDT": 1.0, "BTCUSDT": 0.01}
    bot = [snapshot(False, position("BTC/USDT:USDT", "long", 0.01), taken_at=10.0)]
    rec.refresh(lambda: account, lambda: bot, now=lambda: 10.0)
    bot = [snapshot(False, position("BTC/USDT:USDT", "long", 0.01), taken_at=75.0)]
    rec.refresh(lambda: account, lambda: bot, now=lambda: 76.0)
    assert sent == [] and rec.close_errors == 1  # due, refused: counted, still watched
    refuse[0] = False
    rec.refresh(lambda: account, lambda: bot, now=lambda: 90.0)
    assert sent == [Close("SOLUSDT", "SELL", 1.0)]  # the bot's BTC is never touched
    assert rec.closed == {"SOLUSDT": 1} and rec.watch == {}
    rec.refresh(lambda: {"BTCUSDT": 0.01}, lambda: bot, now=lambda: 95.0)
    assert len(sent) == 1 and rec.mismatches == {}


def test_a_bot_that_cannot_be_read_holds_every_close() -> None:
    sent: list[Close] = []
    rec = Reconciliation(closer=sent.append, close_after_s=60)
    stale = [snapshot(False, taken_at=10.0), snapshot(False, taken_at=500.0)]
    for t in (10.0, 200.0, 400.0):
        rec.refresh(lambda: {"SOLUSDT": 1.0}, lambda: stale, now=lambda t=t: t)
    assert sent == [] and rec.watch == {"SOLUSDT": (1.0, 10.0)}


def test_closing_is_off_unless_configured_and_never_below_a_minute() -> None:
    rec = Reconciliation()
    rec.refresh(lambda: {"SOLUSDT": 1.0}, lambda: [snapshot(False)], now=lambda: 1e9)
    assert rec.watch == {} and rec.closed == {}
    raw = {"bots": BOTS, "reconcile": {"enabled": True, "close_orphans_after_seconds": 120}}
    assert parse_config(raw).reconcile.close_orphans_after_seconds == 120
    for bad in (
        {"enabled": True, "close_orphans_after_seconds": 10},
        {"close_orphans_after_seconds": 120},
    ):
        with pytest.raises(ConfigError, match="close_orphans_after_seconds"):
            parse_config({"bots": BOTS, "reconcile": bad})


def test_close_metrics_only_when_closing_is_on() -> None:
    cfg = parse_config({"bots": BOTS, "reconcile": {"enabled": True}})
    rec = Reconciliation(up=True, closer=lambda order: None, closed={"SOLUSDT": 2})
    registry = CollectorRegistry()
    registry.register(RiskCollector(cfg, [], reconciliation=rec))
    text = generate_latest(registry).decode()
    assert 'risk_exchange_orphans_closed_total{symbol="SOLUSDT"} 2.0' in text
    assert "risk_exchange_orphan_close_errors_total 0.0" in text
    off = CollectorRegistry()
    off.register(RiskCollector(cfg, [], reconciliation=Reconciliation(up=True)))
    assert "orphans_closed" not in generate_latest(off).decode()
