"""Shared fixtures for the Telegram stand-in tests: the stand-in module from
monitoring/tools on sys.path, and a throw-away CA with a server certificate."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "monitoring" / "tools"))

from tg_pki import Pki, make_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))
