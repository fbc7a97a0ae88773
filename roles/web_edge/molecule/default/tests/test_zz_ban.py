"""Last (it bans this machine): password guesses, at the login and on other API routes, are
throttled, then banned by fail2ban."""

from __future__ import annotations

import subprocess
import time

from conftest import DOMAIN


def attempt(address: str, path: str = "/airisk/api/v1/token/login") -> str:
    method = "POST" if path.endswith("/token/login") else "GET"
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
            method,
            "-u",
            "trader:brute-force",
            f"https://{DOMAIN}{path}",
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
        # Most guesses on a route other than the login: the ban must not depend on the login.
        paths = ["/rossc/api/v1/status", "/airisk/api/v1/show_config", "/airisk/api/v1/token/login"]
        codes = [attempt(address, paths[i % 3]) for i in range(10)]
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
