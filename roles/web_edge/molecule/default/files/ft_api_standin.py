"""Stand-in for one freqtrade API server (test harness only, not part of the product).

Answers like freqtrade's REST API on 127.0.0.1: /api/v1/ping without auth, a token from
/api/v1/token/login for HTTP basic credentials (401 otherwise), /api/v1/show_config and
/api/v1/status for a bearer token or basic credentials, the message websocket handshake at
/api/v1/message/ws?token=..., and the web UI from freqtrade's package folder layout
(ui/installed/index.html, else ui/fallback_file.html), as freqtrade's web_ui router does.

Usage: ft_api_standin.py BOT_NAME PORT UI_DIR   (credentials from FT_API_USER/FT_API_PASSWORD)
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TOKENS: set[str] = set()


class Handler(BaseHTTPRequestHandler):
    bot = "bot"
    ui_dir = Path("/nonexistent")
    user = os.environ.get("FT_API_USER", "")
    password = os.environ.get("FT_API_PASSWORD", "")
    ws_token = os.environ.get("FT_API_WS_TOKEN", "")
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet journal
        return

    def send_json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def basic_ok(self) -> bool:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, self.user) and secrets.compare_digest(
            password, self.password
        )

    def authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        return self.basic_ok() or (auth.startswith("Bearer ") and auth[7:] in TOKENS)

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if path == "/api/v1/token/login":
            if not self.basic_ok():
                self.send_json(401, {"detail": "Unauthorized"})
                return
            token = secrets.token_urlsafe(24)
            TOKENS.add(token)
            self.send_json(200, {"access_token": token, "refresh_token": token})
            return
        self.send_json(404, {"detail": "Not Found"})

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        if path == "/api/v1/ping":
            self.send_json(200, {"status": "pong"})
        elif path == "/api/v1/message/ws":
            self.websocket(parse_qs(url.query).get("token", [""])[0])
        elif path.startswith("/api/"):
            if not self.authorized():
                self.send_json(401, {"detail": "Unauthorized"})
            elif path == "/api/v1/show_config":
                self.send_json(
                    200,
                    {
                        "bot_name": self.bot,
                        "state": "running",
                        "dry_run": True,
                        "trading_mode": "futures",
                        "margin_mode": "isolated",
                        "stake_currency": "USDT",
                    },
                )
            elif path == "/api/v1/status":
                self.send_json(200, [])
            else:
                self.send_json(404, {"detail": "Not Found"})
        else:
            self.ui(path)

    def ui(self, path: str) -> None:
        base = (self.ui_dir / "installed").resolve()
        target = (base / path.lstrip("/")).resolve()
        if not (target.is_file() and target.is_relative_to(base)):
            target = base / "index.html"
            if not target.is_file():
                target = self.ui_dir / "fallback_file.html"
        data = target.read_bytes()
        self.send_response(200)
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def websocket(self, token: str) -> None:
        key = self.headers.get("Sec-WebSocket-Key", "")
        upgrade = self.headers.get("Upgrade", "").lower() == "websocket"
        if not (upgrade and key and token and secrets.compare_digest(token, self.ws_token)):
            self.send_json(403, {"detail": "Forbidden"})
            return
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        payload = json.dumps({"type": "whitelist", "data": [self.bot]}).encode()
        self.wfile.write(bytes([0x81, len(payload)]) + payload)  # one short text frame
        self.wfile.write(bytes([0x88, 0]))  # close
        self.wfile.flush()
        self.close_connection = True


def main() -> None:
    Handler.bot, port, ui_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    Handler.ui_dir = Path(ui_dir)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
