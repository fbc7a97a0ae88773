"""Shared fixtures for the risk monitor tests (exporter, rules, Alertmanager, analytics)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dryrun"
sys.path[:0] = [str(MONITORING / "exporter"), str(MONITORING / "tools")]


def need_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (Debian package: see docs/monitoring.md)")
    return path


@pytest.fixture
def recorded() -> dict[str, object]:
    return {p.stem: json.loads(p.read_text()) for p in FIXTURES.glob("*.json")}
