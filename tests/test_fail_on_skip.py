"""The suite-wide rule of tests/conftest.py: under make test a skipped test fails the run."""

import os
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")


def _run(tmp_path: Path, fail_on_skip: bool) -> subprocess.CompletedProcess:
    """A throw-away suite in tmp_path, run in its own pytest: its one skipping test is the
    probe of the rule, never collected by this suite (which itself skips nothing)."""
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "test_one.py").write_text(
        "import pytest\n\ndef test_ok():\n    pass\n\n"
        "def test_missing_tool():\n    pytest.skip('tool not installed')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FT_FAIL_ON_SKIP"}
    if fail_on_skip:
        env["FT_FAIL_ON_SKIP"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_one.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_skip_fails_the_run_under_make_test(tmp_path: Path) -> None:
    run = _run(tmp_path, fail_on_skip=True)
    assert run.returncode == 1, run.stdout
    assert "FT_FAIL_ON_SKIP: 1 test(s) skipped" in run.stdout


def test_a_skip_is_a_skip_by_hand(tmp_path: Path) -> None:
    run = _run(tmp_path, fail_on_skip=False)
    assert run.returncode == 0, run.stdout
    assert "1 passed, 1 skipped" in run.stdout
