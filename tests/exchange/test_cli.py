"""The command line (`python -m replay_exchange`) as other components run it, and which
endpoints ccxt's load_markets touches with the documented config."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from replay_exchange.testing import TEST_KEYS
from rx_support import DATA_DIR, REPO, make_ccxt


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def cli(state: Path, keys: Path) -> Iterator[str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "replay_exchange",
        "--data",
        str(DATA_DIR),
        "--state",
        str(state),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--keys",
        str(keys),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO / "exchange")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/fapi/v1/time", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "exchange did not start"
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def test_cli_keeps_anchor_and_positions_across_restart(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(TEST_KEYS))
    state = tmp_path / "state.json"
    with cli(state, keys) as base:
        api = make_ccxt(base)
        api.load_markets()
        api.create_order("ETH/USDT:USDT", "market", "buy", 0.01)
        anchor = requests.get(f"{base}/_control/state", timeout=5).json()["anchor"]
        before = api.fetch_ohlcv("ETH/USDT:USDT", "1h", limit=5)[:-1]
    with cli(state, keys) as base:
        api = make_ccxt(base)
        api.load_markets()
        assert requests.get(f"{base}/_control/state", timeout=5).json()["anchor"] == anchor
        assert api.fetch_positions(["ETH/USDT:USDT"])[0]["contracts"] == 0.01
        after = api.fetch_ohlcv("ETH/USDT:USDT", "1h", since=before[0][0], limit=4)
        assert after == before  # no jump: the same closed candles at the same times


def test_load_markets_only_calls_futures_exchange_info(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(TEST_KEYS))
    with cli(tmp_path / "state.json", keys) as base:
        make_ccxt(base, key=None).load_markets()
        counts = requests.get(f"{base}/_control/state", timeout=5).json()["requests"]
        counts.pop("GET /fapi/v1/time")  # the start-up probe above
        assert counts == {"GET /fapi/v1/exchangeInfo": 1}
