"""ufw in the machine's own kernel: from the host, only 22, 80 and 443 answer, although
more services listen on the machine (Prometheus, exporters, the bots' APIs on loopback,
the local exchange)."""

from __future__ import annotations

import re
import subprocess
from typing import Any

from conftest import SLOW, record, wait_for


def test_ufw_active(host: Any) -> None:
    with host.sudo():
        out = host.check_output("ufw status")
    assert out.startswith("Status: active"), out


def test_nmap_from_the_host_sees_only_22_80_443(host: Any, address: str) -> None:
    """A full TCP scan from the host. A probe listener on 0.0.0.0:8765 (started for the
    test) proves that it is the firewall, not a lack of listeners, that hides the rest."""
    with host.sudo():
        host.check_output(
            "systemd-run --unit=ft-vm-probe-listener python3 -m http.server 8765 --bind 0.0.0.0"
        )
    try:
        wait_for("the probe listener", lambda: host.socket("tcp://0.0.0.0:8765").is_listening)
        result = subprocess.run(
            ["nmap", "-Pn", "-n", "-sT", "-p-", "-T4", "--max-retries", "1", "-oG", "-", address],
            capture_output=True,
            text=True,
            timeout=600 * SLOW,
            check=True,
        )
    finally:
        with host.sudo():
            host.run("systemctl stop ft-vm-probe-listener")
    found = re.search(r"Ports: (.*?)(?:\t|$)", result.stdout, re.M)
    open_ports = (
        sorted(int(e.split("/")[0]) for e in found.group(1).split(", ") if "/open/" in e)
        if found
        else []
    )
    record("nmap_open_tcp", open_ports)
    assert open_ports == [22, 80, 443], result.stdout
