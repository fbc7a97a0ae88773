"""Local stand-in for the Telegram Bot API (api.telegram.org is unreachable from CI).

Implements what senders and bots use: POST/GET /bot<token>/sendMessage, editMessageText,
getMe, getUpdates (long polling with offset, limit and timeout), deleteWebhook,
getWebhookInfo, setMyCommands, getMyCommands, deleteMyCommands, answerCallbackQuery, with
Telegram's response envelope ({"ok": true, "result": ...} or {"ok": false, "error_code",
"description"}) and its common refusals: wrong token (401), unknown chat (400 "chat not
found"), empty or over-long text, and HTML that Telegram would reject ("can't parse
entities"). Every accepted message is recorded.

Test endpoints (no token; bind the stand-in to loopback):
    GET  /_messages   messages the bot sent, oldest first
    POST /_inject     {"text": "/status", "chat_id": 42, "from_id": 42}: a user's message,
                      queued as a Telegram Update for getUpdates (chat_id defaults to the
                      first allowed chat, from_id to chat_id)
    GET  /_calls      how often each Bot API method was called, e.g. {"getUpdates": 3}

    python monitoring/tools/telegram_standin.py --port 8443 --token 123:ABC --chat 42 \
        [--record messages.jsonl] [--tls-cert cert.pem --tls-key key.pem]

--token and --chat may instead come from the environment (TELEGRAM_STANDIN_TOKEN,
TELEGRAM_STANDIN_CHATS="42,43"), so that a service keeps them out of its command line.
"""

from __future__ import annotations

import argparse
import html.parser
import json
import os
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

MAX_TEXT = 4096
MAX_POLL_TIMEOUT = 50  # seconds a getUpdates long poll may wait, as Telegram allows
HTML_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}


ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}


def _utf16_len(text: str) -> int:
    # Telegram counts entity offsets in UTF-16 code units (emoji count twice).
    return len(text.encode("utf-16-le")) // 2


class _HtmlRender(html.parser.HTMLParser):
    """Telegram's HTML parse mode: markup becomes entities, the text is what users see."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.error: str | None = None
        self.text = ""
        self.open: list[tuple[str, int]] = []
        self.entities: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in HTML_TAGS:
            self.error = self.error or f'Unsupported start tag "{tag}"'
            return
        self.open.append((tag, _utf16_len(self.text)))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1][0] != tag:
            self.error = self.error or f'Unmatched end tag "{tag}"'
            return
        _, start = self.open.pop()
        length = _utf16_len(self.text) - start
        if length:
            self.entities.append({"offset": start, "length": length, "type": ENTITY_TYPES[tag]})

    def handle_data(self, data: str) -> None:
        self.text += data

    def handle_entityref(self, name: str) -> None:
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
        if name not in named:
            self.error = self.error or f'Unsupported HTML entity "&{name};"'
            return
        self.text += named[name]

    def handle_charref(self, name: str) -> None:
        # All numeric entities are supported (&#43; is what Go's html/template writes for +).
        code = int(name[1:], 16) if name[:1] in "xX" else int(name)
        self.text += chr(code)


def render_html(text: str) -> tuple[str, list[dict[str, Any]], str | None]:
    """(visible text, entities, error) as Telegram would parse parse_mode=HTML."""
    for i, ch in enumerate(text):
        if ch == "&" and ";" not in text[i + 1 : i + 10]:
            return "", [], f"Can't find end of the entity starting at byte offset {i}"
    p = _HtmlRender()
    p.feed(text)
    p.close()
    if p.error is None and p.open:
        p.error = f'Can\'t find end tag corresponding to start tag "{p.open[-1][0]}"'
    return p.text, sorted(p.entities, key=lambda e: e["offset"]), p.error


def html_error(text: str) -> str | None:
    return render_html(text)[2]


@dataclass
class Bot:
    token: str
    chats: set[int]
    bot_id: int = 7000000001
    username: str = "risk_monitor_test_bot"
    messages: list[dict[str, Any]] = field(default_factory=list)
    record: Path | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_id: int = 1
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1
    calls: Counter[str] = field(default_factory=Counter)
    commands: list[dict[str, Any]] = field(default_factory=list)
    closing: bool = False

    def __post_init__(self) -> None:
        # Long polls wait on this; it shares the lock that guards updates.
        self.arrived = threading.Condition(self.lock)

    def me(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Risk Monitor",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def send_message(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            chat_id = int(params.get("chat_id", ""))
        except (TypeError, ValueError):
            return 400, _err(400, "Bad Request: chat not found")
        if chat_id not in self.chats:
            return 400, _err(400, "Bad Request: chat not found")
        text = str(params.get("text") or "")
        if not text.strip():
            return 400, _err(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            return 400, _err(400, "Bad Request: message is too long")
        mode = str(params.get("parse_mode") or "")
        visible, entities = text, []
        if mode.upper() == "HTML":
            visible, entities, problem = render_html(text)
            if problem:
                return 400, _err(400, f"Bad Request: can't parse entities: {problem}")
            if not visible.strip():
                return 400, _err(400, "Bad Request: message text is empty")
        with self.lock:
            msg = {
                "message_id": self.next_id,
                "from": {
                    k: v
                    for k, v in self.me().items()
                    if k in ("id", "is_bot", "first_name", "username")
                },
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "date": int(time.time()),
                "text": visible,
            }
            if entities:
                msg["entities"] = entities
            self.next_id += 1
            entry = {
                "message": msg,
                "sent_text": text,
                "parse_mode": mode,
                "disable_notification": _truthy(params.get("disable_notification")),
            }
            self.messages.append(entry)
            if self.record is not None:
                with self.record.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return 200, {"ok": True, "result": msg}

    def edit_message_text(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            chat_id, message_id = int(params.get("chat_id", "")), int(params.get("message_id", ""))
        except (TypeError, ValueError):
            return 400, _err(400, "Bad Request: message to edit not found")
        text = str(params.get("text") or "")
        if not text.strip():
            return 400, _err(400, "Bad Request: message text is empty")
        visible = text
        if str(params.get("parse_mode") or "").upper() == "HTML":
            visible, _, problem = render_html(text)
            if problem:
                return 400, _err(400, f"Bad Request: can't parse entities: {problem}")
        with self.lock:
            for entry in self.messages:
                msg = entry["message"]
                if msg["chat"]["id"] == chat_id and msg["message_id"] == message_id:
                    if msg["text"] == visible:
                        return 400, _err(400, "Bad Request: message is not modified")
                    msg["text"], msg["edit_date"] = visible, int(time.time())
                    entry["sent_text"] = text
                    return 200, {"ok": True, "result": msg}
        return 400, _err(400, "Bad Request: message to edit not found")

    def inject(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Queue a user's message as an Update, the way Telegram delivers it to the bot."""
        text = str(body.get("text") or "")
        if not text.strip():
            return 400, _err(400, "Bad Request: message text is empty")
        try:
            chat_id = int(body.get("chat_id", min(self.chats)))
            from_id = int(body.get("from_id", chat_id))
        except (TypeError, ValueError):
            return 400, _err(400, "Bad Request: chat_id and from_id must be integers")
        message: dict[str, Any] = {
            "from": {"id": from_id, "is_bot": False, "first_name": "Test", "username": "tester"},
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            # A leading /command is an entity; that is what command handlers look for.
            command = text.split()[0]
            message["entities"] = [
                {"offset": 0, "length": _utf16_len(command), "type": "bot_command"}
            ]
        with self.arrived:
            message["message_id"] = self.next_id
            self.next_id += 1
            update = {"update_id": self.next_update_id, "message": message}
            self.next_update_id += 1
            self.updates.append(update)
            self.arrived.notify_all()
        return 200, {"ok": True, "result": update}

    def get_updates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            offset = int(params.get("offset") or 0)
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            timeout = min(max(float(params.get("timeout") or 0), 0.0), MAX_POLL_TIMEOUT)
        except (TypeError, ValueError):
            return 400, _err(400, "Bad Request: wrong parameter")
        deadline = time.monotonic() + timeout
        with self.arrived:
            # An offset confirms every update below it: Telegram forgets them.
            if offset < 0:
                self.updates = self.updates[offset:]
            elif offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and not self.closing:
                left = deadline - time.monotonic()
                if left <= 0 or not self.arrived.wait(left):
                    break
            return 200, {"ok": True, "result": self.updates[:limit]}

    def delete_webhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if _truthy(params.get("drop_pending_updates")):
            with self.lock:
                self.updates.clear()
        return 200, {"ok": True, "result": True, "description": "Webhook is already deleted"}

    def webhook_info(self) -> dict[str, Any]:
        with self.lock:
            pending = len(self.updates)
        info = {"url": "", "has_custom_certificate": False, "pending_update_count": pending}
        return {"ok": True, "result": info}

    def set_commands(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        raw = params.get("commands", [])
        try:
            commands = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return 400, _err(400, "Bad Request: can't parse commands JSON object")
        if not isinstance(commands, list):
            return 400, _err(400, 'Bad Request: field "commands" must be an Array')
        with self.lock:
            self.commands = commands
        return 200, {"ok": True, "result": True}

    def close(self) -> None:
        """Release waiting long polls (the server is going away)."""
        with self.arrived:
            self.closing = True
            self.arrived.notify_all()


def _truthy(v: Any) -> bool:
    return str(v).lower() in ("1", "true", "yes")


def _err(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


def make_handler(bot: Bot) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "nginx/1.18.0"  # what api.telegram.org answers with

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _params(self) -> dict[str, Any]:
            url = urlparse(self.path)
            params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                raw = self.rfile.read(length)
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    params.update(json.loads(raw or b"{}"))
                else:
                    params.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
            return params

        def _dispatch(self) -> None:
            path = urlparse(self.path).path
            if path.startswith("/_"):
                return self._test_endpoint(path)
            parts = path.strip("/").split("/")
            if len(parts) != 2 or not parts[0].startswith("bot"):
                return self._reply(404, _err(404, "Not Found"))
            token, method = parts[0][3:], parts[1]
            if token != bot.token:
                return self._reply(401, _err(401, "Unauthorized"))
            try:
                params = self._params()
            except ValueError:
                return self._reply(400, _err(400, "Bad Request: invalid JSON"))
            with bot.lock:
                bot.calls[method] += 1
            m = method.lower()
            if m == "getme":
                return self._reply(200, {"ok": True, "result": bot.me()})
            if m == "getupdates":
                return self._reply(*bot.get_updates(params))
            if m == "sendmessage":
                return self._reply(*bot.send_message(params))
            if m == "editmessagetext":
                return self._reply(*bot.edit_message_text(params))
            if m == "deletewebhook":
                return self._reply(*bot.delete_webhook(params))
            if m == "getwebhookinfo":
                return self._reply(200, bot.webhook_info())
            if m == "setmycommands":
                return self._reply(*bot.set_commands(params))
            if m == "deletemycommands":
                return self._reply(*bot.set_commands({"commands": []}))
            if m == "getmycommands":
                with bot.lock:
                    return self._reply(200, {"ok": True, "result": list(bot.commands)})
            if m == "answercallbackquery":
                return self._reply(200, {"ok": True, "result": True})
            return self._reply(404, _err(404, "Not Found: method not found"))

        def _test_endpoint(self, path: str) -> None:
            if path == "/_messages" and self.command == "GET":
                with bot.lock:
                    return self._reply(200, list(bot.messages))
            if path == "/_calls" and self.command == "GET":
                with bot.lock:
                    return self._reply(200, dict(bot.calls))
            if path == "/_inject" and self.command == "POST":
                try:
                    body = self._params()
                except ValueError:
                    return self._reply(400, _err(400, "Bad Request: invalid JSON"))
                return self._reply(*bot.inject(body))
            return self._reply(404, _err(404, "Not Found"))

        do_GET = _dispatch
        do_POST = _dispatch

    return Handler


class TelegramStandIn:
    """In-process server for tests: `with TelegramStandIn(token, {chat}) as tg: tg.url`."""

    def __init__(
        self,
        token: str,
        chats: set[int],
        host: str = "127.0.0.1",
        port: int = 0,
        record: Path | None = None,
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.bot = Bot(token=token, chats=chats, record=record)
        self.server = ThreadingHTTPServer((host, port), make_handler(self.bot))
        scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self.bot.lock:
            return list(self.bot.messages)

    def __enter__(self) -> TelegramStandIn:
        self._thread.start()
        return self

    def inject(self, text: str, chat_id: int | None = None) -> dict[str, Any]:
        """Queue a user's message for the bot; returns the Update."""
        body: dict[str, Any] = {"text": text}
        if chat_id is not None:
            body["chat_id"] = chat_id
        status, answer = self.bot.inject(body)
        if status != 200:
            raise ValueError(answer["description"])
        return answer["result"]

    @property
    def calls(self) -> dict[str, int]:
        with self.bot.lock:
            return dict(self.bot.calls)

    def __exit__(self, *exc: object) -> None:
        self.bot.close()
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8443)
    ap.add_argument("--token", default=os.environ.get("TELEGRAM_STANDIN_TOKEN"))
    ap.add_argument("--chat", type=int, action="append")
    ap.add_argument("--record", type=Path)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    if not args.token:
        ap.error("--token (or TELEGRAM_STANDIN_TOKEN) is required")
    if not args.chat:
        env_chats = os.environ.get("TELEGRAM_STANDIN_CHATS", "")
        try:
            args.chat = [int(c) for c in env_chats.split(",") if c.strip()]
        except ValueError:
            ap.error(f"TELEGRAM_STANDIN_CHATS must be integers: {env_chats!r}")
    if not args.chat:
        ap.error("--chat (or TELEGRAM_STANDIN_CHATS) is required")
    tls = (args.tls_cert, args.tls_key) if args.tls_cert and args.tls_key else None
    srv = TelegramStandIn(args.token, set(args.chat), args.host, args.port, args.record, tls)
    print(f"telegram stand-in on {srv.url}", flush=True)
    srv.server.serve_forever()


if __name__ == "__main__":
    main()
