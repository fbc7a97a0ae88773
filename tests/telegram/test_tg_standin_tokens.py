"""Several bot tokens on one stand-in, and Telegram's rule of one getUpdates poller per
token: an overlapping getUpdates for the same token ends the older one with 409 Conflict
(the body real Telegram sends; python-telegram-bot raises telegram.error.Conflict on it)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram_standin import CONFLICT, TelegramStandIn

ROSSC = "1000000002:rossc-test-token"
AIRISK = "1000000003:airisk-test-token"
SENDER = "1000000001:alerts-test-token"
CHAT = 4242
STANDIN = Path(__file__).resolve().parents[2] / "monitoring" / "tools" / "telegram_standin.py"
TELEGRAM_409 = {"ok": False, "error_code": 409, "description": CONFLICT}


def call(url: str, body: dict[str, Any] | None = None, timeout: float = 5) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"} if data else {}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def api(tg: TelegramStandIn, token: str, method: str, **params: Any) -> tuple[int, Any]:
    return call(f"{tg.url}/bot{token}/{method}", params, timeout=params.get("timeout", 0) + 5)


def wait_for(check: Callable[[], bool], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def polling(tg: TelegramStandIn, bot_id: int) -> bool:
    return any(b["id"] == bot_id and b["polling"] for b in tg.bots)


def conflicts(tg: TelegramStandIn) -> dict[int, int]:
    return {b["id"]: b["conflicts"] for b in tg.bots}


def test_each_token_is_a_bot_of_its_own() -> None:
    with TelegramStandIn([ROSSC, AIRISK, SENDER, ROSSC], {CHAT}) as tg:
        # A repeated token is one bot; the id is the number before the token's colon.
        assert [b["id"] for b in tg.bots] == [1000000002, 1000000003, 1000000001]
        assert api(tg, ROSSC, "getMe")[1]["result"]["id"] == 1000000002
        assert api(tg, AIRISK, "getMe")[1]["result"]["id"] == 1000000003
        assert call(f"{tg.url}/bot1000000002:wrong/getMe")[0] == 401
        # A user's message goes to one bot only.
        status, body = call(f"{tg.url}/_inject", {"text": "/status", "bot_id": 1000000003})
        assert status == 200 and body["result"]["update_id"] == 1
        assert api(tg, ROSSC, "getUpdates")[1]["result"] == []
        [update] = api(tg, AIRISK, "getUpdates")[1]["result"]
        assert update["message"]["text"] == "/status"
        assert call(f"{tg.url}/_inject", {"text": "/x", "bot_id": 5})[0] == 400
        # Without bot_id the first token's bot gets it.
        assert tg.inject("/profit")["update_id"] == 1
        assert api(tg, ROSSC, "getUpdates")[1]["result"][0]["message"]["text"] == "/profit"
        # Each message records its sender's bot id (never the token).
        for token in (ROSSC, AIRISK, SENDER):
            assert api(tg, token, "sendMessage", chat_id=CHAT, text=token[-17:])[0] == 200
        assert [(m["bot_id"], m["message"]["from"]["id"]) for m in tg.messages] == [
            (1000000002, 1000000002),
            (1000000003, 1000000003),
            (1000000001, 1000000001),
        ]
        assert not any(t in json.dumps(tg.messages) for t in (ROSSC, AIRISK, SENDER))
        # Calls are counted per bot, and in total.
        assert call(f"{tg.url}/_calls?bot_id=1000000003")[1] == {
            "getMe": 1,
            "getUpdates": 1,
            "sendMessage": 1,
        }
        assert tg.calls == {"getMe": 2, "getUpdates": 3, "sendMessage": 3}
        assert call(f"{tg.url}/_bots")[1] == tg.bots
        # One bot cannot edit another bot's message.
        mid = tg.messages[0]["message"]["message_id"]
        status, _ = api(tg, AIRISK, "editMessageText", chat_id=CHAT, message_id=mid, text="x")
        assert status == 400


def test_overlapping_get_updates_ends_the_older_with_409() -> None:
    with TelegramStandIn([ROSSC, AIRISK], {CHAT}) as tg:
        older: list[tuple[int, Any]] = []
        first = threading.Thread(
            target=lambda: older.append(api(tg, ROSSC, "getUpdates", timeout=10))
        )
        other = threading.Thread(target=lambda: api(tg, AIRISK, "getUpdates", timeout=2))
        first.start()
        other.start()
        wait_for(lambda: polling(tg, 1000000002) and polling(tg, 1000000003))
        t0 = time.monotonic()
        newer = api(tg, ROSSC, "getUpdates", timeout=1)
        first.join(5)
        # The older poll ends at once with Telegram's answer; the newer one polls on.
        assert older == [(409, TELEGRAM_409)]
        assert newer == (200, {"ok": True, "result": []})
        assert time.monotonic() - t0 < 3
        other.join(5)
        # Only the token that was polled twice conflicted; the other bot's poll is its own.
        assert conflicts(tg) == {1000000002: 1, 1000000003: 0}
        # The newer poll still gets what arrives for it.
        threading.Timer(0.3, tg.inject, args=("/status",)).start()
        _, body = api(tg, ROSSC, "getUpdates", timeout=5)
        assert [u["message"]["text"] for u in body["result"]] == ["/status"]


def test_sequential_polls_and_a_departed_poller_do_not_conflict() -> None:
    with TelegramStandIn(ROSSC, {CHAT}) as tg:
        for _ in range(3):
            assert api(tg, ROSSC, "getUpdates", timeout=0.2)[0] == 200
        # A bot that is killed mid-poll leaves its request behind; the stand-in notices the
        # closed connection, so the restarted bot's first poll is not a conflict.
        host, port = tg.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(
                f"GET /bot{ROSSC}/getUpdates?timeout=30 HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            )
            wait_for(lambda: polling(tg, 1000000002))
        wait_for(lambda: not polling(tg, 1000000002))
        assert api(tg, ROSSC, "getUpdates")[0] == 200
        assert conflicts(tg) == {1000000002: 0}


def _app(url: str, token: str) -> Application:  # type: ignore[type-arg]
    return Application.builder().token(token).base_url(f"{url}/bot").build()


def _run_bots(url: str, tokens: list[str], until: Callable[[], bool]) -> None:
    """python-telegram-bot apps, one per token given, each answering /status with its id."""

    async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, f"bot {context.bot.id}")

    async def run() -> None:
        apps = [_app(url, token) for token in tokens]
        for app in apps:
            app.add_handler(CommandHandler("status", status))
            await app.initialize()
            await app.start()
            assert app.updater is not None
            # A Conflict is logged and retried by python-telegram-bot (as in freqtrade).
            await app.updater.start_polling(timeout=5, error_callback=lambda _err: None)
        try:
            deadline = time.monotonic() + 20
            while not until():
                assert time.monotonic() < deadline, "timed out"
                await asyncio.sleep(0.1)
        finally:
            for app in apps:
                assert app.updater is not None
                await app.updater.stop()
                await app.stop()
                await app.shutdown()

    asyncio.run(run())


def test_python_telegram_bot_pollers_sharing_a_token_conflict() -> None:
    with TelegramStandIn([ROSSC, AIRISK], {CHAT}) as tg:
        _run_bots(tg.url, [ROSSC, ROSSC], lambda: conflicts(tg)[1000000002] >= 2)
        assert conflicts(tg)[1000000003] == 0


def test_python_telegram_bot_pollers_with_a_token_each_answer_their_own_commands() -> None:
    with TelegramStandIn([ROSSC, AIRISK], {CHAT}) as tg:
        asked: list[int] = []

        def answered() -> bool:
            # Once both poll, each bot is sent a /status of its own.
            for bot in tg.bots:
                if bot["calls"].get("getUpdates") and bot["id"] not in asked:
                    tg.inject("/status", bot_id=bot["id"])
                    asked.append(bot["id"])
            return len(tg.messages) >= 2

        _run_bots(tg.url, [ROSSC, AIRISK], answered)
        assert sorted((m["bot_id"], m["message"]["text"]) for m in tg.messages) == [
            (1000000002, "bot 1000000002"),
            (1000000003, "bot 1000000003"),
        ]
        assert conflicts(tg) == {1000000002: 0, 1000000003: 0}


def test_cli_takes_several_tokens_from_the_environment() -> None:
    env = {
        **os.environ,
        "TELEGRAM_STANDIN_TOKEN": f"{ROSSC}, {AIRISK},",
        "TELEGRAM_STANDIN_CHATS": "42",
    }
    proc = subprocess.Popen(
        [sys.executable, str(STANDIN), "--port", "0"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        for token, bot_id in ((ROSSC, 1000000002), (AIRISK, 1000000003)):
            assert call(f"{url}/bot{token}/getMe")[1]["result"]["id"] == bot_id
        assert [b["id"] for b in call(f"{url}/_bots")[1]] == [1000000002, 1000000003]
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_text()
        assert ROSSC not in cmdline and AIRISK not in cmdline
    finally:
        proc.terminate()
        proc.wait(5)
