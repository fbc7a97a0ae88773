"""fail2ban's sshd jail bans an address after maxretry failures within findtime (the
hardening role's jail.local: 5 in 10 min, for 1 h), in the machine's own netfilter.

The failing logins come from a second address of the host on the management network, so
the ban does not lock Vagrant and these tests out; the address is unbanned and removed
afterwards."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO, record, vm_tool, wait_for

DEFAULTS = yaml.safe_load((REPO / "roles/hardening/defaults/main.yml").read_text())
MAXRETRY = int(DEFAULTS["hardening_fail2ban_maxretry"])


def _ssh(source: str, address: str, user: str, key: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ssh", "-b", source, "-i", str(key), "-o", "IdentitiesOnly=yes",
         "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=8",
         f"{user}@{address}", "true"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture()
def attacker(address: str, tmp_path: Path) -> Iterator[str]:
    """A second host address on the bridge to the machine (x.x.x.250)."""
    net = vm_tool("bridge").stdout.strip()
    assert net, "no bridge for the management network"
    source = address.rsplit(".", 1)[0] + ".250"
    subprocess.run(["ip", "addr", "add", f"{source}/32", "dev", net], check=True)
    try:
        yield source
    finally:
        subprocess.run(["ip", "addr", "del", f"{source}/32", "dev", net], check=False)


def _banned(host: Any) -> str:
    with host.sudo():
        return host.check_output("fail2ban-client get sshd banip")


def test_sshd_jail_bans_after_maxretry(
    host: Any, address: str, attacker: str, tmp_path: Path
) -> None:
    key = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    assert attacker not in _banned(host)
    try:
        attempts = 0
        while attacker not in _banned(host):
            assert attempts < MAXRETRY, f"not banned after {attempts} failed logins"
            result = _ssh(attacker, address, "nosuchuser", key)
            assert result.returncode == 255, result.stderr
            attempts += 1
            if attempts < MAXRETRY:
                # Before maxretry: still not banned (fail2ban reads the journal within ~1 s).
                time.sleep(3)
                assert attacker not in _banned(host), attempts
            else:
                wait_for("the ban", lambda: attacker in _banned(host), 30)
        record("fail2ban_banned_after_failures", attempts)
        assert attempts == MAXRETRY
        # Banned: the attacker's address gets nothing on port 22; the host's own still logs in.
        blocked = _ssh(attacker, address, "deploy", REPO / ".cache/vault/deploy_ed25519")
        assert blocked.returncode == 255, blocked.stderr
        assert "refused" in blocked.stderr or "timed out" in blocked.stderr, blocked.stderr
        assert host.run("true").rc == 0
        with host.sudo():
            rules = host.check_output("iptables -S f2b-sshd")
        assert f"-s {attacker}/32 -j REJECT" in rules, rules
        record("fail2ban_blocked_connection", blocked.stderr.strip().splitlines()[-1])
    finally:
        with host.sudo():
            host.run(f"fail2ban-client set sshd unbanip {attacker}")
