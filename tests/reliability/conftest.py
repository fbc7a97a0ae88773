"""Reliability and security tests against a converged server (a systemd container).

They need that server, so they run only when FT_RELIABILITY_CONTAINER names it:
`make reliability` converges `ft-reliability` and sets it; a plain `pytest` of the
repository leaves this folder out instead of failing on a missing container.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import rel_stack as stack


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if os.environ.get("FT_RELIABILITY_CONTAINER"):
        return None
    return collection_path.name.startswith("test_")


@pytest.fixture(scope="session", autouse=True)
def server_up() -> None:
    state = stack.run(
        ["docker", "container", "inspect", "-f", "{{.State.Running}}", stack.CONTAINER],
        check=False,
    )
    assert state.stdout.strip() == "true", f"container {stack.CONTAINER} is not running"
    for bot in stack.BOTS:
        waited = stack.wait_for(lambda b=bot: stack.healthy(b), 240, 3)
        assert waited is not None, f"freqtrade@{bot} is not healthy before the test"


@pytest.fixture()
def no_faults() -> Iterator[None]:
    """Every exchange fault off before and after the test, whatever happens in it."""
    stack.exchange_fault(None)
    yield
    stack.exchange_fault(None)
