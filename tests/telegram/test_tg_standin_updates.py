"""The stand-in's side of a bot conversation: injected user messages arrive through
getUpdates as Telegram Updates, with Telegram's offset, limit and long-poll semantics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from telegram_standin import TelegramStandIn

TOKEN = "1000000001:test-token"
CHAT = 4242
STANDIN = Path(__file__).resolve().parents[2] / "monitoring" / "tools" / "telegram_standin.py"


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


def api(tg: TelegramStandIn, method: str, **params: Any) -> tuple[int, Any]:
    return call(f"{tg.url}/bot{TOKEN}/{method}", params, timeout=params.get("timeout", 0) + 5)


def test_injected_command_arrives_as_an_update_with_a_command_entity() -> None:
    with TelegramStandIn(TOKEN, {CHAT}) as tg:
        status, body = call(f"{tg.url}/_inject", {"text": "/status 1"})
        assert status == 200 and body["ok"]
        status, body = api(tg, "getUpdates")
        assert status == 200
        [update] = body["result"]
        msg = update["message"]
        assert update["update_id"] == 1
        assert msg["chat"] == {"id": CHAT, "type": "private"}
        assert msg["from"]["id"] == CHAT and msg["from"]["is_bot"] is False
        assert msg["text"] == "/status 1"
        assert msg["entities"] == [{"offset": 0, "length": 7, "type": "bot_command"}]
        # Plain text carries no entity.
        plain = tg.inject("hello", chat_id=-100)
        assert "entities" not in plain["message"]
        assert plain["message"]["chat"]["type"] == "supergroup"


def test_offset_confirms_updates_and_limit_caps_the_batch() -> None:
    with TelegramStandIn(TOKEN, {CHAT}) as tg:
        ids = [tg.inject(f"/c{i}")["update_id"] for i in range(3)]
        assert ids == [1, 2, 3]
        _, body = api(tg, "getUpdates", limit=2)
        assert [u["update_id"] for u in body["result"]] == [1, 2]
        # Unconfirmed updates are delivered again.
        _, body = api(tg, "getUpdates")
        assert [u["update_id"] for u in body["result"]] == [1, 2, 3]
        _, body = api(tg, "getUpdates", offset=3)
        assert [u["update_id"] for u in body["result"]] == [3]
        _, body = api(tg, "getUpdates", offset=4)
        assert body["result"] == []
        # Message ids are shared by sent and received messages, like in a real chat.
        _, sent = api(tg, "sendMessage", chat_id=CHAT, text="reply")
        assert sent["result"]["message_id"] == 4


def test_long_poll_waits_for_an_update_and_returns_when_it_arrives() -> None:
    with TelegramStandIn(TOKEN, {CHAT}) as tg:
        t0 = time.monotonic()
        _, body = api(tg, "getUpdates", timeout=1)
        waited = time.monotonic() - t0
        assert body["result"] == [] and 0.9 <= waited < 3
        threading.Timer(0.5, tg.inject, args=("/status",)).start()
        t0 = time.monotonic()
        _, body = api(tg, "getUpdates", timeout=20)
        assert [u["message"]["text"] for u in body["result"]] == ["/status"]
        assert time.monotonic() - t0 < 5


def test_delete_webhook_drops_pending_updates_only_when_asked() -> None:
    with TelegramStandIn(TOKEN, {CHAT}) as tg:
        tg.inject("/one")
        _, body = api(tg, "deleteWebhook")
        assert body == {"ok": True, "result": True, "description": "Webhook is already deleted"}
        _, info = api(tg, "getWebhookInfo")
        assert info["result"]["pending_update_count"] == 1
        api(tg, "deleteWebhook", drop_pending_updates=True)
        _, body = api(tg, "getUpdates")
        assert body["result"] == []


def test_commands_edits_and_call_counts() -> None:
    with TelegramStandIn(TOKEN, {CHAT}) as tg:
        cmds = [{"command": "status", "description": "open trades"}]
        assert api(tg, "setMyCommands", commands=cmds)[1]["result"] is True
        assert api(tg, "getMyCommands")[1]["result"] == cmds
        _, sent = api(tg, "sendMessage", chat_id=CHAT, text="v1")
        mid = sent["result"]["message_id"]
        status, body = api(tg, "editMessageText", chat_id=CHAT, message_id=mid, text="v2")
        assert status == 200 and body["result"]["text"] == "v2" and "edit_date" in body["result"]
        status, body = api(tg, "editMessageText", chat_id=CHAT, message_id=mid, text="v2")
        assert status == 400 and body["description"] == "Bad Request: message is not modified"
        status, body = api(tg, "editMessageText", chat_id=CHAT, message_id=99, text="x")
        assert status == 400 and "not found" in body["description"]
        assert [m["message"]["text"] for m in tg.messages] == ["v2"]
        assert tg.calls == {
            "setMyCommands": 1,
            "getMyCommands": 1,
            "sendMessage": 1,
            "editMessageText": 3,
        }
        # The test endpoints need no token; the API itself refuses a wrong one, uncounted.
        assert call(f"{tg.url}/botWRONG/getMe")[0] == 401
        assert call(f"{tg.url}/_calls")[1] == tg.calls


def test_inject_refuses_empty_text_and_bad_ids() -> None:
    with TelegramStandIn(TOKEN, {CHAT}) as tg:
        assert call(f"{tg.url}/_inject", {"text": " "})[0] == 400
        assert call(f"{tg.url}/_inject", {"text": "/x", "chat_id": "abc"})[0] == 400
        assert call(f"{tg.url}/_nothing")[0] == 404
        assert api(tg, "getUpdates")[1]["result"] == []


def test_cli_takes_token_and_chats_from_the_environment(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TELEGRAM_STANDIN_TOKEN": TOKEN,
        "TELEGRAM_STANDIN_CHATS": f"{CHAT}, 77",
    }
    proc = subprocess.Popen(
        [sys.executable, str(STANDIN), "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        for chat in (CHAT, 77):
            status, _ = call(f"{url}/bot{TOKEN}/sendMessage", {"chat_id": chat, "text": "x"})
            assert status == 200
        assert call(f"{url}/bot{TOKEN}/sendMessage", {"chat_id": 5, "text": "x"})[0] == 400
        # The token never appears on the command line.
        assert TOKEN not in Path(f"/proc/{proc.pid}/cmdline").read_text()
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "--token (or TELEGRAM_STANDIN_TOKEN) is required"),
        ({"TELEGRAM_STANDIN_TOKEN": TOKEN}, "--chat (or TELEGRAM_STANDIN_CHATS) is required"),
        (
            {"TELEGRAM_STANDIN_TOKEN": TOKEN, "TELEGRAM_STANDIN_CHATS": "x"},
            "TELEGRAM_STANDIN_CHATS must be integers",
        ),
    ],
)
def test_cli_refuses_missing_settings(env: dict[str, str], message: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_STANDIN_")}
    done = subprocess.run(
        [sys.executable, str(STANDIN), "--port", "0"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert done.returncode == 2 and message in done.stderr
