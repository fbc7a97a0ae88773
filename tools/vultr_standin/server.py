"""HTTP front of the stand-in: Vultr API v2 paths under /v2, Bearer-token auth, JSON.

Only the endpoints the vultr.cloud modules used by vultr.yml call are served; anything else
answers 404 like an unknown path on the real API. Each request is logged (method, path,
status) as one JSON line, so tests can prove that a --check run never wrote anything.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .store import Body, Reply, Store, error

Handler = Callable[[Store, list[str], Body], Reply]
ID = r"([A-Za-z0-9-]+)"


def _routes() -> list[tuple[str, re.Pattern[str], Handler]]:
    table: list[tuple[str, str, Handler]] = [
        ("GET", "/regions", lambda s, a, b: s.list_regions()),
        ("GET", "/plans", lambda s, a, b: s.list_plans()),
        ("GET", "/os", lambda s, a, b: s.list_os()),
        ("GET", "/ssh-keys", lambda s, a, b: s.list_ssh_keys()),
        ("POST", "/ssh-keys", lambda s, a, b: s.create_ssh_key(b)),
        ("GET", f"/ssh-keys/{ID}", lambda s, a, b: s.get_ssh_key(a[0])),
        ("PATCH", f"/ssh-keys/{ID}", lambda s, a, b: s.update_ssh_key(a[0], b)),
        ("DELETE", f"/ssh-keys/{ID}", lambda s, a, b: s.delete_ssh_key(a[0])),
        ("GET", "/firewalls", lambda s, a, b: s.list_firewalls()),
        ("POST", "/firewalls", lambda s, a, b: s.create_firewall(b)),
        ("GET", f"/firewalls/{ID}", lambda s, a, b: s.get_firewall(a[0])),
        ("PUT", f"/firewalls/{ID}", lambda s, a, b: s.update_firewall(a[0], b)),
        ("DELETE", f"/firewalls/{ID}", lambda s, a, b: s.delete_firewall(a[0])),
        ("GET", f"/firewalls/{ID}/rules", lambda s, a, b: s.list_rules(a[0])),
        ("POST", f"/firewalls/{ID}/rules", lambda s, a, b: s.create_rule(a[0], b)),
        ("GET", f"/firewalls/{ID}/rules/{ID}", lambda s, a, b: s.get_rule(a[0], a[1])),
        ("DELETE", f"/firewalls/{ID}/rules/{ID}", lambda s, a, b: s.delete_rule(a[0], a[1])),
        ("GET", "/instances", lambda s, a, b: s.list_instances()),
        ("POST", "/instances", lambda s, a, b: s.create_instance(b)),
        ("GET", f"/instances/{ID}", lambda s, a, b: s.get_instance(a[0])),
        ("PATCH", f"/instances/{ID}", lambda s, a, b: s.update_instance(a[0], b)),
        ("DELETE", f"/instances/{ID}", lambda s, a, b: s.delete_instance(a[0])),
        ("GET", f"/instances/{ID}/vpcs", lambda s, a, b: s.instance_vpcs(a[0])),
        ("GET", f"/instances/{ID}/user-data", lambda s, a, b: s.instance_user_data(a[0])),
    ]
    return [(method, re.compile(f"/v2{path}"), fn) for method, path, fn in table]


ROUTES = _routes()


def dispatch(store: Store, method: str, path: str, body: Body) -> Reply:
    known_path = False
    for route_method, pattern, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        known_path = True
        if route_method == method:
            with store.lock:
                return handler(store, list(match.groups()), body)
    if known_path:
        return error(405, "Method not allowed.")
    return error(404, "Not found.")


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: Store, api_key: str, log: Path | None):
        super().__init__(address, RequestHandler)
        self.store = store
        self.api_key = api_key
        self.log_path = log
        self.log_lock = threading.Lock()

    def record(self, method: str, path: str, status: int) -> None:
        if self.log_path is None:
            return
        line = json.dumps({"method": method, "path": path, "status": status})
        with self.log_lock, self.log_path.open("a") as log:
            log.write(line + "\n")


class RequestHandler(BaseHTTPRequestHandler):
    server: StandinServer
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        status, payload = self._answer(path)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.server.record(self.command, path, status)

    def _answer(self, path: str) -> Reply:
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not secrets.compare_digest(token.encode(), self.server.api_key.encode()):
            return error(401, "Invalid API token.")
        body: Any = {}
        if raw:
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                return error(400, "Invalid JSON.")
        if not isinstance(body, dict):
            return error(400, "Invalid JSON.")
        return dispatch(self.server.store, self.command, path, body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Requests go to the JSON log instead of stderr."""
