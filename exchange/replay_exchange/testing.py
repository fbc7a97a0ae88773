"""Helpers for tests: run the exchange in a background thread, point ccxt/freqtrade at it."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from .core import Exchange
from .server import make_app

TEST_API_KEY = "replayTestKey0000000000000000000000000000000000000000000000000001"
TEST_API_SECRET = "replayTestSecret00000000000000000000000000000000000000000000001"
TEST_KEYS: dict[str, dict[str, Any]] = {
    TEST_API_KEY: {"secret": TEST_API_SECRET, "canWithdraw": False, "enableFutures": True},
}


def ccxt_config(base_url: str) -> dict[str, Any]:
    """The ccxt options (freqtrade: exchange.ccxt_config) that keep ccxt on this server."""
    base = base_url.rstrip("/")
    return {
        "urls": {
            "api": {
                "fapiPublic": f"{base}/fapi/v1",
                "fapiPublicV2": f"{base}/fapi/v2",
                "fapiPublicV3": f"{base}/fapi/v3",
                "fapiPrivate": f"{base}/fapi/v1",
                "fapiPrivateV2": f"{base}/fapi/v2",
                "fapiPrivateV3": f"{base}/fapi/v3",
                "fapiData": f"{base}/futures/data",
                "sapi": f"{base}/sapi/v1",
            }
        },
        "options": {
            "fetchMarkets": {"types": ["linear"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
        },
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_exchange(
    data_dir: Path | str,
    tmp_path: Path | str,
    port: int = 0,
    keys: dict[str, dict[str, Any]] | None = None,
    history_days: int | None = None,
    clock: Callable[[], int] | None = None,
) -> Iterator[str]:
    """Start the server on 127.0.0.1 in a daemon thread; yield its base URL; stop it.

    The state file lives in tmp_path, so a second call with the same tmp_path resumes it.
    The exchange object is reachable as `running_exchange.last` for white-box assertions."""
    port = port or _free_port()
    kwargs: dict[str, Any] = {"keys": TEST_KEYS if keys is None else keys, "clock": clock}
    if history_days is not None:
        kwargs["history_days"] = history_days
    ex = Exchange(data_dir, Path(tmp_path) / "exchange-state.json", **kwargs)
    running_exchange.last = ex  # type: ignore[attr-defined]  # function attribute, for tests
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(make_app(ex), access_log=None)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="replay-exchange", daemon=True)
    thread.start()
    if not started.wait(30):
        raise RuntimeError("replay exchange did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
