"""Testinfra checks of the risk monitor on a host converged by site.yml, where the real
freqtrade bots run (tests/molecule/site/tests/test_monitoring.py in the whole-site scenario).

The bots and their API ports are read from the rehearsal inventory, so a bot added there is
checked here too.
"""

import base64
import json
import time
from pathlib import Path

import pytest
import yaml
from conftest import monitor_get, wait_for

REPO = Path(__file__).resolve().parents[4]
INVENTORY = REPO / "inventories/rehearsal/group_vars/all/main.yml"
BOTS = {
    b["name"]: int(b["api_port"]) for b in yaml.safe_load(INVENTORY.read_text())["freqtrade_bots"]
}
PORTS = {"prometheus": 9090, "alertmanager": 9093, "node-exporter": 9100, "risk-exporter": 9110}
# A bot that was just (re)started answers after its start-up (markets, candles); the exporter
# polls every 15 s.
DEADLINE = 180


def metrics(host):
    # curl is on the site host (role common).
    return monitor_get(host, "http://127.0.0.1:9110/metrics")


@pytest.mark.parametrize(
    "service",
    ["risk-exporter", "prometheus", "prometheus-alertmanager", "prometheus-node-exporter"],
)
def test_monitoring_services_active(host, service):
    assert host.service(service).is_running
    assert host.service(service).is_enabled


@pytest.mark.parametrize("port", PORTS.values())
def test_monitoring_asks_for_the_web_login(host, port):
    url = f"http://127.0.0.1:{port}/metrics"
    code = host.check_output(f"curl -sS -o /dev/null -w '%{{http_code}}' --max-time 10 {url}")
    assert code == "401", f"{port} answers without the login: HTTP {code}"
    assert "# TYPE" in monitor_get(host, url)


@pytest.mark.parametrize("port", PORTS.values())
def test_monitoring_on_loopback_only(host, port):
    listeners = host.check_output(f"ss -Htln 'sport = :{port}'").splitlines()
    assert listeners, f"nothing listens on {port}"
    for line in listeners:
        assert line.split()[3] == f"127.0.0.1:{port}", line


def test_exporter_config_lists_every_bot(host):
    cfg = yaml.safe_load(host.file("/etc/risk-exporter/config.yml").content_string)
    assert {b["name"]: b["url"] for b in cfg["bots"]} == {
        name: f"http://127.0.0.1:{port}" for name, port in BOTS.items()
    }
    # freqtrade is installed: its leverage brackets are used.
    assert cfg["leverage_tiers_file"].startswith("/opt/freqtrade/current/"), cfg
    assert host.file(cfg["leverage_tiers_file"]).exists


@pytest.mark.parametrize("bot", BOTS)
def test_exporter_reports_the_real_bot_up(host, bot):
    deadline = time.monotonic() + DEADLINE
    text = ""
    while time.monotonic() < deadline:
        text = metrics(host)
        if f'risk_bot_up{{bot="{bot}"}} 1.0' in text:
            break
        time.sleep(5)
    assert f'risk_bot_up{{bot="{bot}"}} 1.0' in text, [
        line for line in text.splitlines() if f'bot="{bot}"' in line and "risk_bot_up" in line
    ]
    # The figures come from the bot itself: its strategy, futures and dry-run mode.
    info = [line for line in text.splitlines() if line.startswith(f'risk_bot_info{{bot="{bot}"')]
    assert info and 'trading_mode="futures"' in info[0], info


def _governor_metrics(host, bot: str) -> dict[str, float]:
    """risk_bot_governor_* of one bot, once the exporter shows the bot's status."""
    deadline = time.monotonic() + DEADLINE
    found: dict[str, float] = {}
    while time.monotonic() < deadline:
        found = {}
        for line in metrics(host).splitlines():
            if line.startswith("risk_bot_governor_") and f'{{bot="{bot}"}}' in line:
                name, value = line.split("{", 1)[0], float(line.rsplit(" ", 1)[1])
                found[name] = value
        if found.get("risk_bot_governor_status_up") == 1.0:
            return found
        time.sleep(5)
    raise AssertionError(f"{bot}: no governor status in the exporter: {found}")


@pytest.mark.parametrize("bot", sorted(BOTS))
def test_exporter_shows_each_real_bots_risk_governor(host, bot):
    """The strategy in the real bot publishes its governor; the exporter shows it, with the
    inventory's limits; after a restart the bot derives the same high-water mark from its
    trade database."""
    before = _governor_metrics(host, bot)
    assert before["risk_bot_governor_max_drawdown_ratio"] == 0.15
    assert before["risk_bot_governor_daily_loss_limit_ratio"] == 0.03
    assert before["risk_bot_governor_halted"] == 0.0
    assert 0.0 < before["risk_bot_governor_risk_scale_ratio"] <= 1.0
    status = f"/run/freqtrade-governor/{bot}/governor.json"
    assert host.file(status).mode == 0o644
    hwm = json.loads(host.file(status).content_string)["high_water"]
    host.check_output(f"systemctl restart freqtrade@{bot}")
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline and not host.file(status).exists:
        time.sleep(3)
    assert host.file(status).exists, f"{bot} did not publish its governor after a restart"
    after = json.loads(host.file(status).content_string)
    assert after["high_water"] >= hwm - 1e-6  # a restart never lowers the mark
    assert after["halted"] is False


def test_prometheus_scrapes_the_exporter(host):
    deadline = time.monotonic() + 90
    health = {}
    while time.monotonic() < deadline:
        out = monitor_get(host, "http://127.0.0.1:9090/api/v1/targets")
        targets = json.loads(out)["data"]["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in targets}
        if health.get("risk-exporter") == "up" and health.get("node") == "up":
            break
        time.sleep(5)
    assert health.get("risk-exporter") == "up", health
    assert health.get("node") == "up", health


# Signs and sends one market order on the rehearsal's exchange account as root on the box:
# the key is read from the exchange's own root-only file, never from a command line.
ORDER_ON_THE_ACCOUNT = r"""
import hashlib, hmac, json, sys, time, urllib.parse, urllib.request
key, entry = next(iter(json.load(open("/etc/replay-exchange/keys.json")).items()))
params = {"symbol": "BTCUSDT", "side": sys.argv[1], "type": "MARKET", "quantity": "0.002",
          "reduceOnly": sys.argv[2], "timestamp": int(time.time() * 1000)}
query = urllib.parse.urlencode(params)
sig = hmac.new(entry["secret"].encode(), query.encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request(f"http://127.0.0.1:8090/fapi/v1/order?{query}&signature={sig}",
                             method="POST", headers={"X-MBX-APIKEY": key})
print(json.load(urllib.request.urlopen(req, timeout=10))["status"])
"""


def _metric(text: str, line_start: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def _order(host, side: str, reduce_only: str) -> None:
    script = base64.b64encode(ORDER_ON_THE_ACCOUNT.encode()).decode()
    with host.sudo():
        out = host.check_output(f"echo {script} | base64 -d | python3 - {side} {reduce_only}")
    assert out.strip() == "FILLED", out


def test_reconciliation_reports_a_position_no_bot_knows(host):
    """A position on the account that no bot holds, as a failed entry leaves one
    (docs/reliability.md, "Live orders under faults"): the exporter reports it within two
    polls, Prometheus raises the alert, and closing the position clears both. The
    rehearsal's bots are dry-run, so any position on the account is one no bot knows."""

    def reconciled() -> bool:
        text = metrics(host)
        return (
            _metric(text, "risk_exchange_reconcile_up") == 1.0
            and _metric(text, "risk_exchange_mismatched_symbols") == 0.0
        )

    wait_for("a clean reconciliation", reconciled, DEADLINE)
    _order(host, "BUY", "false")
    try:
        mismatch = 'risk_exchange_position_mismatch{symbol="BTCUSDT"}'
        wait_for("the exporter to report it", lambda: _metric(metrics(host), mismatch) == 0.002, 60)

        def alert() -> bool:
            out = monitor_get(host, "http://127.0.0.1:9090/api/v1/alerts")
            return any(
                a["labels"].get("alertname") == "ExchangePositionMismatch"
                and a["labels"].get("symbol") == "BTCUSDT"
                for a in json.loads(out)["data"]["alerts"]
            )

        wait_for("Prometheus to raise ExchangePositionMismatch", alert, 60)
    finally:
        _order(host, "SELL", "true")
    wait_for("the reconciliation to clear", reconciled, 60)
