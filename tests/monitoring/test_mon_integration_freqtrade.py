"""Integration: a real freqtrade (dry-run, futures) on the project's replay exchange, watched
by the real monitoring stack. A position is driven toward liquidation by moving the price in
the exchange (/_control/price); the alert must reach the Telegram stand-in. Exchange faults
injected in the replay exchange must show up as exchange errors.

Needs: exchange/ (replay_exchange), files/data/binance, Debian prometheus and
prometheus-alertmanager. About a minute."""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from freqtrade_client import FtRestClient
from mon_paths import REPO
from mon_stack import free_port, http_json, monitoring_stack, process, wait_for
from telegram_standin import TelegramStandIn

EXCHANGE = REPO / "exchange"
DATA = REPO / "files" / "data" / "binance"
PROBE = Path(__file__).resolve().parent / "ft_probe"
TOKEN = "7777:integration"
CHAT = 4242
PAIR = "BTC/USDT:USDT"

pytestmark = pytest.mark.skipif(
    not (EXCHANGE / "replay_exchange").is_dir() or not (DATA / "futures").is_dir(),
    reason="replay exchange or data slice missing",
)


def post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.load(resp)


def ft_config(tmp: Path, ex_url: str, api_port: int) -> dict[str, Any]:
    urls = {
        k: f"{ex_url}/fapi/{v}"
        for k, v in (
            ("fapiPublic", "v1"),
            ("fapiPublicV2", "v2"),
            ("fapiPublicV3", "v3"),
            ("fapiPrivate", "v1"),
            ("fapiPrivateV2", "v2"),
            ("fapiPrivateV3", "v3"),
        )
    }
    urls["fapiData"] = f"{ex_url}/futures/data"
    ccxt = {
        "urls": {"api": urls},
        "options": {
            "fetchMarkets": {"types": ["linear"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
        },
    }
    pricing = {"price_side": "same", "use_order_book": True, "order_book_top": 1}
    return {
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "dry_run": True,
        "dry_run_wallet": 1000,
        "stake_currency": "USDT",
        "stake_amount": 100,
        "max_open_trades": 3,
        "timeframe": "1h",
        "strategy": "MonitorProbe",
        "strategy_path": str(PROBE),
        "initial_state": "running",
        "force_entry_enable": True,
        "db_url": f"sqlite:///{tmp / 'trades.sqlite'}",
        "user_data_dir": str(tmp / "user_data"),
        "datadir": str(tmp / "user_data" / "data"),
        "entry_pricing": pricing,
        "exit_pricing": pricing,
        "exchange": {
            "name": "binance",
            "key": "",
            "secret": "",
            "pair_whitelist": [PAIR, "ETH/USDT:USDT"],
            "ccxt_config": ccxt,
            "ccxt_async_config": ccxt,
        },
        "pairlists": [{"method": "StaticPairList"}],
        "api_server": {
            "enabled": True,
            "listen_ip_address": "127.0.0.1",
            "listen_port": api_port,
            "username": "monitor",
            "password": "monitor-pw",
            "jwt_secret_key": "integration-test-jwt-secret-0123456789",
            "ws_token": "ws-0123456789",
            "CORS_origins": [],
        },
        "internals": {"process_throttle_secs": 2},
        "bot_name": "integration",
    }


@contextmanager
def exchange_and_bot(tmp: Path) -> Iterator[tuple[str, FtRestClient, str]]:
    ex_port, api_port = free_port(), free_port()
    ex_url = f"http://127.0.0.1:{ex_port}"
    env = {**os.environ, "PYTHONPATH": str(EXCHANGE)}
    ex_cmd = [
        sys.executable,
        "-m",
        "replay_exchange",
        "--data",
        str(DATA),
        "--state",
        str(tmp / "exchange-state.json"),
        "--port",
        str(ex_port),
    ]
    (tmp / "user_data" / "data").mkdir(parents=True)
    cfg = tmp / "freqtrade.json"
    cfg.write_text(json.dumps(ft_config(tmp, ex_url, api_port)))
    ft = Path(sys.executable).with_name("freqtrade")
    with process(ex_cmd, tmp / "exchange.log", env):
        wait_for(lambda: http_json(f"{ex_url}/fapi/v1/time"), 30, "replay exchange")
        with process([str(ft), "trade", "-c", str(cfg)], tmp / "freqtrade.log"):
            client = FtRestClient(f"http://127.0.0.1:{api_port}", "monitor", "monitor-pw")
            wait_for(
                lambda: (client.show_config() or {}).get("state") == "running",
                90,
                "freqtrade running",
            )
            yield ex_url, client, f"http://127.0.0.1:{api_port}"


@pytest.mark.slow
def test_position_driven_toward_liquidation_alerts_telegram(tmp_path: Path) -> None:
    with (
        exchange_and_bot(tmp_path) as (ex_url, client, api_url),
        TelegramStandIn(TOKEN, {CHAT}) as tg,
    ):
        res = client.forceenter(PAIR, "long", order_type="market", stake_amount=100, leverage=5)
        assert res and res.get("trade_id"), res
        trade = wait_for(
            lambda: [t for t in client.status() if t["liquidation_price"] and t["amount"] > 0],
            60,
            "filled position with a liquidation price",
        )[0]
        liq = float(trade["liquidation_price"])
        pw = tmp_path / "pw"
        pw.write_text("monitor-pw")
        exporter_cfg = {
            "poll_interval_seconds": 1,
            "request_timeout_seconds": 5,
            "liquidation_distance_threshold_ratio": 0.05,
            "funding": {"enabled": True, "exchange_url": ex_url},
            "bots": [
                {
                    "name": "live1",
                    "url": api_url,
                    "username": "monitor",
                    "password_file": str(pw),
                    "max_open_trades": 3,
                }
            ],
        }
        with monitoring_stack(tmp_path / "stack", exporter_cfg, tg.url, TOKEN, CHAT) as st:
            lbl = f'bot="live1",pair="{PAIR}",side="long"'
            wait_for(lambda: lbl in st.metrics(), 30, "position exported")
            assert f"risk_position_leverage{{{lbl}}} 5.0" in st.metrics()
            # The funding rate comes from the exchange's public premiumIndex.
            funding = re.compile(rf'risk_funding_rate_ratio{{pair="{re.escape(PAIR)}"}} -?\d')
            wait_for(lambda: funding.search(st.metrics()), 30, "funding rate")

            # Exchange trouble: the replay exchange answers 5xx; freqtrade logs the errors.
            post(f"{ex_url}/_control/faults", {"mode": "5xx", "duration_s": 20})
            wait_for(
                lambda: re.search(r'exchange_errors_total\{bot="live1"\} [1-9]', st.metrics()),
                60,
                "exchange errors counted",
            )
            urllib.request.urlopen(
                urllib.request.Request(f"{ex_url}/_control/faults", method="DELETE"), timeout=5
            ).close()

            # Drive the price to 2 % above the liquidation price.
            post(f"{ex_url}/_control/price", {"symbol": "BTCUSDT", "price": round(liq * 1.02, 1)})
            msg = wait_for(
                lambda: [m for m in tg.messages if "Liquidation" in m["message"]["text"]],
                90,
                "liquidation alert in the Telegram stand-in",
            )[0]
            text = msg["message"]["text"]
            expected = f"{round(liq):,}"
            assert f"🚨 Liquidation price approaching: ${expected}" in text, text
            assert "live1 long BTC/USDT:USDT" in text
            (tmp_path / "telegram-message.txt").write_text(text)
