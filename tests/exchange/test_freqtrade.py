"""Real `freqtrade trade` against the replay exchange: dry-run, and live with keys.

Each test starts freqtrade as a subprocess (about 10-25 s each)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests
from ft_live import AUTH, STRATEGY, free_port, ft_config, live_bot, wait_for
from replay_exchange.engine import DEFAULT_WALLET
from replay_exchange.testing import TEST_API_KEY, running_exchange
from rx_support import DATA_DIR


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Callable[[bool], tuple[str, str, Path]]]:
    with ExitStack() as stack:

        def start(live: bool) -> tuple[str, str, Path]:
            b = stack.enter_context(live_bot(tmp_path, live))
            return b.base, b.api, b.user

        yield start


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
    # The ledgers reconcile: freqtrade's fees are the exchange's commissions, its profit is
    # the wallet's change (realized PnL, commissions, funding), its balance the wallet.
    income = {k: 0.0 for k in ("REALIZED_PNL", "COMMISSION", "FUNDING_FEE")}
    for i in key_acct["income"]:
        income[i["incomeType"]] += float(i["income"])
    fees = done["fee_open_cost"] + done["fee_close_cost"]
    assert fees == pytest.approx(-income["COMMISSION"], rel=1e-6)
    assert done["profit_abs"] == pytest.approx(sum(income.values()), abs=1e-6)
    # Income rows carry 8 decimals, as Binance's do; the wallet keeps the exact sum.
    assert key_acct["wallet"] == pytest.approx(DEFAULT_WALLET + sum(income.values()), abs=1e-7)

    def usdt() -> float:
        cur = requests.get(f"{api}/balance", auth=AUTH, timeout=5).json()["currencies"]
        return float(next(c["balance"] for c in cur if c["currency"] == "USDT"))

    # freqtrade reads its balance once a loop: give it a few
    wallet = key_acct["wallet"]
    wait_for(lambda: abs(usdt() - wallet) < 1e-7 or None, 15, "freqtrade's balance")
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
