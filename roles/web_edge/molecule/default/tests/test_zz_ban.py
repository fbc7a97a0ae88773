"""Last (it bans this machine): a login brute force is throttled, then banned by fail2ban."""

from __future__ import annotations

import subprocess
import time

from conftest import DOMAIN


def attempt(address: str) -> str:
    out = subprocess.run(
        [
            "curl",
            "-s",
            "-k",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
            "--resolve",
            f"{DOMAIN}:443:{address}",
            "-X",
            "POST",
            "-u",
            "trader:brute-force",
            f"https://{DOMAIN}/airisk/api/v1/token/login",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout


def test_brute_force_throttled_then_banned(box, address):
    client = box.check_output("ip route show default | awk '{print $3}'")
    box.run(f"fail2ban-client set web-edge-auth unbanip {client}")
    try:
        codes = [attempt(address) for _ in range(10)]
        assert codes[0] == "401"
        assert "429" in codes
        deadline = time.monotonic() + 30
        banned = ""
        while time.monotonic() < deadline:
            banned = box.check_output("fail2ban-client get web-edge-auth banned")
            if client in banned:
                break
            time.sleep(1)
        assert client in banned
        # Banned: this machine's connections no longer get an HTTP answer at all (the
        # firewall rule may follow the ban list by a moment).
        deadline = time.monotonic() + 15
        while attempt(address) != "000" and time.monotonic() < deadline:
            time.sleep(1)
        assert attempt(address) == "000"
    finally:
        box.run(f"fail2ban-client set web-edge-auth unbanip {client}")
