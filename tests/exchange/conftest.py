"""Fixtures for the replay-exchange tests; helpers live in rx_support.py. exchange/ goes on
sys.path here, before any test module imports replay_exchange (CI does not install it)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The replay exchange, and the risk exporter whose reconciliation test_live_faults.py uses.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "exchange"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "monitoring" / "exporter"))

from replay_exchange.testing import running_exchange
from rx_support import DATA_DIR


@pytest.fixture(scope="module")
def exchange_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_exchange(DATA_DIR, tmp_path_factory.mktemp("rx")) as url:
        yield url
