"""A real reboot (vagrant reload): every service that ran comes back, and the bots' trade
databases keep their rows, an open dry-run position included."""

from __future__ import annotations

import time
from typing import Any

from conftest import BOTS, SLOW, bot_api, record, trade_rows, vm_tool, wait_for


def _running_services(host: Any) -> set[str]:
    out = host.check_output(
        "systemctl list-units --type=service --state=running --plain --no-legend"
    )
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def test_reboot_keeps_services_and_trades(host: Any) -> None:
    bot, port = "rossc", BOTS["rossc"]
    pair = bot_api(host, port, "whitelist", bot)["whitelist"][0]
    bot_api(host, port, "forceenter", bot, {"pair": pair, "side": "long"})
    trade = wait_for(
        f"{pair} open on {bot}",
        lambda: next((t for t in bot_api(host, port, "status", bot) if t["pair"] == pair), None),
        120 * SLOW,
    )
    before_rows = {b: trade_rows(host, b) for b in BOTS}
    assert any(row.startswith(f"{trade['trade_id']}|{pair}|1|") for row in before_rows[bot])
    before_services = _running_services(host)
    assert {f"freqtrade@{b}.service" for b in BOTS} <= before_services
    boot_before = host.check_output("cat /proc/sys/kernel/random/boot_id")

    t0 = time.monotonic()
    result = vm_tool("reload", timeout=900 * SLOW)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    # testinfra's ssh backend opens a new connection per command: no stale session.
    assert host.check_output("cat /proc/sys/kernel/random/boot_id") != boot_before
    state = wait_for(
        "systemctl is-system-running",
        lambda: host.run("systemctl is-system-running --wait").stdout.strip(),
        300 * SLOW,
    )
    assert state == "running", host.run("systemctl --failed --no-legend").stdout
    for b in BOTS:
        wait_for(f"{b} answers", lambda b=b: bot_api(host, BOTS[b], "ping", b), 180 * SLOW)
    record("reboot_seconds_until_bots_answer", round(time.monotonic() - t0))
    after_services = _running_services(host)
    assert before_services <= after_services, before_services - after_services
    record("reboot_running_services", len(after_services))

    after_rows = {b: trade_rows(host, b) for b in BOTS}
    assert after_rows == before_rows
    record("reboot_trade_rows_kept", {b: len(r) for b, r in after_rows.items()})
    status = bot_api(host, port, "status", bot)
    assert any(t["trade_id"] == trade["trade_id"] for t in status), status
    bot_api(host, port, "forceexit", bot, {"tradeid": str(trade["trade_id"])})
