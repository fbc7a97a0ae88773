"""Suite-wide rule of `make test`: its set-up installs every prerequisite a test here could
skip for (promtool, amtool, prometheus, alertmanager, vagrant, openssl, ../shared's data), so
there a skip means a broken set-up, not a missing extra. The Makefile's pytest target sets
FT_FAIL_ON_SKIP=1; run by hand, pytest still skips what this machine lacks."""

import os

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("FT_FAIL_ON_SKIP") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        reporter.write_line(
            f"FT_FAIL_ON_SKIP: {len(skipped)} test(s) skipped; under make test a skip means "
            "the set-up is broken (the reasons are in the summary above)",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
