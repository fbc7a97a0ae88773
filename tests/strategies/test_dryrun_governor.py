"""The risk governor in a real `freqtrade trade` (dry-run) against the local exchange, with a
real SQLite trade database: the halt is derived from the database, survives a restart, and
ends only when the operator re-arms it (``futures_risk.rearm_at``).

The database is seeded, through freqtrade's own persistence layer, with one closed trade that
lost 6 % of a 10 000 USDT account; the bot's limit is 5 %. Three bot starts, about a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import box
import ftconfig
import pytest
import requests
import strat_helpers  # noqa: F401  (puts strategies/ and tools/strategy on sys.path)
from replay_exchange.testing import ccxt_config, running_exchange

AUTH = ("governor", "governor-test")
WALLET = 10_000.0
LOSS = 600.0  # 6 % of the wallet, over the 5 % limit below

SEED = """
import sys
from datetime import UTC, datetime, timedelta
from freqtrade.persistence import Trade, init_db

init_db(sys.argv[1])
now = datetime.now(UTC)
trade = Trade(
    pair="BTC/USDT:USDT", base_currency="BTC", stake_currency="USDT", exchange="binance",
    trading_mode="futures", is_short=False, leverage=10.0, amount=0.1, amount_requested=0.1,
    open_rate=100_000.0, close_rate=94_000.0, stake_amount=1_000.0, fee_open=0.0005,
    fee_close=0.0005, open_date=now - timedelta(days=3), close_date=now - timedelta(days=2),
    is_open=False, exit_reason="stop_loss", strategy="FuturesAIRiskStrategy", timeframe=240,
    close_profit=-0.6, close_profit_abs=-float(sys.argv[2]), realized_profit=-float(sys.argv[2]),
)
Trade.session.add(trade)
Trade.commit()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(base: str, port: int, user: Path, rearm_at: str | None) -> dict[str, Any]:
    cfg = ftconfig.backtest_config(base, user / "data", wallet=WALLET, max_open_trades=3)
    cfg.update(
        {
            "strategy": "FuturesAIRiskStrategy",
            "strategy_path": str(user / "strategies"),
            "user_data_dir": str(user),
            "datadir": str(user / "data"),
            "tradable_balance_ratio": 1.0,
            "force_entry_enable": True,
            "internals": {"process_throttle_secs": 1},
            "api_server": {
                "enabled": True,
                "listen_ip_address": "127.0.0.1",
                "listen_port": port,
                "username": AUTH[0],
                "password": AUTH[1],
                "jwt_secret_key": "governor-test-jwt-secret-0123456789abcdef",
                "ws_token": "governor-test-ws-token",
            },
        }
    )
    cfg["exchange"].pop("_ft_has_params")  # live defaults: 1h mark and funding from the API
    cfg["exchange"]["ccxt_config"] = cfg["exchange"]["ccxt_async_config"] = ccxt_config(base)
    cfg["futures_risk"] = {"risk_per_trade": 0.005, "max_drawdown": 0.05, "daily_loss_limit": 0.1}
    cfg["futures_risk"]["status_file"] = str(user / "governor.json")
    if rearm_at:
        cfg["futures_risk"]["rearm_at"] = rearm_at
    return cfg


def _wait(pred: Callable[[], Any], timeout: float, what: str) -> Any:
    """tests/box.py's wait, every 0.5 s; a refused or reset request counts as not yet."""
    return box.wait_for(what, pred, timeout, step=0.5, ignore=(requests.RequestException,))


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Callable[[str | None], tuple[str, Path]]]:
    """start(rearm_at) -> (api url, log file); stops the previous bot first."""
    user = tmp_path / "ft"
    shutil.copytree(ftconfig.ROOT / "strategies", user / "strategies")
    db = user / "tradesv3.sqlite"
    subprocess.run(
        [sys.executable, "-c", SEED, f"sqlite:///{db}", str(LOSS)], check=True, timeout=60
    )
    procs: list[subprocess.Popen[bytes]] = []
    with running_exchange(ftconfig.REPO_DATA, tmp_path / "exchange") as base:

        def stop() -> None:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
                    try:
                        p.wait(30)
                    except subprocess.TimeoutExpired:
                        p.kill()

        def start(rearm_at: str | None) -> tuple[str, Path]:
            stop()
            port = _free_port()
            cfg = user / "config.json"
            cfg.write_text(json.dumps(_config(base, port, user, rearm_at)))
            log_path = user / f"freqtrade-{len(procs)}.log"
            with log_path.open("wb") as log:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "freqtrade", "trade", "-c", str(cfg),
                         "--db-url", f"sqlite:///{db}"],
                        stdout=log, stderr=subprocess.STDOUT, cwd=user,
                        env={**os.environ, "PYTHONUNBUFFERED": "1"},
                    )
                )  # fmt: skip
            api = f"http://127.0.0.1:{port}/api/v1"
            _wait(lambda: requests.get(f"{api}/ping", timeout=2).ok, 120, "freqtrade API")
            return api, log_path

        yield start
        stop()


def _force_long(api: str, pair: str) -> list[dict[str, Any]]:
    requests.post(f"{api}/forceenter", json={"pair": pair, "side": "long"}, auth=AUTH, timeout=60)
    return requests.get(f"{api}/status", auth=AUTH, timeout=10).json()


def _status(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _log_shows(path: Path, text: str) -> bool:
    return text in path.read_text(errors="replace")


def test_halt_comes_from_the_database_survives_a_restart_and_ends_only_when_rearmed(bot):
    api, log = bot(None)
    assert _force_long(api, "ETH/USDT:USDT") == []
    _wait(lambda: _log_shows(log, "refused by the risk governor"), 30, "the refusal in the log")
    assert _log_shows(log, "new entries halted - drawdown")
    # the halt goes to the bot's notifications (Telegram where enabled)
    _wait(lambda: _log_shows(log, "strategy_msg: Risk governor: new entries halted"), 30, "rpc")

    # the status the risk monitor reads
    status = _wait(lambda: _status(log.parent / "governor.json"), 30, "the status file")
    assert status["halted"] is True and status["risk_scale"] == 0.0
    assert status["max_drawdown"] == 0.05
    assert abs(status["drawdown"] - LOSS / WALLET) < 1e-6

    api, log = bot(None)  # a restart derives the same halt from the same database
    assert _force_long(api, "ETH/USDT:USDT") == []
    _wait(lambda: _log_shows(log, "refused by the risk governor"), 30, "the refusal in the log")

    (log.parent / "governor.json").unlink()
    rearm = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    api, log = bot(rearm)  # the operator re-arms: measured from now on, entries allowed
    status = _force_long(api, "ETH/USDT:USDT")
    assert len(status) == 1, log.read_text()[-3000:]
    trade = status[0]
    assert 1.0 <= trade["leverage"] <= 10.0
    # sized from the risk budget (0.5 % of 9 400 USDT at the stop), not from the wallet
    loss_at_stop = trade["stake_amount"] * 0.30
    assert loss_at_stop <= 0.005 * (WALLET - LOSS) * 1.001

    def governor_keys() -> set[str]:
        answer = requests.get(
            f"{api}/trades/{trade['trade_id']}/custom-data", auth=AUTH, timeout=10
        )
        return {e["key"] for e in answer.json()[0]["custom_data"]} if answer.ok else set()

    status = _wait(lambda: _status(log.parent / "governor.json"), 30, "the status file")
    assert status["halted"] is False and status["rearm_at"] == rearm
    assert 0.0 < status["risk_scale"] <= 1.0
    # kept in the database for the next restart
    _wait(lambda: {"governor_equity_peak", "governor_worst_drawdown"} <= governor_keys(), 30,
          "the governor's peak on the open trade")  # fmt: skip
