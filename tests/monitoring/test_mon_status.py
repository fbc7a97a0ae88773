"""`ft-status` (risk_exporter.status) on responses recorded from a real freqtrade 2026.9 bot,
served by the fake bot, and on the JSON shapes of Prometheus's and Alertmanager's APIs. The
whole chain on a converged server (real bots, Prometheus, Alertmanager) is in the whole-site
scenario; the login to those two is in test_mon_webauth.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_freqtrade import FakeFreqtrade
from risk_exporter import status
from risk_exporter.config import parse_config


def test_position_from_a_recorded_short(recorded):
    trade = next(t for t in recorded["status"] if t["is_short"])
    p = status.position(trade)
    assert p.side == "short"
    assert p.leverage == trade["leverage"]
    # A short is liquidated above the price: distance = (liq - rate) / rate.
    want = (trade["liquidation_price"] - trade["current_rate"]) / trade["current_rate"]
    assert p.liquidation_distance == pytest.approx(want)
    assert p.liquidation_distance > 0


def test_liquidation_distance_long_and_unknown():
    assert status.liquidation_distance(
        {"liquidation_price": 90.0, "current_rate": 100.0}
    ) == pytest.approx(0.10)
    assert status.liquidation_distance({"liquidation_price": None, "current_rate": 100.0}) is None
    assert status.liquidation_distance({}) is None


def test_today_is_the_first_day_freqtrade_returns(recorded):
    assert status.today_pnl(recorded["daily"]) == recorded["daily"]["data"][0]["abs_profit"]
    assert status.today_pnl({"data": []}) is None
    assert status.today_pnl(None) is None


def test_query_vector_by_bot():
    answer = [
        {
            "metric": {"__name__": "risk_bot_governor_drawdown_ratio", "bot": "a"},
            "value": [1, "0.04"],
        },
        {"metric": {"__name__": "risk_bot_governor_drawdown_ratio"}, "value": [1, "9"]},
    ]
    assert status.vector_by_bot(answer) == {"a": 0.04}
    assert status.vector_by_bot({"unexpected": 1}) == {}


def test_only_active_alerts_are_firing():
    alerts = [
        {
            "labels": {"alertname": "RiskGovernorHalted", "severity": "critical", "bot": "b"},
            "annotations": {"summary": "halted"},
            "status": {"state": "active"},
        },
        {"labels": {"alertname": "Silenced"}, "status": {"state": "suppressed"}},
    ]
    assert status.firing(alerts) == [status.Alert("RiskGovernorHalted", "critical", "b", "halted")]


def test_render_names_every_figure():
    bot = status.BotStatus(
        name="rossc",
        unit="active",
        mode="dry_run",
        strategy="S",
        state="running",
        positions=[status.Position("BTC/USDT:USDT", "long", 3.0, 0.3, 1.5, -0.2)],
        today_pnl=-2.0,
        drawdown=0.05,
        drawdown_limit=0.15,
        halted=False,
    )
    text = status.render([bot], [])
    assert "rossc: unit active, dry_run, S, freqtrade running" in text
    assert "today -2.00 USDT; drawdown 5.0 % of limit 15.0 %" in text
    assert "long  BTC/USDT:USDT    3x  liquidation 30.0 % away" in text
    assert "funding -0.20 USDT" in text
    assert text.endswith("alerts: none firing")
    assert status.render([bot], None).endswith("alerts: Alertmanager not reachable")


def test_main_asks_the_bot_through_freqtrade_client(tmp_path: Path, capsys, monkeypatch):
    """Against the fake bot: the bot's part is filled in; the monitor's parts are unknown
    (no Prometheus, no Alertmanager, no systemd here) and the exit status says so."""
    monkeypatch.setattr(status, "run", _no_tools)
    monkeypatch.setattr(status, "get_json", _no_monitor)
    with FakeFreqtrade() as fake:
        pw = tmp_path / "a.password"
        pw.write_text("monitor-pw\n")
        cfg = {
            "bots": [
                {"name": "a", "url": fake.url, "username": "monitor", "password_file": str(pw)}
            ]
        }
        parse_config(cfg)  # the same checks the exporter makes
        path = tmp_path / "config.yml"
        path.write_text(json.dumps(cfg))
        rc = status.main(["--config", str(path), "--json"])
    doc = json.loads(capsys.readouterr().out)
    bot = doc["bots"][0]
    assert bot["mode"] == "dry_run"
    assert bot["strategy"] == fake.data["show_config"]["strategy"]
    assert len(bot["positions"]) == len(fake.data["status"])
    assert bot["today_pnl"] == fake.data["daily"]["data"][0]["abs_profit"]
    assert bot["error"] == ""
    assert bot["unit"] == "?" and bot["drawdown"] is None and doc["alerts"] is None
    assert rc == 1


def test_main_reports_an_api_failure(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(status, "run", _no_tools)
    monkeypatch.setattr(status, "get_json", _no_monitor)
    with FakeFreqtrade() as fake:
        pw = tmp_path / "a.password"
        pw.write_text("wrong\n")
        path = tmp_path / "config.yml"
        bots = [{"name": "a", "url": fake.url, "username": "monitor", "password_file": str(pw)}]
        path.write_text(json.dumps({"bots": bots}))
        assert status.main(["--config", str(path)]) == 1
    assert "API: show_config: {'detail': 'Unauthorized'}" in capsys.readouterr().out


def _no_tools(cmd: list[str]) -> str:
    raise FileNotFoundError(cmd[0])


def _no_monitor(url: str, login: object) -> object:
    raise ConnectionRefusedError(url)
