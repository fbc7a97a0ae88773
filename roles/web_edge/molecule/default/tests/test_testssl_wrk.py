"""testssl.sh and wrk from this machine against the edge (over the container's address)."""

from __future__ import annotations

import json
import re
import subprocess

from conftest import DOMAIN

WEAK_CIPHER_IDS = (
    "cipherlist_NULL",
    "cipherlist_aNULL",
    "cipherlist_EXPORT",
    "cipherlist_LOW",
    "cipherlist_3DES_IDEA",
)
# testssl 3.0 (Debian 12) names the class of obsolete CBC suites AVERAGE, 3.2 OBSOLETED.
OBSOLETE_CIPHER_IDS = ("cipherlist_AVERAGE", "cipherlist_OBSOLETED")


def check_findings(findings: dict[str, dict]) -> None:
    """What the edge must show in testssl's JSON report."""
    for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
        assert findings[proto]["finding"].startswith("not offered"), findings[proto]
    for proto in ("TLS1_2", "TLS1_3"):
        assert findings[proto]["finding"].startswith("offered"), findings[proto]
    for cid in WEAK_CIPHER_IDS:
        assert findings[cid]["finding"].startswith("not offered"), findings[cid]
    obsolete = [findings[c] for c in OBSOLETE_CIPHER_IDS if c in findings]
    assert len(obsolete) == 1 and obsolete[0]["finding"].startswith("not offered"), obsolete
    bad = [f for f in findings.values() if f["severity"] in ("HIGH", "CRITICAL")]
    assert bad == []
    assert findings["HSTS_time"]["severity"] == "OK"


def test_testssl_finds_nothing_high(address, pebble_root, artifacts):
    report = artifacts / "testssl.json"
    report.unlink(missing_ok=True)
    subprocess.run(
        [
            "testssl",
            "--quiet",
            "--color",
            "0",
            "--warnings",
            "batch",
            "--ip",
            address,
            "--add-ca",
            str(pebble_root),
            "--jsonfile",
            str(report),
            f"https://{DOMAIN}/",
        ],
        capture_output=True,
        timeout=900,
        check=False,
    )
    check_findings({f["id"]: f for f in json.loads(report.read_text())})


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
