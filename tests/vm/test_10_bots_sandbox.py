"""The bots under systemd with the full sandbox: a virtual machine is no container, so the
kernel-level options (PrivateDevices, ProtectKernel*, RestrictAddressFamilies, ...) that
the role leaves out in containers are in the unit, and systemd-analyze scores it."""

from __future__ import annotations

import re
from typing import Any

from conftest import BOTS, record

# The unit as roles/freqtrade renders it, loaded (not started) in the Debian 12 machine
# (systemd 252) and scored by `systemd-analyze security`, measured 2026-12-07: 6.3 "MEDIUM"
# with the kernel sandbox, 8.1 "EXPOSED" without it (the container variant); offline
# (`--offline=yes`) 6.5 and 8.3; a unit with no sandboxing scores 9.6 "UNSAFE". The limit
# is the measured value: losing any one option of the sandbox (each weighs 0.1-0.3) fails
# the test; hardening the unit further passes it.
SCORE_LIMIT = 6.3
KERNEL_SANDBOX = {
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
}


def test_machine_is_a_virtual_machine(host: Any) -> None:
    virt = host.run("systemd-detect-virt").stdout.strip()
    assert virt in {"kvm", "qemu"}, virt
    assert host.run("systemd-detect-virt --container").rc != 0


def test_bots_active_with_full_sandbox(host: Any) -> None:
    for bot in BOTS:
        unit = f"freqtrade@{bot}.service"
        assert host.service(unit).is_running, unit
        props = dict(
            line.split("=", 1)
            for line in host.check_output(
                f"systemctl show {unit} " + " ".join(f"-p {p}" for p in KERNEL_SANDBOX)
            ).splitlines()
        )
        assert props == KERNEL_SANDBOX, (unit, props)
        families = host.check_output(f"systemctl show {unit} -p RestrictAddressFamilies")
        assert "AF_INET" in families and "AF_NETLINK" not in families, families


def test_systemd_analyze_security_score(host: Any) -> None:
    scores = {}
    for bot in BOTS:
        unit = f"freqtrade@{bot}.service"
        with host.sudo():
            out = host.check_output(f"systemd-analyze security --no-pager {unit}")
        found = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", out)
        assert found, out[-500:]
        scores[bot] = f"{found.group(1)} {found.group(2)}"
        assert float(found.group(1)) <= SCORE_LIMIT, (unit, found.group(0))
    record("systemd_analyze_security", scores)
