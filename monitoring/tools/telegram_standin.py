"""Local stand-in for the Telegram Bot API (api.telegram.org is unreachable from CI).

Implements what senders and bots use: POST/GET /bot<token>/sendMessage, editMessageText,
getMe, getUpdates (long polling with offset, limit and timeout), deleteWebhook,
getWebhookInfo, setMyCommands, getMyCommands, deleteMyCommands, answerCallbackQuery, with
Telegram's response envelope ({"ok": true, "result": ...} or {"ok": false, "error_code",
"description"}) and its common refusals: wrong token (401), unknown chat (400 "chat not
found"), empty or over-long text, and HTML that Telegram would reject ("can't parse
entities"). Every accepted message is recorded.

Several tokens, one bot each (own update queue, call counts and id: the number before the
token's colon, as Telegram's bot ids are). Like Telegram, one getUpdates per token at a
time: a getUpdates arriving while another one for the same token is still pending ends the
older one with 409 "Conflict: terminated by other getUpdates request; ..." (recorded per
bot). A pending poll whose client has gone away is dropped without a conflict.

Test endpoints (no token; bind the stand-in to loopback):
    GET  /_messages   messages the bots sent, oldest first, each with the sender's bot_id
    POST /_inject     {"text": "/status", "chat_id": 42, "from_id": 42, "bot_id": 1000000002}:
                      a user's message to that bot (default: the first token's), queued as
                      a Telegram Update for its getUpdates (chat_id defaults to the first
                      allowed chat, from_id to chat_id)
    GET  /_calls      how often each Bot API method was called, e.g. {"getUpdates": 3};
                      ?bot_id=N: that bot's calls only
    GET  /_bots       per bot: id, username, calls, conflicts (409s answered), polling

    python monitoring/tools/telegram_standin.py --port 8443 --token 123:ABC [--token 124:DEF] \
        --chat 42 [--record messages.jsonl] [--tls-cert cert.pem --tls-key key.pem]

--token and --chat may instead come from the environment (TELEGRAM_STANDIN_TOKEN="123:ABC,
124:DEF", TELEGRAM_STANDIN_CHATS="42,43"), so that a service keeps them out of its command
line. The record never holds a token, only the bot id.
"""

from __future__ import annotations

import argparse
import html.parser
import json
import os
import re
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

MAX_TEXT = 4096
MAX_POLL_TIMEOUT = 50  # seconds a getUpdates long poll may wait, as Telegram allows
# What Telegram answers the older of two overlapping getUpdates for one token.
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
FIRST_BOT_ID = 7000000001  # for tokens without a numeric bot id before the colon
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


def bot_id_of(token: str, index: int) -> int:
    """Telegram's bot id is the number before the token's colon; other tokens get one."""
    head = token.split(":", 1)[0]
    return (
        int(head) if re.fullmatch(r"[0-9]{1,15}", head) and ":" in token else FIRST_BOT_ID + index
    )


@dataclass
class Bot:
    """What Telegram keeps per bot token: identity, pending updates, the current poll."""

    token: str
    bot_id: int
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1
    calls: Counter[str] = field(default_factory=Counter)
    commands: list[dict[str, Any]] = field(default_factory=list)
    # Each getUpdates takes the next number; a waiting poll whose number is no longer the
    # latest has been overtaken by another request for the same token.
    poll_seq: int = 0
    polling: int = 0
    conflicts: int = 0

    @property
    def username(self) -> str:
        return f"standin_{self.bot_id}_bot"

    def me(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": f"Stand-in {self.bot_id}",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "username": self.username,
            "calls": dict(self.calls),
            "conflicts": self.conflicts,
            "polling": self.polling > 0,
        }


def _always_alive() -> bool:
    return True


class Hub:
    """The stand-in's state: one Bot per token; chats, messages and message ids shared (one
    sequence, so that tests can order what all bots sent)."""

    def __init__(self, tokens: Iterable[str], chats: set[int], record: Path | None = None) -> None:
        unique = list(dict.fromkeys(t for t in tokens if t))
        if not unique:
            raise ValueError("at least one token is required")
        self.bots = {t: Bot(token=t, bot_id=bot_id_of(t, i)) for i, t in enumerate(unique)}
        self.chats = chats
        self.record = record
        self.messages: list[dict[str, Any]] = []
        self.next_id = 1
        self.closing = False
        self.lock = threading.Lock()
        # Long polls wait on this; it shares the lock that guards everything above.
        self.arrived = threading.Condition(self.lock)

    def bot(self, token: str) -> Bot | None:
        return self.bots.get(token)

    def by_id(self, bot_id: int | None) -> Bot | None:
        if bot_id is None:
            return next(iter(self.bots.values()))
        return next((b for b in self.bots.values() if b.bot_id == bot_id), None)

    def calls(self, bot_id: int | None = None) -> dict[str, int]:
        with self.lock:
            if bot_id is not None:
                bot = self.by_id(bot_id)
                return dict(bot.calls) if bot else {}
            total: Counter[str] = Counter()
            for b in self.bots.values():
                total.update(b.calls)
            return dict(total)

    def send_message(self, bot: Bot, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
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
                    for k, v in bot.me().items()
                    if k in ("id", "is_bot", "first_name", "username")
                },
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "date": int(time.time()),
                "text": visible,
            }
            if entities:
                msg["entities"] = entities
            self.next_id += 1
            # The sender is recorded by its bot id: the record never holds a token.
            entry = {
                "bot_id": bot.bot_id,
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

    def edit_message_text(self, bot: Bot, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
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
                if (
                    entry["bot_id"] == bot.bot_id
                    and msg["chat"]["id"] == chat_id
                    and msg["message_id"] == message_id
                ):
                    if msg["text"] == visible:
                        return 400, _err(400, "Bad Request: message is not modified")
                    msg["text"], msg["edit_date"] = visible, int(time.time())
                    entry["sent_text"] = text
                    return 200, {"ok": True, "result": msg}
        return 400, _err(400, "Bad Request: message to edit not found")

    def inject(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Queue a user's message to a bot as an Update, the way Telegram delivers it."""
        text = str(body.get("text") or "")
        if not text.strip():
            return 400, _err(400, "Bad Request: message text is empty")
        try:
            chat_id = int(body.get("chat_id", min(self.chats)))
            from_id = int(body.get("from_id", chat_id))
            bot_id = int(body["bot_id"]) if body.get("bot_id") is not None else None
        except (TypeError, ValueError):
            return 400, _err(400, "Bad Request: chat_id, from_id and bot_id must be integers")
        bot = self.by_id(bot_id)
        if bot is None:
            return 400, _err(400, f"Bad Request: no bot with id {bot_id}")
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
            update = {"update_id": bot.next_update_id, "message": message}
            bot.next_update_id += 1
            bot.updates.append(update)
            self.arrived.notify_all()
        return 200, {"ok": True, "result": update}

    def get_updates(
        self, bot: Bot, params: dict[str, Any], alive: Callable[[], bool] = _always_alive
    ) -> tuple[int, dict[str, Any]] | None:
        """Updates for the bot, or None when the client went away while waiting."""
        try:
            offset = int(params.get("offset") or 0)
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            timeout = min(max(float(params.get("timeout") or 0), 0.0), MAX_POLL_TIMEOUT)
        except (TypeError, ValueError):
            return 400, _err(400, "Bad Request: wrong parameter")
        deadline = time.monotonic() + timeout
        with self.arrived:
            bot.poll_seq += 1
            mine = bot.poll_seq
            # Wake an older poll of this token: it finds itself overtaken and ends with 409.
            self.arrived.notify_all()
            # An offset confirms every update below it: Telegram forgets them.
            if offset < 0:
                bot.updates = bot.updates[offset:]
            elif offset:
                bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
            bot.polling += 1
            try:
                while True:
                    if bot.poll_seq != mine:
                        if not alive():
                            return None
                        bot.conflicts += 1
                        return 409, _err(409, CONFLICT)
                    left = deadline - time.monotonic()
                    if bot.updates or self.closing or left <= 0:
                        return 200, {"ok": True, "result": bot.updates[:limit]}
                    # Wake at least once a second to notice a client that has gone away:
                    # its poll then ends quietly and no later poll conflicts with it.
                    if not self.arrived.wait(min(left, 1.0)) and not alive():
                        return None
            finally:
                bot.polling -= 1

    def delete_webhook(self, bot: Bot, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if _truthy(params.get("drop_pending_updates")):
            with self.lock:
                bot.updates.clear()
        return 200, {"ok": True, "result": True, "description": "Webhook is already deleted"}

    def webhook_info(self, bot: Bot) -> dict[str, Any]:
        with self.lock:
            pending = len(bot.updates)
        info = {"url": "", "has_custom_certificate": False, "pending_update_count": pending}
        return {"ok": True, "result": info}

    def set_commands(self, bot: Bot, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        raw = params.get("commands", [])
        try:
            commands = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return 400, _err(400, "Bad Request: can't parse commands JSON object")
        if not isinstance(commands, list):
            return 400, _err(400, 'Bad Request: field "commands" must be an Array')
        with self.lock:
            bot.commands = commands
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


def make_handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
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

        def _client_alive(self) -> bool:
            # A client waiting for its answer sends nothing: readable means it closed (EOF,
            # or TLS close_notify). Peek on the raw socket, below TLS, without consuming.
            try:
                socket.socket.recv(self.connection, 1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                return True
            except (OSError, ValueError):
                return False
            return False

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
            bot = hub.bot(token)
            if bot is None:
                return self._reply(401, _err(401, "Unauthorized"))
            try:
                params = self._params()
            except ValueError:
                return self._reply(400, _err(400, "Bad Request: invalid JSON"))
            with hub.lock:
                bot.calls[method] += 1
            m = method.lower()
            if m == "getme":
                return self._reply(200, {"ok": True, "result": bot.me()})
            if m == "getupdates":
                answer = hub.get_updates(bot, params, self._client_alive)
                if answer is None:  # nobody is listening any more
                    self.close_connection = True
                    return None
                return self._reply(*answer)
            if m == "sendmessage":
                return self._reply(*hub.send_message(bot, params))
            if m == "editmessagetext":
                return self._reply(*hub.edit_message_text(bot, params))
            if m == "deletewebhook":
                return self._reply(*hub.delete_webhook(bot, params))
            if m == "getwebhookinfo":
                return self._reply(200, hub.webhook_info(bot))
            if m == "setmycommands":
                return self._reply(*hub.set_commands(bot, params))
            if m == "deletemycommands":
                return self._reply(*hub.set_commands(bot, {"commands": []}))
            if m == "getmycommands":
                with hub.lock:
                    return self._reply(200, {"ok": True, "result": list(bot.commands)})
            if m == "answercallbackquery":
                return self._reply(200, {"ok": True, "result": True})
            return self._reply(404, _err(404, "Not Found: method not found"))

        def _test_endpoint(self, path: str) -> None:
            if path == "/_messages" and self.command == "GET":
                with hub.lock:
                    return self._reply(200, list(hub.messages))
            if path == "/_calls" and self.command == "GET":
                wanted = parse_qs(urlparse(self.path).query).get("bot_id")
                try:
                    bot_id = int(wanted[-1]) if wanted else None
                except ValueError:
                    return self._reply(400, _err(400, "Bad Request: bot_id must be an integer"))
                return self._reply(200, hub.calls(bot_id))
            if path == "/_bots" and self.command == "GET":
                with hub.lock:
                    return self._reply(200, [b.summary() for b in hub.bots.values()])
            if path == "/_inject" and self.command == "POST":
                try:
                    body = self._params()
                except ValueError:
                    return self._reply(400, _err(400, "Bad Request: invalid JSON"))
                return self._reply(*hub.inject(body))
            return self._reply(404, _err(404, "Not Found"))

        do_GET = _dispatch
        do_POST = _dispatch

    return Handler


class TelegramStandIn:
    """In-process server for tests: `with TelegramStandIn(token, {chat}) as tg: tg.url`.
    `token` may be a list: one bot per token."""

    def __init__(
        self,
        token: str | Iterable[str],
        chats: set[int],
        host: str = "127.0.0.1",
        port: int = 0,
        record: Path | None = None,
        tls: tuple[str, str] | None = None,
    ) -> None:
        tokens = [token] if isinstance(token, str) else list(token)
        self.hub = Hub(tokens, chats, record)
        self.server = ThreadingHTTPServer((host, port), make_handler(self.hub))
        self.server.daemon_threads = True
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
        with self.hub.lock:
            return list(self.hub.messages)

    def __enter__(self) -> TelegramStandIn:
        self._thread.start()
        return self

    def inject(
        self, text: str, chat_id: int | None = None, bot_id: int | None = None
    ) -> dict[str, Any]:
        """Queue a user's message for a bot (default: the first); returns the Update."""
        body: dict[str, Any] = {"text": text}
        if chat_id is not None:
            body["chat_id"] = chat_id
        if bot_id is not None:
            body["bot_id"] = bot_id
        status, answer = self.hub.inject(body)
        if status != 200:
            raise ValueError(answer["description"])
        return answer["result"]

    @property
    def calls(self) -> dict[str, int]:
        """Calls per method, all bots together."""
        return self.hub.calls()

    @property
    def bots(self) -> list[dict[str, Any]]:
        """Per bot: id, username, calls, conflicts (409s answered), polling."""
        with self.hub.lock:
            return [b.summary() for b in self.hub.bots.values()]

    def __exit__(self, *exc: object) -> None:
        self.hub.close()
        self.server.shutdown()
        self.server.server_close()


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8443)
    ap.add_argument("--token", action="append", help="a bot token; repeat for several bots")
    ap.add_argument("--chat", type=int, action="append")
    ap.add_argument("--record", type=Path)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    tokens = args.token or _split(os.environ.get("TELEGRAM_STANDIN_TOKEN"))
    if not tokens:
        ap.error("--token (or TELEGRAM_STANDIN_TOKEN) is required")
    if not args.chat:
        env_chats = os.environ.get("TELEGRAM_STANDIN_CHATS", "")
        try:
            args.chat = [int(c) for c in _split(env_chats)]
        except ValueError:
            ap.error(f"TELEGRAM_STANDIN_CHATS must be integers: {env_chats!r}")
    if not args.chat:
        ap.error("--chat (or TELEGRAM_STANDIN_CHATS) is required")
    tls = (args.tls_cert, args.tls_key) if args.tls_cert and args.tls_key else None
    srv = TelegramStandIn(tokens, set(args.chat), args.host, args.port, args.record, tls)
    print(f"telegram stand-in on {srv.url}", flush=True)
    srv.server.serve_forever()


if __name__ == "__main__":
    main()
