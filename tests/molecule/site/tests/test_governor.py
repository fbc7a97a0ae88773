"""The risk governor in a real bot of the converged site: a drawdown halt derived from the bot's
own trade database reaches the operator (the bot's Telegram, the exporter, Prometheus's alert)
and survives a restart; the database as it was ends it again.

The bot's database is copied aside, one closed trade losing 16 % of the dry-run wallet is added
through freqtrade's own persistence layer (the limit is 15 %), and the copy is put back at the
end, so the other tests see the bot as it was.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import monitor_get, wait_for

REPO = Path(__file__).resolve().parents[4]
SITE_VARS = yaml.safe_load((REPO / "inventories/rehearsal/group_vars/all/main.yml").read_text())
BOT = "airisk"
DB = f"/var/lib/freqtrade/bots/{BOT}/tradesv3.sqlite"
SAVED = f"/root/{BOT}-tradesv3.before-governor-test.sqlite"
STATUS = f"/run/freqtrade-governor/{BOT}/governor.json"
PYTHON = "/opt/freqtrade/current/bin/python"
WALLET = 10_000.0  # freqtrade_dry_run_wallet's default
LOSS = 1_600.0  # 16 %: beyond the 15 % default limit

SEED = """
import sys
from datetime import UTC, datetime, timedelta
from freqtrade.persistence import Trade, init_db

init_db(sys.argv[1])
now = datetime.now(UTC)
loss = float(sys.argv[2])
Trade.session.add(Trade(
    pair="BTC/USDT:USDT", base_currency="BTC", stake_currency="USDT", exchange="binance",
    trading_mode="futures", is_short=False, leverage=5.0, amount=0.1, amount_requested=0.1,
    open_rate=100000.0, close_rate=100000.0 - loss * 10, stake_amount=2000.0, fee_open=0.0005,
    fee_close=0.0005, open_date=now - timedelta(hours=3), close_date=now - timedelta(hours=2),
    is_open=False, exit_reason="stop_loss", strategy="FuturesAIRiskStrategy", timeframe=240,
    close_profit=-loss / 2000.0, close_profit_abs=-loss, realized_profit=-loss,
))
Trade.commit()
"""


def _wait(what: str, probe: Callable[[], Any], seconds: float = 240) -> Any:
    return wait_for(what, probe, seconds)


def _status(host: Any) -> dict[str, Any] | None:
    file = host.file(STATUS)
    if not file.exists:
        return None
    try:
        return json.loads(file.content_string)
    except ValueError:  # caught between the write and the rename? the rename is atomic
        return None


def _exporter(host: Any, name: str) -> float | None:
    text = monitor_get(host, "http://127.0.0.1:9110/metrics")
    for line in text.splitlines():
        if line.startswith(f'{name}{{bot="{BOT}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return None


def _alert_state(host: Any) -> str | None:
    out = monitor_get(host, "http://127.0.0.1:9090/api/v1/alerts")
    for alert in json.loads(out)["data"]["alerts"]:
        labels = alert["labels"]
        if labels.get("alertname") == "RiskGovernorHalted" and labels.get("bot") == BOT:
            return str(alert["state"])
    return None


def _telegram_texts(host: Any) -> list[str]:
    out = host.check_output("curl -fsS --max-time 10 https://api.telegram.org/_messages")
    return [str(entry["message"].get("text", "")) for entry in json.loads(out)]


def _restart(host: Any, started_after: float) -> dict[str, Any]:
    with host.sudo():
        host.check_output(f"systemctl restart freqtrade@{BOT}")
    return _wait(
        "the governor's status after the restart",
        lambda: (s := _status(host)) is not None and s["time"] > started_after and s,
    )


@pytest.fixture
def seeded_loss(host: Any):
    assert any(b["name"] == BOT for b in SITE_VARS["freqtrade_bots"])
    with host.sudo():
        host.check_output(f"systemctl stop freqtrade@{BOT}")
        host.check_output(f"cp -a {DB} {SAVED}")
        seed = f"{PYTHON} -c {shlex.quote(SEED)} sqlite:///{DB} {LOSS}"
        host.check_output(f"runuser -u freqtrade -- {seed}")
    try:
        yield
    finally:
        with host.sudo():
            host.check_output(f"systemctl stop freqtrade@{BOT}")
            host.check_output(f"cp -a {SAVED} {DB} && rm -f {SAVED}")
            host.check_output(f"systemctl start freqtrade@{BOT}")
        # the bot as it was: no halt
        _wait("the halt to end", lambda: (s := _status(host)) is not None and not s["halted"])


def test_drawdown_halt_from_the_database_reaches_the_operator_and_survives_a_restart(
    host: Any, seeded_loss: None
) -> None:
    t0 = float(host.check_output("date +%s"))
    sent_before = sum("Risk governor" in t for t in _telegram_texts(host))
    status = _restart(host, t0)
    assert status["halted"] is True, status
    assert status["reason"].startswith("drawdown"), status
    assert status["max_drawdown"] == 0.15
    assert status["drawdown"] >= LOSS / WALLET * 0.9  # of the tradable share of the wallet
    assert status["risk_scale"] == 0.0

    _wait("the exporter's halt", lambda: _exporter(host, "risk_bot_governor_halted") == 1.0)
    _wait(
        "RiskGovernorHalted in Prometheus",
        lambda: _alert_state(host) in ("pending", "firing"),
        seconds=180,
    )
    _wait(
        "the halt among the bot's Telegram messages",
        lambda: (
            sum("Risk governor: new entries halted" in t for t in _telegram_texts(host))
            > sent_before
        ),
    )

    t1 = float(host.check_output("date +%s"))
    again = _restart(host, t1)  # the same database, the same halt
    assert again["halted"] is True, again
    assert again["high_water"] == pytest.approx(status["high_water"], rel=1e-6)
