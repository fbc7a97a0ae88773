"""Paths and helpers shared by the monitoring tests. Not in conftest.py: other test folders
have their own conftest module, and `from conftest import` would pick whichever came first."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dryrun"
for _p in (MONITORING / "tools",):  # the exporter is installed editable (make venv)
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))


def need_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (Debian package: see docs/monitoring.md)")
    return path
