"""testssl.sh and wrk from this machine against the edge (over the container's address)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import DOMAIN

# The project's TLS audit (testssl.sh and the edge's policy), as users run it on a server.
TLS_AUDIT = Path(__file__).resolve().parents[5] / "tools" / "tls_audit.py"


def test_testssl_finds_nothing_high(address, pebble_root, artifacts):
    report = artifacts / "testssl.json"
    audit = subprocess.run(
        [
            *(sys.executable, str(TLS_AUDIT), f"https://{DOMAIN}/", "--ip", address),
            *("--add-ca", str(pebble_root), "--json", str(report)),
        ],
        capture_output=True,
        text=True,
        timeout=1000,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_wrk_ping_through_nginx(address, artifacts):
    # A benchmark, not a speed assertion: the numbers go to artifacts/web/wrk.txt.
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c32",
            "-d30s",
            "--latency",
            "-H",
            f"Host: {DOMAIN}",
            f"https://{address}/api/v1/ping",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    (artifacts / "wrk.txt").write_text(out)
    assert float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)) > 0
    assert re.search(r"^\s+99%\s+\S+", out, re.M)
    assert "Non-2xx" not in out
