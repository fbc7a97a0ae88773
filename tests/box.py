"""Helpers for tests that act on a converged server, shared by the whole-site scenario
(tests/molecule/site) and the VM stage (tests/vm); pytest puts tests/ on the import path
(tests/conftest.py's folder)."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from typing import Any


def wait_for(
    what: str,
    probe: Callable[[], Any],
    seconds: float = 120,
    step: float = 2.0,
    ignore: tuple[type[BaseException], ...] = (),
) -> Any:
    """Poll ``probe`` every ``step`` s until it returns something truthy (an exception of a
    type in ``ignore`` counts as not yet); fail naming ``what``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            found = probe()
        except ignore:
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(step)


def bot_api(host: Any, port: int, path: str, body: dict[str, Any] | None = None, **kw: Any) -> Any:
    """Call a bot's REST API on the box, answer as JSON (HTTP 200 required).

    The password is read from the bot's root-only env file on the box and handed to curl
    in a config on stdin: it never stands on a command line, so neither `ps` nor the
    journal (Ansible logs each module call's arguments there) sees it. kw: env_file
    (default /etc/freqtrade/<bot>.env with bot), bot, user (default trader).
    """
    env_file = kw.get("env_file") or f"/etc/freqtrade/{kw['bot']}.env"
    user = kw.get("user", "trader")
    data = f" -H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}"
    script = (
        f"set -a; . {env_file}; "
        f'printf \'user = "%s:%s"\\n\' {shlex.quote(user)} "$FREQTRADE__API_SERVER__PASSWORD"'
        f" | curl -sS --max-time 30 -K - -w '\\n%{{http_code}}'"
        f"{data if body is not None else ''} http://127.0.0.1:{port}/api/v1/{path}"
    )
    with host.sudo():
        out = host.check_output(f"sh -c {shlex.quote(script)}")
    answer, _, status = out.rpartition("\n")
    assert status == "200", f"{path}: HTTP {status}: {answer}"
    return json.loads(answer)
