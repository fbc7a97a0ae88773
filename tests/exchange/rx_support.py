"""Helpers shared by the replay-exchange tests (a uniquely named module: every test folder
has a conftest.py, so `from conftest import ...` could pick up another folder's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from replay_exchange.testing import TEST_API_KEY, TEST_API_SECRET, ccxt_config

REPO = Path(__file__).resolve().parents[2]

DATA_DIR = REPO / "files" / "data" / "binance"


class FakeClock:
    """Settable wall clock (ms) for deterministic engine tests."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def make_ccxt(base_url: str, key: str | None = TEST_API_KEY, secret: str = TEST_API_SECRET) -> Any:
    import ccxt

    cfg = ccxt_config(base_url)
    params: dict[str, Any] = {**cfg, "options": {**cfg["options"], "defaultType": "future"}}
    if key:
        params.update(apiKey=key, secret=secret)
    return ccxt.binance(params)
