"""Live trading on a container host is refused before anything changes, unless the
operator accepts it with freqtrade_live_allow_container. The scenario's instances are real
containers, as an LXC or OpenVZ VPS would be. Only the checks run (``--tags`` that no role
task carries, so only the ``always`` tasks: validation and the host check), in check mode:
the converged dry-run host is not touched. Bookworm instance only."""

from __future__ import annotations

import json
import os
import re
import subprocess

from conftest import playbook

INSTANCE = f"{os.environ.get('MOLECULE_INSTANCE', 'molecule')}-bookworm"
testinfra_hosts = [f"ansible://{INSTANCE}"]

# Live mode as a real server has it: no stand-ins (validation refuses them in live mode),
# each bot confirmed for it.
LIVE = (
    "-e", "freqtrade_mode=live",
    "-e", "replay_exchange_enabled=false",
    "-e", "telegram_standin_enabled=false",
    "-e", '{"freqtrade_live_confirmed_bots": ["rossc", "airisk"]}',
)  # fmt: skip


def checks_only(*args: str) -> subprocess.CompletedProcess:
    return playbook("site.yml", INSTANCE, "--check", "--tags", "no_role_task", *LIVE, *args)


def recap(result: subprocess.CompletedProcess) -> dict[str, int]:
    line = re.search(rf"^{re.escape(INSTANCE)}\s*:\s*(ok=.*)$", result.stdout, re.M)
    assert line, result.stdout[-3000:] + result.stderr[-2000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line.group(1))}


def test_live_mode_in_a_container_is_refused():
    run = checks_only()
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    assert "Refuse live trading in a container unless accepted" in out, out[-3000:]
    assert "this host is a container (docker)" in out, out[-3000:]
    assert "freqtrade_live_allow_container: true" in out, out[-3000:]
    assert recap(run)["changed"] == 0


def test_live_mode_in_a_container_passes_when_accepted(host):
    run = checks_only("-e", "freqtrade_live_allow_container=true")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert recap(run)["changed"] == 0 and recap(run)["failed"] == 0
    # Still the dry-run bots the converge left: nothing switched.
    assert json.loads(host.file("/etc/freqtrade/rossc/config.json").content_string)["dry_run"]
