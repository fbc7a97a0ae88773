"""`ft-status` on the converged server: the real bots through freqtrade-client, the
governor's figures through Prometheus, the alerts through Alertmanager."""

import json

import pytest
from conftest import forced_position, monitor_get, wait_for

BOT, PORT, PAIR = "rossc", 8101, "SOL/USDT:USDT"
STRATEGIES = {"rossc": "RossCameronFuturesStrategy", "airisk": "FuturesAIRiskStrategy"}


@pytest.fixture(scope="module")
def open_position(host):
    with forced_position(host, PORT, BOT, PAIR, "long") as trade:
        yield trade


def ft_status(host, *args):
    with host.sudo():
        return host.run("ft-status " + " ".join(args))


def test_status_shows_every_bot_with_its_position_drawdown_and_alerts(host, open_position):
    run = ft_status(host, "--json")
    assert run.rc == 0, run.stdout + run.stderr
    doc = json.loads(run.stdout)
    bots = {b["name"]: b for b in doc["bots"]}
    assert set(bots) == set(STRATEGIES)
    for name, bot in bots.items():
        assert bot["error"] == "", name
        assert (bot["unit"], bot["mode"], bot["state"]) == ("active", "dry_run", "running")
        assert bot["strategy"] == STRATEGIES[name]
        # From Prometheus: the governor's limit is the design's 15 %.
        assert bot["drawdown_limit"] == pytest.approx(0.15), name
        assert 0 <= bot["drawdown"] < 0.15 or bot["halted"], name
        assert isinstance(bot["today_pnl"], float), name
    shown = next(p for p in bots[BOT]["positions"] if p["pair"] == PAIR)
    assert shown["side"] == "long"
    assert shown["leverage"] == open_position["leverage"]
    # A long is liquidated below the price; the distance is a fraction of it.
    liq, rate = open_position["liquidation_price"], open_position["current_rate"]
    assert shown["liquidation_distance"] == pytest.approx((rate - liq) / rate, rel=0.05)
    # The alerts are Alertmanager's own list of active ones.
    active = json.loads(
        monitor_get(
            host, "http://127.0.0.1:9093/api/v2/alerts?active=true&silenced=false&inhibited=false"
        )
    )
    assert doc["alerts"] is not None
    names = sorted(a["labels"]["alertname"] for a in active)
    assert sorted(a["name"] for a in doc["alerts"]) == names


def test_status_text_is_what_the_operator_reads(host, open_position):
    text = ft_status(host).stdout
    for name, strategy in STRATEGIES.items():
        assert f"{name}: unit active, dry_run, {strategy}, freqtrade running" in text
    assert "of limit 15.0 %" in text
    assert f"long  {PAIR}" in text
    assert "alerts: " in text


def test_status_fails_when_a_bot_is_down(host):
    with host.sudo():
        host.check_output(f"systemctl stop freqtrade@{BOT}")
        try:
            run = host.run("ft-status")
        finally:
            host.check_output(f"systemctl start freqtrade@{BOT}")
    assert run.rc == 1
    assert f"{BOT}: unit inactive" in run.stdout
    assert "API: show_config: no response" in run.stdout
    wait_for(f"{BOT} back", lambda: host.run(f"curl -fsS 127.0.0.1:{PORT}/api/v1/ping").rc == 0)
