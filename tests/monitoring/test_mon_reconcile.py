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
    Reconciliation,
    bots_net,
    live_trades,
    mismatch,
    parse_position_risk,
)
from risk_exporter.snapshot import BotSnapshot, Position

ENV = {"RISK_EXPORTER_EXCHANGE_KEY": "k" * 64, "RISK_EXPORTER_EXCHANGE_SECRET": "s" * 64}
BOTS = [{"name": "a", "url": "http://127.0.0.1:1", "username": "u", "password_file": "/x"}]


def position(pair: str, side: str, amount: float) -> Position:
    zeros = {f.name: 0.0 for f in dataclasses.fields(Position)}
    return Position(**{**zeros, "trade_id": 1, "pair": pair, "side": side, "amount": amount})


def snapshot(dry_run: bool, *positions: Position) -> BotSnapshot:
    values: dict[str, object] = {f.name: 0.0 for f in dataclasses.fields(BotSnapshot)}
    values.update(dict.fromkeys(("stake_currency", "strategy", "trading_mode"), ""))
    values.update(margin_mode="", version="", state="running", extra={})
    values.update(dry_run=dry_run, positions=tuple(positions))
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
