"""Fixtures for the replay-exchange tests; helpers live in rx_support.py. The exchange and
the risk exporter (whose reconciliation test_live_faults.py uses) are installed editable in
the dev venv (`make venv`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from replay_exchange.testing import running_exchange
from rx_support import DATA_DIR


@pytest.fixture(scope="module")
def exchange_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_exchange(DATA_DIR, tmp_path_factory.mktemp("rx")) as url:
        yield url
