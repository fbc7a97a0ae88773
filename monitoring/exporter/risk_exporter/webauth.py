"""HTTP basic auth in front of the exporter's /metrics, and the server that runs it.

prometheus_client's own server has no authentication, so its WSGI app is served here behind
a small wrapper: the same login as Prometheus, Alertmanager and node-exporter (their
--web.config.file), so no local user or process reads the trading figures without it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _digest(value: str) -> bytes:
    # Digests of equal length: compare_digest then takes the same time whatever the length
    # of what was sent, so timing reveals neither the password nor its length.
    return hashlib.sha256(value.encode("utf-8")).digest()


def credentials_match(header: str | None, username: str, password: str) -> bool:
    """Whether an Authorization header carries this login (RFC 7617 Basic)."""
    if not header:
        return False
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    user, sep, given = decoded.partition(":")
    if not sep:
        return False
    # Both compared every time (no short cut on a wrong user name).
    user_ok = hmac.compare_digest(_digest(user), _digest(username))
    password_ok = hmac.compare_digest(_digest(given), _digest(password))
    return user_ok & password_ok


def basic_auth(app: WSGIApp, username: str, password: str, realm: str = "risk-exporter") -> WSGIApp:
    """`app` for requests with the login; 401 with a Basic challenge for any other."""
    if not username or not password:
        raise ValueError("basic auth needs a user name and a password")

    def guarded(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if credentials_match(environ.get("HTTP_AUTHORIZATION"), username, password):
            return app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("WWW-Authenticate", f'Basic realm="{realm}", charset="UTF-8"'),
            ],
        )
        return [b"Unauthorized\n"]

    return guarded


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    # A slow client must not hold up Prometheus' scrape.
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log: every scrape would be a line in the journal."""


def serve(app: WSGIApp, address: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serve `app` on address:port from a daemon thread (IPv4 or IPv6, as the address is)."""
    family = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)[0][0]
    server_class = type("_Server", (_ThreadingServer,), {"address_family": family})
    httpd: WSGIServer = make_server(address, port, app, server_class, handler_class=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="http", daemon=True)
    thread.start()
    return httpd, thread
