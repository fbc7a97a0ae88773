"""Fixtures for the risk monitor tests; importing mon_paths puts monitoring/tools on sys.path
for every test module here (the exporter package is installed editable, `make venv`)."""

from __future__ import annotations

import json

import pytest
from mon_paths import FIXTURES


@pytest.fixture
def recorded() -> dict[str, object]:
    return {p.stem: json.loads(p.read_text()) for p in FIXTURES.glob("*.json")}
