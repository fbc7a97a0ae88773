"""Static types: mypy, strict, over what pyproject.toml's [tool.mypy] lists (the risk
exporter, the strategies and their helper modules, the local exchange, tools/*.py). Here in
pytest, off CI's critical path, rather than in lint; `make typecheck` runs the same check."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_strict_is_clean() -> None:
    # From the root: the configuration's files and mypy_path are relative to it.
    run = subprocess.run(
        [sys.executable, "-m", "mypy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, f"mypy found errors:\n{run.stdout}{run.stderr}"
