"""Benchmark: requests/s and p99 latency for klines and for order placement, server on one core.

    python -m replay_exchange.bench --data files/data/binance [--seconds 5] [--repeats 3]

The server runs in a subprocess pinned to CPU 0; the load generator (aiohttp, 16 connections)
runs here, pinned to another CPU when there is one. Reports the median over the repeats.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from .testing import TEST_API_KEY, TEST_API_SECRET, TEST_KEYS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _signed(params: dict[str, str]) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    sig = hmac.new(TEST_API_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={sig}"


async def _load(
    make: Callable[[int], tuple[str, str, dict[str, str], str | None]],
    seconds: float,
    conns: int,
) -> tuple[float, float, int]:
    """Run `conns` workers for `seconds`; return (requests/s, p99 ms, errors)."""
    lat: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conns)) as http:

        async def worker(w: int) -> None:
            nonlocal errors
            i = w
            while time.perf_counter() < deadline:
                method, url, headers, body = make(i)
                t = time.perf_counter()
                async with http.request(method, url, headers=headers, data=body) as r:
                    await r.read()
                    if r.status != 200:
                        errors += 1
                lat.append(time.perf_counter() - t)
                i += conns

        start = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(conns)))
        elapsed = time.perf_counter() - start
    lat.sort()
    p99 = lat[int(len(lat) * 0.99) - 1] * 1000 if lat else float("nan")
    return len(lat) / elapsed, p99, errors


def run(data: Path, seconds: float, repeats: int, conns: int) -> dict[str, Any]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cpus = sorted(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        keys = Path(tmp) / "keys.json"
        keys.write_text(json.dumps(TEST_KEYS))
        cmd = [
            sys.executable,
            "-m",
            "replay_exchange",
            "--data",
            str(data),
            "--state",
            f"{tmp}/state.json",
            "--port",
            str(port),
            "--keys",
            str(keys),
            "--log-level",
            "WARNING",
            "--weight-limit",
            "100000000",
            "--order-limits",
            "100000000,100000000",
        ]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        proc = subprocess.Popen(cmd, env=env, preexec_fn=lambda: os.sched_setaffinity(0, {cpus[0]}))
        try:
            if len(cpus) > 1:
                os.sched_setaffinity(0, set(cpus[1:]))
            deadline = time.time() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{base}/fapi/v1/time", timeout=1).read()
                    break
                except OSError:
                    if time.time() > deadline or proc.poll() is not None:
                        raise RuntimeError("exchange did not start") from None
                    time.sleep(0.2)

            def klines(i: int) -> tuple[str, str, dict[str, str], str | None]:
                sym = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "ADAUSDT")[i % 5]
                url = f"{base}/fapi/v1/klines?symbol={sym}&interval=15m&limit=500"
                return "GET", url, {}, None

            def orders(i: int) -> tuple[str, str, dict[str, str], str | None]:
                body = _signed(
                    {
                        "symbol": "BTCUSDT",
                        "side": "BUY" if i % 2 else "SELL",
                        "type": "MARKET",
                        "quantity": "0.001",
                        "newOrderRespType": "RESULT",
                        "timestamp": str(int(time.time() * 1000)),
                        "recvWindow": "10000",
                    }
                )
                headers = {
                    "X-MBX-APIKEY": TEST_API_KEY,
                    "Content-Type": "application/x-www-form-urlencoded",
                }
                return "POST", f"{base}/fapi/v1/order", headers, body

            results: dict[str, Any] = {}
            for name, make in (("klines_15m_limit500", klines), ("order_market", orders)):
                runs = [asyncio.run(_load(make, seconds, conns)) for _ in range(repeats)]
                results[name] = {
                    "rps_median": round(statistics.median(r[0] for r in runs), 1),
                    "p99_ms_median": round(statistics.median(r[1] for r in runs), 2),
                    "errors": sum(r[2] for r in runs),
                    "runs": [[round(r[0], 1), round(r[1], 2)] for r in runs],
                }
            return results
        finally:
            proc.terminate()
            proc.wait(10)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="replay_exchange.bench", description=__doc__)
    p.add_argument("--data", default="files/data/binance")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--connections", type=int, default=16)
    args = p.parse_args(argv)
    res = run(Path(args.data), args.seconds, args.repeats, args.connections)
    res["setup"] = {
        "seconds": args.seconds,
        "repeats": args.repeats,
        "connections": args.connections,
        "server_cpus": 1,
    }
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
