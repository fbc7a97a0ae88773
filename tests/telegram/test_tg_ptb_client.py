"""python-telegram-bot (what freqtrade's Telegram integration is built on), unmodified,
against the stand-in over TLS: it trusts the stand-in's test CA only through
SSL_CERT_FILE (httpx's trust_env), polls for updates and answers an injected /status."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest
from telegram import Update
from telegram.error import NetworkError
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram_standin import TelegramStandIn
from tg_pki import Pki

TOKEN = "1000000001:ptb-test-token"
CHAT = 4242


async def _until(check: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


def _app(url: str) -> Application:  # type: ignore[type-arg]
    # base_url is how a test points the library elsewhere; freqtrade itself keeps the
    # default https://api.telegram.org/bot and relies on name resolution instead.
    return Application.builder().token(TOKEN).base_url(f"{url}/bot").build()


def test_ptb_polls_and_answers_status_over_tls(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_cert))
    tls = (str(pki.server_cert), str(pki.server_key))
    with TelegramStandIn(TOKEN, {CHAT}, host="127.0.0.1", tls=tls) as tg:
        url = tg.url.replace("127.0.0.1", "localhost")

        async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.effective_chat is not None and update.message is not None
            await context.bot.send_message(update.effective_chat.id, "*Status:* `running`")

        async def converse() -> None:
            app = _app(url)
            app.add_handler(CommandHandler("status", status))
            await app.initialize()
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(timeout=5, drop_pending_updates=True)
            try:
                await _until(lambda: tg.calls.get("getUpdates", 0) >= 1)
                tg.inject("/status")
                await _until(lambda: len(tg.messages) == 1)
            finally:
                await app.updater.stop()
                await app.stop()
                await app.shutdown()

        asyncio.run(converse())
        assert [m["message"]["text"] for m in tg.messages] == ["*Status:* `running`"]
        assert tg.messages[0]["message"]["chat"]["id"] == CHAT
        calls = tg.calls
        assert calls["getMe"] >= 1 and calls["deleteWebhook"] == 1
        assert calls["getUpdates"] >= 1


def test_without_the_ca_the_client_refuses_the_stand_in(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    # certifi's bundle (httpx's default) does not know the test CA: the TLS check is real.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    tls = (str(pki.server_cert), str(pki.server_key))
    with TelegramStandIn(TOKEN, {CHAT}, tls=tls) as tg:
        app = _app(tg.url.replace("127.0.0.1", "localhost"))
        with pytest.raises(NetworkError) as err:
            asyncio.run(app.bot.get_me())
        assert isinstance(err.value.__cause__, httpx.ConnectError)
        assert "CERTIFICATE_VERIFY_FAILED" in str(err.value)
        assert tg.calls == {}
