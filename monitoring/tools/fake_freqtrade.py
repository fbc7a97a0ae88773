"""A fake freqtrade REST API serving recorded responses, for tests and the benchmark.

It answers the endpoints the risk exporter polls (/api/v1/show_config, status, balance,
profit, daily, health, logs, trades, ping) with the JSON recorded from a real dry-run bot
(tests/monitoring/fixtures/dryrun), behind HTTP basic auth like freqtrade. Tests mutate it:
move prices, add positions, append log records, or make it fail.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "tests/monitoring/fixtures/dryrun"
ENDPOINTS = ("show_config", "status", "balance", "profit", "daily", "health", "logs", "trades")


def load_fixtures(path: Path) -> dict[str, Any]:
    return {name: json.loads((path / f"{name}.json").read_text()) for name in ENDPOINTS}


def synth_positions(template: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """n open positions cloned from a recorded one (pairs P0..Pn-1, alternating sides)."""
    out = []
    for i in range(n):
        t = copy.deepcopy(template)
        t["trade_id"] = 1000 + i
        t["pair"] = f"P{i}/USDT:USDT"
        t["base_currency"] = f"P{i}"
        t["is_short"] = bool(i % 2)
        out.append(t)
    return out


class FakeFreqtrade:
    def __init__(
        self,
        fixtures: Path = DEFAULT_FIXTURES,
        username: str = "monitor",
        password: str = "monitor-pw",
        host: str = "127.0.0.1",
        port: int = 0,
        n_positions: int | None = None,
    ) -> None:
        self.data = load_fixtures(fixtures)
        if n_positions is not None:
            self.data["status"] = synth_positions(self.data["status"][0], n_positions)
        self.auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.lock = threading.Lock()
        self.failing: int | None = None  # HTTP status to answer with, None = healthy
        self.delay = 0.0
        # A running bot's loop reports in every few seconds: /health says "now" unless frozen.
        self.fresh_health = True
        self.calls: dict[str, int] = {}
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- mutation helpers for tests -------------------------------------------------------
    def set(self, endpoint: str, value: Any) -> None:
        with self.lock:
            self.data[endpoint] = value

    def update_position(self, pair: str, **fields: Any) -> None:
        with self.lock:
            for t in self.data["status"]:
                if t["pair"] == pair:
                    t.update(fields)

    def add_log(self, level: str, name: str, message: str) -> None:
        now = time.time()
        rec = [
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)),
            now * 1000,
            name,
            level,
            message,
        ]
        with self.lock:
            self.data["logs"]["logs"].append(rec)
            self.data["logs"]["log_count"] = len(self.data["logs"]["logs"])

    # -- server ---------------------------------------------------------------------------
    def _answer(self, endpoint: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        with self.lock:
            self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
            if self.failing is not None:
                return self.failing, {"detail": "fake failure"}
            if endpoint == "ping":
                return 200, {"status": "pong"}
            if endpoint not in self.data:
                return 404, {"detail": "Not Found"}
            body = copy.deepcopy(self.data[endpoint])
        if endpoint == "trades":
            offset = int(query.get("offset", ["0"])[0])
            limit = int(query.get("limit", ["500"])[0])
            trades = body["trades"][offset : offset + limit]
            body.update(trades=trades, trades_count=len(trades), offset=offset)
        elif endpoint == "health" and self.fresh_health:
            now = time.time()
            body.update(
                last_process_ts=int(now),
                last_process=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            )
        elif endpoint == "logs" and "limit" in query:
            body["logs"] = body["logs"][-int(query["limit"][0]) :]
            body["log_count"] = len(body["logs"])
        return 200, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                # FtRestClient sends a body ("null") even with GET. Unread, it makes the
                # close after the answer a TCP reset, which can cut a large answer short.
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if fake.delay:
                    time.sleep(fake.delay)
                url = urlparse(self.path)
                if self.headers.get("Authorization") != fake.auth:
                    status, body = 401, {"detail": "Unauthorized"}
                elif not url.path.startswith("/api/v1/"):
                    status, body = 404, {"detail": "Not Found"}
                else:
                    status, body = fake._answer(url.path[len("/api/v1/") :], parse_qs(url.query))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def start(self) -> FakeFreqtrade:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeFreqtrade:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    ap.add_argument("--positions", type=int)
    args = ap.parse_args()
    fake = FakeFreqtrade(args.fixtures, port=args.port, n_positions=args.positions)
    print(f"fake freqtrade on {fake.url}", flush=True)
    fake.server.serve_forever()


if __name__ == "__main__":
    main()
