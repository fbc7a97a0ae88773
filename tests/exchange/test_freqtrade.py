"""Real `freqtrade trade` against the replay exchange: dry-run, and live with keys.

Each test starts freqtrade as a subprocess (about 10-25 s each)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ft_config(base_url: str, api_port: int, user_dir: Path, live: bool) -> dict[str, Any]:
    """The freqtrade config a bot needs to run against the replay exchange."""
    return {
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "max_open_trades": 1,
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
            "ccxt_config": ccxt_config(base_url),
            "pair_whitelist": ["BTC/USDT:USDT", "ETH/USDT:USDT"],
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
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = pred()
        except requests.RequestException:
            got = None
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Callable[[bool], tuple[str, str, Path]]]:
    procs: list[subprocess.Popen[bytes]] = []
    stack: list[Any] = []

    def start(live: bool) -> tuple[str, str, Path]:
        cm = running_exchange(DATA_DIR, tmp_path / "exchange")
        base = cm.__enter__()
        stack.append(cm)
        user = tmp_path / "ft"
        (user / "strategies").mkdir(parents=True)
        (user / "strategies" / "ReplaySmoke.py").write_text(STRATEGY)
        shutil.copytree(DATA_DIR, user / "data" / "binance")  # freqtrade may rewrite its datadir
        port = free_port()
        cfg = user / "config.json"
        cfg.write_text(json.dumps(ft_config(base, port, user, live)))
        log = (user / "freqtrade.log").open("wb")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "freqtrade",
                    "trade",
                    "-c",
                    str(cfg),
                    "--db-url",
                    f"sqlite:///{user / 'trades.sqlite'}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=user,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        )
        api = f"http://127.0.0.1:{port}/api/v1"
        wait_for(lambda: requests.get(f"{api}/ping", timeout=2).ok, 90, "freqtrade API")
        return base, api, user

    yield start
    for p in procs:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
    for cm in stack:
        cm.__exit__(None, None, None)


def test_backtesting_loads_markets_from_the_exchange(tmp_path: Path) -> None:
    user = tmp_path / "ft"
    (user / "strategies").mkdir(parents=True)
    (user / "strategies" / "ReplaySmoke.py").write_text(STRATEGY)
    shutil.copytree(DATA_DIR, user / "data" / "binance")
    with running_exchange(DATA_DIR, tmp_path / "exchange") as base:
        cfg = user / "config.json"
        cfg.write_text(json.dumps(ft_config(base, free_port(), user, live=False)))
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "freqtrade",
                "backtesting",
                "-c",
                str(cfg),
                "--timerange",
                "20250801-20250815",
                "--export",
                "none",
            ],
            cwd=user,
            capture_output=True,
            text=True,
            timeout=120,
        )
        counts = running_exchange.last.request_counts  # type: ignore[attr-defined]
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "BACKTESTING REPORT" in done.stdout
    assert counts.get("GET /fapi/v1/exchangeInfo", 0) >= 1


def test_dry_run_starts_and_fetches_fresh_candles(bot: Callable[..., Any]) -> None:
    _base, api, _user = bot(False)
    assert requests.get(f"{api}/ping", timeout=5).json() == {"status": "pong"}

    def candles() -> Any:
        r = requests.get(
            f"{api}/pair_candles",
            auth=AUTH,
            timeout=5,
            params={"pair": "BTC/USDT:USDT", "timeframe": "15m", "limit": 50},
        )
        return r.ok and r.json().get("data") and r.json()

    data = wait_for(candles, 60, "candles")
    last_ts = data["data"][-1][data["columns"].index("__date_ts")]
    # freqtrade drops the open candle: the newest one it has closed within the last 15 minutes
    assert time.time() * 1000 - last_ts < 2 * 900_000
    assert len(data["data"]) >= 20
    assert "dry_run" in requests.get(f"{api}/show_config", auth=AUTH, timeout=5).json()["runmode"]


def test_live_forced_entry_stoploss_algo_exit_with_fees_and_funding(
    bot: Callable[..., Any],
) -> None:
    base, api, user = bot(True)
    r = requests.post(
        f"{api}/forceenter", auth=AUTH, timeout=30, json={"pair": "BTC/USDT:USDT", "side": "long"}
    )
    assert r.ok, r.text

    def exchange_state() -> dict[str, Any]:
        acct = requests.get(f"{base}/_control/state", timeout=5).json()["accounts"]
        return next(iter(acct.values()))

    # position on the exchange and the stoploss as a conditional (algo) order
    state = wait_for(
        lambda: (s := exchange_state())["open_algo_orders"] and s["positions"] and s,
        60,
        "position and stoploss algo order",
    )
    algo = state["open_algo_orders"][0]
    assert algo["orderType"] == "STOP_MARKET" and algo["side"] == "SELL"
    assert algo["closePosition"] or algo["reduceOnly"]
    pos = state["positions"]["BTCUSDT"]
    assert float(pos["positionAmt"]) > 0 and pos["marginType"] == "isolated"
    trade = requests.get(f"{api}/status", auth=AUTH, timeout=5).json()[0]
    assert trade["pair"] == "BTC/USDT:USDT" and trade["is_open"]
    # a funding settlement while the position is open
    funded = requests.post(f"{base}/_control/funding", json={"symbol": "BTCUSDT"}, timeout=5)
    assert funded.json()["accounts"] == 1
    r = requests.post(
        f"{api}/forceexit", auth=AUTH, timeout=30, json={"tradeid": str(trade["trade_id"])}
    )
    assert r.ok, r.text

    def closed() -> Any:
        trades = requests.get(f"{api}/trades", auth=AUTH, timeout=5).json()["trades"]
        return trades and not trades[0]["is_open"] and trades[0]

    done = wait_for(closed, 60, "closed trade")
    state = exchange_state()
    assert not state["positions"] and not state["open_algo_orders"]  # stop cancelled on exit
    # exchange ledger: commissions for both fills and the funding fee
    key_acct = running_exchange.last.engine.account(TEST_API_KEY)  # type: ignore[attr-defined]
    kinds = [i["incomeType"] for i in key_acct["income"]]
    assert kinds.count("COMMISSION") == 2 and kinds.count("FUNDING_FEE") == 1
    exch_funding = sum(
        float(i["income"]) for i in key_acct["income"] if i["incomeType"] == "FUNDING_FEE"
    )
    # freqtrade's database: fees on both sides and the same funding amount
    assert done["fee_open"] and done["fee_close"]
    assert done["funding_fees"] == pytest.approx(exch_funding, abs=1e-6)
    assert done["exit_reason"] == "force_exit"
    errors = [ln for ln in (user / "freqtrade.log").read_text().splitlines() if " - ERROR - " in ln]
    assert errors == []


def test_live_stoploss_on_exchange_fires(bot: Callable[..., Any]) -> None:
    """The algo stop triggers on the exchange; freqtrade finds the fill via actualOrderId."""
    base, api, user = bot(True)
    r = requests.post(
        f"{api}/forceenter", auth=AUTH, timeout=30, json={"pair": "ETH/USDT:USDT", "side": "long"}
    )
    assert r.ok, r.text

    def algo() -> Any:
        st = requests.get(f"{base}/_control/state", timeout=5).json()["accounts"]
        algos = next(iter(st.values()))["open_algo_orders"] if st else []
        return algos and algos[0]

    stop = float(wait_for(algo, 60, "stoploss algo order")["triggerPrice"])
    pinned = round(stop * 0.99, 2)
    requests.post(f"{base}/_control/price", json={"symbol": "ETHUSDT", "price": pinned}, timeout=5)

    def closed() -> Any:
        trades = requests.get(f"{api}/trades", auth=AUTH, timeout=5).json()["trades"]
        return trades and not trades[0]["is_open"] and trades[0]

    done = wait_for(closed, 60, "trade closed by the exchange stop")
    assert done["exit_reason"] == "stoploss_on_exchange"
    assert done["close_rate"] == pytest.approx(stop, rel=0.002)  # trigger price plus slippage
    assert done["fee_close"]
    errors = [ln for ln in (user / "freqtrade.log").read_text().splitlines() if " - ERROR - " in ln]
    assert errors == []
