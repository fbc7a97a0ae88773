"""Shared fixtures for the replay-exchange tests (exchange/ goes on sys.path: CI does not
pip-install the package)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "exchange"))

from replay_exchange.testing import (  # noqa: E402
    TEST_API_KEY,
    TEST_API_SECRET,
    ccxt_config,
    running_exchange,
)

DATA_DIR = REPO / "files" / "data" / "binance"


class FakeClock:
    """Settable wall clock (ms) for deterministic engine tests."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


@pytest.fixture(scope="module")
def exchange_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_exchange(DATA_DIR, tmp_path_factory.mktemp("rx")) as url:
        yield url


def make_ccxt(base_url: str, key: str | None = TEST_API_KEY, secret: str = TEST_API_SECRET) -> Any:
    import ccxt

    cfg = ccxt_config(base_url)
    params: dict[str, Any] = {**cfg, "options": {**cfg["options"], "defaultType": "future"}}
    if key:
        params.update(apiKey=key, secret=secret)
    return ccxt.binance(params)
