"""Real `freqtrade trade` against a replay exchange in this process: the config, a bot process
that can be killed and restarted on the same database, and both sides' views of the account.

Shared by test_freqtrade.py and test_live_faults.py (a uniquely named module: every test
folder has a conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import box
import requests
from replay_exchange.core import Exchange
from replay_exchange.testing import TEST_API_KEY, TEST_API_SECRET, ccxt_config, running_exchange
from rx_support import DATA_DIR

STRATEGY = '''
from freqtrade.strategy import IStrategy
from pandas import DataFrame


class ReplaySmoke(IStrategy):
    """Never enters by itself: the tests force entries through the API."""

    INTERFACE_VERSION = 3
    timeframe = "15m"
    can_short = True
    minimal_roi = {"0": 10}
    stoploss = -0.05
    startup_candle_count = 20

    def populate_indicators(self, df: DataFrame, metadata: dict) -> DataFrame:
        return df

    def populate_entry_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        df["enter_long"] = 0
        return df

    def populate_exit_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        df["exit_long"] = 0
        return df
'''

AUTH = ("replay", "replay-test")
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "BNB/USDT:USDT", "ADA/USDT:USDT"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ft_config(
    base_url: str, api_port: int, user_dir: Path, live: bool, timeout_ms: int | None = None
) -> dict[str, Any]:
    """The freqtrade config a bot needs to run against the replay exchange."""
    ccxt = ccxt_config(base_url)
    if timeout_ms is not None:
        ccxt["timeout"] = timeout_ms
    return {
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "max_open_trades": len(PAIRS),
        "stake_currency": "USDT",
        "stake_amount": 200,
        "dry_run": not live,
        "dry_run_wallet": 1000,
        "timeframe": "15m",
        "force_entry_enable": True,
        "entry_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "order_types": {
            "entry": "market",
            "exit": "market",
            "emergency_exit": "market",
            "force_entry": "market",
            "force_exit": "market",
            "stoploss": "market",
            "stoploss_on_exchange": True,
            "stoploss_on_exchange_interval": 5,
        },
        "exchange": {
            "name": "binance",
            "key": TEST_API_KEY if live else "",
            "secret": TEST_API_SECRET if live else "",
            "ccxt_config": ccxt,
            "ccxt_async_config": ccxt,
            "pair_whitelist": PAIRS,
        },
        "pairlists": [{"method": "StaticPairList"}],
        "api_server": {
            "enabled": True,
            "listen_ip_address": "127.0.0.1",
            "listen_port": api_port,
            "username": AUTH[0],
            "password": AUTH[1],
            "jwt_secret_key": "replay-exchange-test-jwt-secret-0123456789",
            "ws_token": "replay-exchange-test-ws-token",
        },
        "bot_name": "replay-test",
        "initial_state": "running",
        "internals": {"process_throttle_secs": 1},
        "datadir": str(user_dir / "data" / "binance"),
        "user_data_dir": str(user_dir),
        "strategy_path": str(user_dir / "strategies"),
        "strategy": "ReplaySmoke",
    }


def wait_for(pred: Callable[[], Any], timeout: float, what: str) -> Any:
    """tests/box.py's wait, every 0.5 s; a refused or reset request counts as not yet."""
    return box.wait_for(what, pred, timeout, step=0.5, ignore=(requests.RequestException,))


class LiveBot:
    """One freqtrade process on a user folder; stop, kill -9 and start again keep its
    database, as systemd's restart of a bot does."""

    def __init__(self, base: str, exchange: Exchange, user: Path, live: bool, **cfg: Any) -> None:
        self.base, self.exchange, self.user = base, exchange, user
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/api/v1"
        (user / "strategies").mkdir(parents=True)
        (user / "strategies" / "ReplaySmoke.py").write_text(STRATEGY)
        shutil.copytree(DATA_DIR, user / "data" / "binance")  # freqtrade may rewrite its datadir
        self.config = user / "config.json"
        self.config.write_text(json.dumps(ft_config(base, self.port, user, live, **cfg)))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.user / "freqtrade.log").open("ab")
        db = f"sqlite:///{self.user / 'trades.sqlite'}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "freqtrade", "trade", "-c", str(self.config), "--db-url", db],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.user,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        wait_for(lambda: requests.get(f"{self.api}/ping", timeout=2).ok, 90, "freqtrade API")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def get(self, path: str, **params: Any) -> Any:
        r = requests.get(f"{self.api}/{path}", auth=AUTH, params=params, timeout=30)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(f"{self.api}/{path}", auth=AUTH, json=body, timeout=60)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(f"{self.api}/{path}", auth=AUTH, timeout=60)

    def account(self) -> dict[str, Any]:
        """The exchange's view: positions, open orders and open algo orders of the bot's key."""
        accounts = requests.get(f"{self.base}/_control/state", timeout=10).json()["accounts"]
        return dict(next(iter(accounts.values()), {}))  # one key: the test key

    def log_lines(self, level: str) -> list[str]:
        text = (self.user / "freqtrade.log").read_text()
        return [ln for ln in text.splitlines() if f" - {level} - " in ln]


@contextmanager
def live_bot(tmp: Path, live: bool = True, **cfg: Any) -> Iterator[LiveBot]:
    """A replay exchange in this process and a running freqtrade bot against it."""
    with running_exchange(DATA_DIR, tmp / "exchange") as base:
        bot = LiveBot(base, running_exchange.last, tmp / "ft", live, **cfg)  # type: ignore[attr-defined]
        bot.start()
        try:
            yield bot
        finally:
            bot.stop()
