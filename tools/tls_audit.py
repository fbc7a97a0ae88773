#!/usr/bin/env python3
"""Audit the web edge's TLS with testssl.sh (Debian package `testssl.sh`) and judge it.

    tools/tls_audit.py https://bots.example.com/ [--ip ADDRESS] [--add-ca PEM] [--json FILE]
                       [--self-signed]

The edge passes when testssl finds SSLv2/SSLv3/TLS 1.0/TLS 1.1 not offered, TLS 1.2 and 1.3
offered, no NULL/aNULL/EXPORT/LOW/3DES/obsolete cipher suite, HSTS and no HIGH or CRITICAL
finding. A self-signed edge (no domain set) is audited with --self-signed and its certificate
as --add-ca: then testssl's HIGH `cert_revocation` ("Neither CRL nor OCSP URI provided") is
accepted, since no issuer exists to publish a revocation; every other rule stays.
Exit 0: passed; 1: failed (each reason printed); 2: testssl wrote no report.
Used by the web edge's Molecule scenario and the reliability suite; run it against a real
server after the first converge too.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

OLD_PROTOCOLS = ("SSLv2", "SSLv3", "TLS1", "TLS1_1")
CURRENT_PROTOCOLS = ("TLS1_2", "TLS1_3")
WEAK_CIPHER_IDS = (
    "cipherlist_NULL",
    "cipherlist_aNULL",
    "cipherlist_EXPORT",
    "cipherlist_LOW",
    "cipherlist_3DES_IDEA",
)
# testssl 3.0 (Debian 12) names the class of obsolete CBC suites AVERAGE, 3.2 OBSOLETED.
OBSOLETE_CIPHER_IDS = ("cipherlist_AVERAGE", "cipherlist_OBSOLETED")
# Findings a self-signed certificate cannot avoid: nobody could revoke it.
SELF_SIGNED_ACCEPTED = ("cert_revocation",)


def judge(findings: dict[str, dict[str, str]], self_signed: bool = False) -> list[str]:
    """Every reason the report fails the edge's TLS policy (empty: it passes)."""
    accepted = SELF_SIGNED_ACCEPTED if self_signed else ()
    problems: list[str] = []

    def expect(fid: str, prefix: str) -> None:
        finding = findings.get(fid)
        if finding is None:
            problems.append(f"{fid}: missing from the report")
        elif not finding["finding"].startswith(prefix):
            problems.append(f"{fid}: '{finding['finding']}', expected '{prefix}'")

    for fid in OLD_PROTOCOLS + WEAK_CIPHER_IDS:
        expect(fid, "not offered")
    for fid in CURRENT_PROTOCOLS:
        expect(fid, "offered")
    obsolete = [fid for fid in OBSOLETE_CIPHER_IDS if fid in findings]
    if len(obsolete) != 1:
        problems.append(f"expected one of {OBSOLETE_CIPHER_IDS} in the report, got {obsolete}")
    else:
        expect(obsolete[0], "not offered")
    hsts = findings.get("HSTS_time", {}).get("severity")
    if hsts != "OK":
        problems.append(f"HSTS_time: severity {hsts}, expected OK")
    problems += [
        f"{f['id']}: {f['severity']}: {f['finding']}"
        for f in findings.values()
        if f["severity"] in ("HIGH", "CRITICAL") and f["id"] not in accepted
    ]
    return problems


def run_testssl(url: str, report: Path, ip: str | None, ca: Path | None) -> None:
    report.unlink(missing_ok=True)
    cmd = ["testssl", "--quiet", "--color", "0", "--warnings", "batch", "--jsonfile", str(report)]
    if ip:
        cmd += ["--ip", ip]
    if ca:
        cmd += ["--add-ca", str(ca)]
    # testssl's exit status counts findings of any kind; the report is what is judged.
    subprocess.run([*cmd, url], capture_output=True, timeout=900, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="https://<name>/ of the edge")
    parser.add_argument("--ip", help="connect to this address instead of resolving the name")
    parser.add_argument(
        "--add-ca", type=Path, help="extra trusted CA (a test CA, a self-signed edge)"
    )
    parser.add_argument("--json", type=Path, help="keep testssl's JSON report here")
    parser.add_argument(
        "--self-signed",
        action="store_true",
        help=f"the edge's certificate is self-signed: accept {', '.join(SELF_SIGNED_ACCEPTED)}",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        report = args.json or Path(tmp) / "testssl.json"
        run_testssl(args.url, report, args.ip, args.add_ca)
        if not report.exists():
            print(f"testssl wrote no report for {args.url}", file=sys.stderr)
            return 2
        findings = {f["id"]: f for f in json.loads(report.read_text())}
    problems = judge(findings, self_signed=args.self_signed)
    for problem in problems:
        print(problem)
    print(
        f"{args.url}: {'FAILED' if problems else 'passed'} ({len(findings)} testssl findings read)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
