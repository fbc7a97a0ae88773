"""End to end with the real binaries: exporter → Prometheus (project rules) → Alertmanager
(project config and template) → Telegram stand-in. The bot is the fake freqtrade API serving
the recorded dry-run responses; tests/monitoring/test_integration_freqtrade.py does the same
with a real freqtrade and the replay exchange."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fake_freqtrade import FakeFreqtrade
from mon_stack import monitoring_stack, wait_for
from telegram_standin import TelegramStandIn

TOKEN = "5555:e2e-token"
CHAT = -1001234


@pytest.mark.slow
def test_liquidation_alert_reaches_telegram_and_bot_down_inhibits(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("monitor-pw\n")
    with FakeFreqtrade() as bot_a, FakeFreqtrade() as bot_b, TelegramStandIn(TOKEN, {CHAT}) as tg:
        exporter_cfg = {
            "poll_interval_seconds": 1,
            "request_timeout_seconds": 2,
            "liquidation_distance_threshold_ratio": 0.05,
            "bots": [
                {
                    "name": "alpha",
                    "url": bot_a.url,
                    "username": "monitor",
                    "password_file": str(pw),
                },
                {"name": "beta", "url": bot_b.url, "username": "monitor", "password_file": str(pw)},
            ],
        }
        with monitoring_stack(tmp_path, exporter_cfg, tg.url, TOKEN, CHAT) as st:
            # Healthy: positions far from liquidation, nothing about them reaches Telegram.
            wait_for(
                lambda: 'risk_position_liquidation_distance_ratio{bot="alpha"' in st.metrics(),
                15,
                "positions exported",
            )
            # Drive alpha's BTC long to 1.8 % above its 93,337.3 liquidation price.
            bot_a.update_position("BTC/USDT:USDT", current_rate=95_000.0)
            msg = wait_for(
                lambda: [m for m in tg.messages if "Liquidation" in m["message"]["text"]],
                60,
                "liquidation message in the Telegram stand-in",
            )[0]
            text = msg["message"]["text"]
            assert "🚨 Liquidation price approaching: $93,337" in text
            assert "alpha long BTC/USDT:USDT" in text
            assert msg["parse_mode"] == "HTML" and msg["message"]["chat"]["id"] == CHAT
            # Nothing else was said about the bots (host alerts do fire here: this stack has
            # no node-exporter and no backup status).
            about_bots = [
                m["message"]["text"] for m in tg.messages if "bot: " in m["message"]["text"]
            ]
            assert all("Liquidation" in t for t in about_bots), about_bots
            assert any("node-exporter down" in m["message"]["text"] for m in tg.messages)

            # The price recovers: the resolved notice follows.
            bot_a.update_position("BTC/USDT:USDT", current_rate=114_800.2)
            resolved = wait_for(
                lambda: [m for m in tg.messages if "Resolved: 🚨" in m["message"]["text"]],
                60,
                "resolved message",
            )[0]["message"]["text"]
            assert "✅ Resolved: 🚨 Liquidation price approaching: $93,337" in resolved
            assert "(alpha BTC/USDT:USDT)" in resolved

            # beta goes down: BotDown reaches Telegram, and its position alerts are inhibited.
            bot_b.update_position("ETH/USDT:USDT", current_rate=4_700.0)  # 2.6 % from liq
            wait_for(
                lambda: any(
                    a["labels"]["alertname"] == "LiquidationApproaching"
                    and a["labels"]["bot"] == "beta"
                    for a in st.firing()
                ),
                30,
                "beta liquidation alert in Prometheus",
            )
            bot_b.failing = 503
            wait_for(
                lambda: [m for m in tg.messages if "Bot API unreachable" in m["message"]["text"]],
                60,
                "BotDown message",
            )
            beta_liq = [
                m
                for m in tg.messages
                if "Liquidation" in m["message"]["text"] and "beta" in m["message"]["text"]
            ]
            # beta's liquidation alert fired before the outage may have been sent once;
            # after BotDown it must be inhibited (no resend), checked via Alertmanager.
            alerts = wait_for(
                lambda: st.get_json(f"{st.alertmanager_url}/api/v2/alerts?filter=bot%3D%22beta%22"),
                10,
                "alertmanager alerts",
            )
            liq = [a for a in alerts if a["labels"]["alertname"] == "LiquidationApproaching"]
            assert liq and all(a["status"]["state"] == "suppressed" for a in liq), liq
            assert all(a["status"]["inhibitedBy"] for a in liq)
            assert len(beta_liq) <= 1
            # alpha's figures are still exported while beta is down.
            assert 'risk_bot_up{bot="alpha"} 1.0' in st.metrics()
            assert 'risk_bot_up{bot="beta"} 0.0' in st.metrics()


class _PremiumIndex(BaseHTTPRequestHandler):
    """Binance's GET /fapi/v1/premiumIndex (all symbols), as the exporter reads it."""

    next_funding_ms = 0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        rows = [
            {
                "symbol": s,
                "markPrice": "1",
                "lastFundingRate": rate,
                "nextFundingTime": self.next_funding_ms,
                "time": int(time.time() * 1000),
            }
            for s, rate in (("BTCUSDT", "0.00060000"), ("ETHUSDT", "0.00001000"))
        ]
        data = json.dumps(rows).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.mark.slow
def test_funding_rate_message(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("monitor-pw\n")
    # Two hours and a bit: the message rounds to whole hours.
    _PremiumIndex.next_funding_ms = int((time.time() + 2 * 3600 + 120) * 1000)
    exchange = ThreadingHTTPServer(("127.0.0.1", 0), _PremiumIndex)
    threading.Thread(target=exchange.serve_forever, daemon=True).start()
    try:
        with FakeFreqtrade() as bot, TelegramStandIn(TOKEN, {CHAT}) as tg:
            exporter_cfg = {
                "poll_interval_seconds": 1,
                "funding": {
                    "enabled": True,
                    "exchange_url": f"http://127.0.0.1:{exchange.server_address[1]}",
                },
                "bots": [
                    {
                        "name": "alpha",
                        "url": bot.url,
                        "username": "monitor",
                        "password_file": str(pw),
                    }
                ],
            }
            with monitoring_stack(tmp_path, exporter_cfg, tg.url, TOKEN, CHAT):
                msg = wait_for(
                    lambda: [m for m in tg.messages if "Funding Rate" in m["message"]["text"]],
                    60,
                    "funding rate message",
                )[0]
        text = msg["message"]["text"]
        # BTC long pays +0.06 %; the ETH short receives, the other pairs have no rate.
        assert "💰 Funding Rate: +0.06% in 2 hours" in text
        assert "alpha long BTC/USDT:USDT pays funding." in text
        assert "ETH" not in text
        assert msg["disable_notification"] is True  # info alerts notify silently
    finally:
        exchange.shutdown()
        exchange.server_close()
