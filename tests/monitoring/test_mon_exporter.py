"""Exporter on the responses recorded from a real freqtrade 2026.9 dry-run bot.

The fake bot (monitoring/tools/fake_freqtrade.py) serves those recordings over HTTP, so the
whole path is exercised: FtRestClient → adapter → snapshot → collector → text exposition.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from fake_freqtrade import FakeFreqtrade
from mon_paths import MONITORING
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from risk_exporter.client import make_client
from risk_exporter.collector import RiskCollector
from risk_exporter.config import ConfigError, load_config, parse_config
from risk_exporter.poller import BotState, poll_once
from risk_exporter.snapshot import build_snapshot, count_exchange_errors
from risk_exporter.state import PeakStore

NOW = 1795604410.0  # a few seconds after the recording


def cfg_for(*bots: dict[str, Any], **extra: Any):
    return parse_config({"bots": list(bots), "poll_interval_seconds": 1, **extra})


def bot_entry(name: str, url: str, tmp_path: Path, password: str = "monitor-pw") -> dict:
    pw = tmp_path / f"{name}.pw"
    pw.write_text(password + "\n")
    return {
        "name": name,
        "url": url,
        "username": "monitor",
        "password_file": str(pw),
        "backtest": {"expected_daily_return_ratio": 0.001},
        "max_stake_per_trade_usdt": 80,
        "max_total_notional_usdt": 1000,
    }


def scrape(registry: CollectorRegistry) -> dict[tuple[str, frozenset], float]:
    text = generate_latest(registry).decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def val(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_example_config_loads(tmp_path: Path) -> None:
    import freqtrade.exchange
    import yaml

    raw = yaml.safe_load((MONITORING / "exporter" / "config.example.yml").read_text())
    assert raw["leverage_tiers_file"].startswith("/opt/freqtrade/current/")
    # The role points at freqtrade's bundled file in the current release; here, read it
    # where this venv's freqtrade has it.
    raw["leverage_tiers_file"] = str(
        Path(freqtrade.exchange.__file__).with_name("binance_leverage_tiers.json")
    )
    example = tmp_path / "config.yml"
    example.write_text(yaml.safe_dump(raw))
    cfg = load_config(example)
    assert [b.name for b in cfg.bots] == ["trend", "meanrev"]
    assert cfg.listen_address == "127.0.0.1"
    assert cfg.liq_threshold(cfg.bots[1]) == 0.08
    assert cfg.liq_threshold(cfg.bots[0]) == 0.05
    assert cfg.mm_rate("BTC/USDT:USDT") == 0.004
    assert cfg.mm_rate("XRP/USDT:USDT") == 0.005
    assert cfg.leverage_tiers.get("ETH/USDT:USDT")


@pytest.mark.parametrize(
    "raw",
    [{}, {"bots": []}, {"bots": [{"name": "a"}]}, {"bots": [{"name": "a", "url": "x"}] * 2}],
)
def test_bad_configs_are_refused(raw: dict) -> None:
    with pytest.raises(ConfigError):
        parse_config(raw)


def test_snapshot_from_recorded_dry_run(recorded: dict[str, Any], tmp_path: Path) -> None:
    cfg = cfg_for(
        bot_entry("a", "http://x", tmp_path), maintenance_margin_rates={"BTC/USDT:USDT": 0.004}
    )
    snap = build_snapshot(
        now=NOW,
        cfg=cfg,
        bot=cfg.bots[0],
        show_config=recorded["show_config"],
        status=recorded["status"],
        balance=recorded["balance"],
        profit=recorded["profit"],
        daily=recorded["daily"],
        health=recorded["health"],
    )
    by_pair = {p.pair: p for p in snap.positions}
    assert set(by_pair) == {"ETH/USDT:USDT", "BTC/USDT:USDT", "BNB/USDT:USDT", "ADA/USDT:USDT"}
    btc, eth = by_pair["BTC/USDT:USDT"], by_pair["ETH/USDT:USDT"]
    assert (btc.side, btc.leverage, eth.side, eth.leverage) == ("long", 5.0, "short", 3.0)
    assert math.isclose(btc.notional, 0.004 * 114800.2)
    assert math.isclose(btc.liquidation_distance, (114800.2 - 93337.3) / 114800.2)
    assert math.isclose(eth.liquidation_distance, (4826.01 - 3680.97) / 3680.97)
    assert math.isclose(btc.margin_ratio, btc.notional * 0.004 / (91.83896 - 0.4531978))
    assert math.isclose(snap.equity, 990.0 - 1.33540255)
    assert snap.daily_realized_pnl == -0.36195
    assert snap.max_open_trades == 5
    assert snap.state == "running" and snap.trading_mode == "futures"
    assert snap.last_process_timestamp == 1795604406


def test_exchange_errors_counted_once_and_only_errors(recorded: dict[str, Any]) -> None:
    logs = {
        "logs": [
            ["t", 1000.0, "freqtrade.exchange.common", "WARNING", "retrying still for 3 times"],
            ["t", 2000.0, "freqtrade.freqtradebot", "ERROR", "TemporaryError: binance 503"],
            ["t", 3000.0, "freqtrade.exchange.exchange", "INFO", "Using CCXT"],
            ["t", 4000.0, "freqtrade.worker", "WARNING", "Strategy slow"],
        ]
    }
    pats = ("TemporaryError",)
    assert count_exchange_errors(logs, 0.0, pats) == (2, 4000.0)
    assert count_exchange_errors(logs, 1500.0, pats) == (1, 4000.0)
    assert count_exchange_errors(logs, 4000.0, pats) == (0, 4000.0)
    # The real recording from the dry-run bot holds no warnings.
    assert count_exchange_errors(recorded["logs"], 0.0, pats)[0] == 0


def test_collector_exposes_recorded_positions(tmp_path: Path) -> None:
    with FakeFreqtrade() as fake:
        cfg = cfg_for(bot_entry("a", fake.url, tmp_path))
        st = BotState(bot=cfg.bots[0], started_at=NOW - 60)
        assert poll_once(st, make_client(cfg.bots[0], 2), cfg, PeakStore(None), NOW, Clock(0))
    reg = CollectorRegistry()
    reg.register(RiskCollector(cfg, [st], clock=Clock(NOW + 5)))
    s = scrape(reg)
    assert val(s, "risk_bot_up", bot="a") == 1
    assert val(s, "risk_bot_staleness_seconds", bot="a") == 5
    assert val(s, "risk_bot_open_positions", bot="a") == 4
    assert val(s, "risk_position_leverage", bot="a", pair="BTC/USDT:USDT", side="long") == 5
    eth = {"bot": "a", "pair": "ETH/USDT:USDT", "side": "short"}
    assert val(s, "risk_position_liquidation_price_usdt", **eth) == 4826.01
    assert val(s, "risk_position_liquidation_distance_ratio", **eth) > 0.3
    assert val(s, "risk_bot_drawdown_ratio", bot="a") == 0.0  # first poll is the peak
    assert val(s, "risk_bot_max_open_trades", bot="a") == 5
    assert val(s, "risk_bot_open_positions_ratio", bot="a") == 0.8
    # 91.8 USDT margin on BTC against an 80 USDT per-trade limit.
    btc = {"bot": "a", "pair": "BTC/USDT:USDT", "side": "long"}
    assert val(s, "risk_position_stake_limit_ratio", **btc) > 1
    assert val(s, "risk_bot_polls_total", bot="a") == 1
    assert (
        val(
            s,
            "risk_bot_info",
            bot="a",
            strategy="MonitorProbe",
            stake_currency="USDT",
            trading_mode="futures",
            margin_mode="isolated",
            dry_run="true",
            version="2026.9",
        )
        == 1
    )


def test_one_failing_bot_does_not_hide_the_others(tmp_path: Path) -> None:
    with FakeFreqtrade() as good, FakeFreqtrade() as bad:
        cfg = cfg_for(bot_entry("good", good.url, tmp_path), bot_entry("bad", bad.url, tmp_path))
        states = [BotState(bot=b, started_at=NOW) for b in cfg.bots]
        peaks = PeakStore(None)
        apis = [make_client(b, 2) for b in cfg.bots]
        for st, api in zip(states, apis, strict=True):
            assert poll_once(st, api, cfg, peaks, NOW, Clock(0))
        bad.failing = 500
        later = NOW + 120
        assert poll_once(states[0], apis[0], cfg, peaks, later, Clock(0))
        assert not poll_once(states[1], apis[1], cfg, peaks, later, Clock(0))
        bad.stop()  # connection refused from now on
        assert not poll_once(states[1], apis[1], cfg, peaks, later + 15, Clock(0))
    reg = CollectorRegistry()
    reg.register(RiskCollector(cfg, states, clock=Clock(later + 15)))
    s = scrape(reg)
    assert val(s, "risk_bot_up", bot="good") == 1
    assert val(s, "risk_bot_up", bot="bad") == 0
    assert val(s, "risk_bot_poll_errors_total", bot="bad") == 2
    assert val(s, "risk_bot_staleness_seconds", bot="good") == 15
    assert val(s, "risk_bot_staleness_seconds", bot="bad") == 135
    # The failing bot keeps its last good figures, positions included.
    assert val(s, "risk_bot_open_positions", bot="bad") == 4
    assert val(s, "risk_position_leverage", bot="bad", pair="ETH/USDT:USDT", side="short") == 3
    assert val(s, "risk_bot_open_positions", bot="good") == 4


def test_wrong_password_is_a_failed_poll(tmp_path: Path) -> None:
    with FakeFreqtrade() as fake:
        cfg = cfg_for(bot_entry("a", fake.url, tmp_path, password="wrong"))
        st = BotState(bot=cfg.bots[0], started_at=NOW)
        assert not poll_once(st, make_client(cfg.bots[0], 2), cfg, PeakStore(None), NOW, Clock(0))
    assert "Unauthorized" in st.last_error
    reg = CollectorRegistry()
    reg.register(RiskCollector(cfg, [st], clock=Clock(NOW + 30)))
    s = scrape(reg)
    assert val(s, "risk_bot_up", bot="a") == 0
    assert val(s, "risk_bot_staleness_seconds", bot="a") == 30  # never polled: since start
    assert ("risk_bot_open_positions", frozenset({("bot", "a")})) not in s


def test_drawdown_peak_funding_and_exchange_errors(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with FakeFreqtrade() as fake:
        cfg = cfg_for(bot_entry("a", fake.url, tmp_path))
        api = make_client(cfg.bots[0], 2)
        st = BotState(bot=cfg.bots[0], started_at=NOW)
        profit = fake.data["profit"]
        assert poll_once(st, api, cfg, PeakStore(state_file), NOW, Clock(0))
        # Equity up to 1100, then down to 880: 20 % drawdown.
        fake.set("profit", {**profit, "profit_all_coin": 110.0})
        assert poll_once(st, api, cfg, PeakStore(state_file), NOW + 15, Clock(0))
        fake.set("profit", {**profit, "profit_all_coin": -110.0})
        fake.update_position("BTC/USDT:USDT", funding_fees=-2.5, profit_abs=10.0)
        fake.add_log(
            "WARNING",
            "freqtrade.exchange.common",
            "_async_get_candle_history() returned "
            "exception: TemporaryError. Retrying still for 3 times.",
        )
        fake.add_log("ERROR", "freqtrade.freqtradebot", "Unable to create order: ExchangeError")
        assert poll_once(st, api, cfg, PeakStore(state_file), NOW + 30, Clock(0))
        assert poll_once(st, api, cfg, PeakStore(state_file), NOW + 45, Clock(0))
        # A restarted exporter remembers the peak.
        st2 = BotState(bot=cfg.bots[0], started_at=NOW + 60)
        assert poll_once(st2, api, cfg, PeakStore(state_file), NOW + 60, Clock(0))
    reg = CollectorRegistry()
    reg.register(RiskCollector(cfg, [st], clock=Clock(NOW + 45)))
    s = scrape(reg)
    assert val(s, "risk_bot_peak_equity_usdt", bot="a") == 1100.0
    assert math.isclose(val(s, "risk_bot_drawdown_ratio", bot="a"), 0.2)
    btc = {"bot": "a", "pair": "BTC/USDT:USDT", "side": "long"}
    assert val(s, "risk_position_funding_fees_paid_usdt", **btc) == 2.5
    # The closed SOL trade paid no funding in the recording: bot total = open positions.
    assert val(s, "risk_bot_funding_fees_paid_usdt", bot="a") == 2.5
    assert val(s, "risk_bot_exchange_errors_total", bot="a") == 2  # counted once over 2 polls
    assert st2.peak_equity == 1100.0
    assert math.isclose(st2.drawdown, 0.2)


def test_backup_textfile_is_re_exposed(tmp_path: Path) -> None:
    prom = tmp_path / "backup.prom"
    prom.write_text(
        "# HELP backup_last_success_timestamp_seconds Last successful backup.\n"
        "# TYPE backup_last_success_timestamp_seconds gauge\n"
        "backup_last_success_timestamp_seconds 1795600000\n"
        "backup_last_exit_code 0\n"
    )
    cfg = cfg_for(bot_entry("a", "http://127.0.0.1:9", tmp_path), backup_status_file=str(prom))
    reg = CollectorRegistry()
    reg.register(RiskCollector(cfg, [BotState(bot=cfg.bots[0], started_at=NOW)], clock=Clock(NOW)))
    s = scrape(reg)
    assert val(s, "backup_last_success_timestamp_seconds") == 1795600000
    assert val(s, "backup_last_exit_code") == 0
    assert val(s, "risk_backup_status_file_readable") == 1
    prom.unlink()
    assert val(scrape(reg), "risk_backup_status_file_readable") == 0


def test_governor_status_files_become_metrics(tmp_path: Path) -> None:
    """Each bot's governor status (written by the strategies' risk manager) is exposed; a
    missing or malformed file shows as status_up 0, never as a stale halt."""
    status = {
        "time": NOW - 30, "equity": 9400.0, "high_water": 10000.0, "drawdown": 0.06,
        "max_drawdown": 0.05, "daily_loss": 0.0, "daily_loss_limit": 0.03,
        "risk_scale": 0.0, "risk_per_trade": 0.005, "halted": True,
        "reason": "drawdown 6.00% reached the limit 5.00%", "rearm_at": None,
    }  # fmt: skip
    files = {name: tmp_path / f"{name}.json" for name in ("a", "b", "c")}
    files["a"].write_text(json.dumps(status))
    files["b"].write_text('{"time": 1, "halted": "maybe"}')
    entries = [
        {**bot_entry(n, "http://127.0.0.1:9", tmp_path), "governor_status_file": str(f)}
        for n, f in files.items()
    ]
    cfg = cfg_for(*entries)
    reg = CollectorRegistry()
    states = [BotState(bot=b, started_at=NOW) for b in cfg.bots]
    reg.register(RiskCollector(cfg, states, clock=Clock(NOW)))
    s = scrape(reg)
    assert val(s, "risk_bot_governor_halted", bot="a") == 1
    assert val(s, "risk_bot_governor_drawdown_ratio", bot="a") == pytest.approx(0.06)
    assert val(s, "risk_bot_governor_max_drawdown_ratio", bot="a") == 0.05
    assert val(s, "risk_bot_governor_risk_scale_ratio", bot="a") == 0.0
    assert val(s, "risk_bot_governor_status_age_seconds", bot="a") == pytest.approx(30)
    assert [val(s, "risk_bot_governor_status_up", bot=n) for n in "abc"] == [1, 0, 0]
    assert ("risk_bot_governor_halted", frozenset({("bot", "b")})) not in s


def test_leverage_tiers_from_freqtrades_bundled_file(tmp_path: Path) -> None:
    import freqtrade.exchange

    bundled = Path(freqtrade.exchange.__file__).with_name("binance_leverage_tiers.json")
    cfg = cfg_for(bot_entry("a", "http://x", tmp_path), leverage_tiers_file=str(bundled))
    assert len(cfg.leverage_tiers) > 100
    btc_tiers = cfg.leverage_tiers.get("BTC/USDT:USDT")
    assert btc_tiers
    btc_tier1_rate = btc_tiers[0].mmr
    assert cfg.maintenance_margin("BTC/USDT:USDT", 1000.0) == 1000.0 * btc_tier1_rate
    # A large position pays a higher bracket rate (minus cum) than tier 1 alone would give.
    big = 5_000_000.0
    assert cfg.maintenance_margin("BTC/USDT:USDT", big) > big * btc_tier1_rate
    # Pairs missing from the file fall back to the configured rate.
    assert cfg.maintenance_margin("NOPE/USDT:USDT", 1000.0) == 1000.0 * 0.005
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError):
        cfg_for(bot_entry("a", "http://x", tmp_path), leverage_tiers_file=str(broken))


def _tiers_file(path: Path, rate: float) -> Path:
    tier = {
        "minNotional": 0,
        "maxNotional": 1e9,
        "maxLeverage": 125,
        "maintenanceMarginRate": rate,
        "info": {},
    }
    path.write_text(json.dumps({"BTC/USDT:USDT": [tier]}))
    return path


def test_leverage_tiers_follow_a_release_switch(tmp_path: Path) -> None:
    """The configured path runs through the release link: after a switch (or a rollback)
    the brackets are those of the release the link points at, with no restart."""
    releases = tmp_path / "releases"
    releases.mkdir()
    old = _tiers_file(releases / "old.json", 0.004)
    new = _tiers_file(releases / "new.json", 0.01)
    current = tmp_path / "current.json"
    current.symlink_to(old)
    cfg = cfg_for(bot_entry("a", "http://x", tmp_path), leverage_tiers_file=str(current))
    assert cfg.maintenance_margin("BTC/USDT:USDT", 1000.0) == pytest.approx(4.0)
    switch = tmp_path / "switch.json"
    switch.symlink_to(new)
    switch.replace(current)  # atomic, as the freqtrade role switches `current`
    assert cfg.maintenance_margin("BTC/USDT:USDT", 1000.0) == pytest.approx(10.0)
    # A broken file later keeps the last brackets read (and logs), never crashes the exporter.
    current.unlink()
    current.write_text("{not json")
    assert cfg.maintenance_margin("BTC/USDT:USDT", 1000.0) == pytest.approx(10.0)


def test_margin_ratio_reaches_one_at_freqtrades_unbuffered_liquidation_price(
    recorded: dict[str, Any], tmp_path: Path
) -> None:
    """Cross-check of the margin-ratio definition with freqtrade's own liquidation maths:
    freqtrade moves the exchange's liquidation price toward the entry by
    `liquidation_buffer` (default 0.05). Undo that, put the mark there, and the margin
    ratio must be 1 (Binance liquidates at 100 %)."""
    cfg = cfg_for(
        bot_entry("a", "http://x", tmp_path), maintenance_margin_rates={"BTC/USDT:USDT": 0.004}
    )
    trade = next(t for t in recorded["status"] if t["pair"] == "BTC/USDT:USDT")
    entry, buffered = trade["open_rate"], trade["liquidation_price"]
    exchange_liq = (buffered - 0.05 * entry) / 0.95
    at_liq = {
        **trade,
        "current_rate": exchange_liq,
        "profit_abs": trade["amount"] * (exchange_liq - entry),
    }
    pos = build_snapshot(
        now=NOW,
        cfg=cfg,
        bot=cfg.bots[0],
        show_config=recorded["show_config"],
        status=[at_liq],
        balance=recorded["balance"],
        profit=recorded["profit"],
        daily=None,
        health=None,
    ).positions[0]
    assert pos.margin_ratio == pytest.approx(1.0, abs=0.01)
    # ...and the exported liquidation distance is measured to freqtrade's buffered price,
    # which is reached first: conservative by design.
    assert pos.liquidation_distance < 0
