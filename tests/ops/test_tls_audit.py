"""tools/tls_audit.py: the edge's TLS policy applied to testssl.sh's JSON report.

The real testssl runs in the web edge's scenario and the reliability suite; here the
judgement is checked on reports built to pass or fail one rule at a time, and the command
line on a stand-in `testssl` that writes such a report where it is told to.
"""

from __future__ import annotations

import importlib.util
import json
import os
import stat
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "tls_audit.py"
spec = importlib.util.spec_from_file_location("tls_audit", TOOL)
assert spec and spec.loader
tls_audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tls_audit)


def finding(fid: str, text: str, severity: str = "INFO") -> dict[str, str]:
    return {"id": fid, "finding": text, "severity": severity}


def good_report() -> dict[str, dict[str, str]]:
    rows = [finding(p, "not offered", "OK") for p in tls_audit.OLD_PROTOCOLS]
    rows += [finding(p, "offered with final", "OK") for p in tls_audit.CURRENT_PROTOCOLS]
    rows += [finding(c, "not offered", "OK") for c in tls_audit.WEAK_CIPHER_IDS]
    rows += [
        finding("cipherlist_AVERAGE", "not offered", "OK"),
        finding("HSTS_time", "365 days (=31536000 seconds) > 15552000 seconds", "OK"),
        finding("cert_validityPeriod", "Certificate validity period too long", "MEDIUM"),
    ]
    return {row["id"]: row for row in rows}


def test_a_modern_edge_passes() -> None:
    assert tls_audit.judge(good_report()) == []


@pytest.mark.parametrize(
    ("fid", "text", "severity", "reason"),
    [
        ("TLS1", "offered (deprecated)", "LOW", "TLS1: 'offered (deprecated)'"),
        ("SSLv3", "offered", "CRITICAL", "SSLv3: 'offered'"),
        ("TLS1_3", "not offered", "INFO", "TLS1_3: 'not offered', expected 'offered'"),
        ("cipherlist_3DES_IDEA", "offered", "MEDIUM", "cipherlist_3DES_IDEA"),
        ("cipherlist_AVERAGE", "offered", "LOW", "cipherlist_AVERAGE: 'offered'"),
        ("HSTS_time", "not offered", "HIGH", "HSTS_time: severity HIGH"),
        ("cert_chain_of_trust", "failed (self signed)", "CRITICAL", "cert_chain_of_trust"),
        ("BREACH", "potentially VULNERABLE", "HIGH", "BREACH: HIGH"),
    ],
)
def test_each_rule_can_fail(fid: str, text: str, severity: str, reason: str) -> None:
    report = good_report()
    report[fid] = finding(fid, text, severity)
    problems = tls_audit.judge(report)
    assert any(reason in p for p in problems), problems


def test_self_signed_accepts_only_the_missing_revocation() -> None:
    report = good_report()
    report["cert_revocation"] = finding(
        "cert_revocation", "Neither CRL nor OCSP URI provided", "HIGH"
    )
    assert tls_audit.judge(report, self_signed=True) == []
    assert tls_audit.judge(report) == ["cert_revocation: HIGH: Neither CRL nor OCSP URI provided"]
    report["cert_chain_of_trust"] = finding("cert_chain_of_trust", "failed", "CRITICAL")
    assert tls_audit.judge(report, self_signed=True) == ["cert_chain_of_trust: CRITICAL: failed"]


def test_a_report_without_the_protocols_fails() -> None:
    report = good_report()
    del report["TLS1_2"]
    assert tls_audit.judge(report) == ["TLS1_2: missing from the report"]


def test_exactly_one_obsolete_cipher_class() -> None:
    report = good_report()
    report["cipherlist_OBSOLETED"] = finding("cipherlist_OBSOLETED", "not offered", "OK")
    assert len(tls_audit.judge(report)) == 1


def fake_testssl(bin_dir: Path, report: dict[str, dict[str, str]] | None) -> Path:
    """A `testssl` that records its arguments and writes `report` to --jsonfile."""
    args_file = bin_dir / "args.json"
    payload = json.dumps(list(report.values())) if report is not None else None
    script = bin_dir / "testssl"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"open({str(args_file)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        f"payload = {payload!r}\n"
        "if payload is not None:\n"
        "    out = sys.argv[sys.argv.index('--jsonfile') + 1]\n"
        "    open(out, 'w').write(payload)\n"
        "sys.exit(3)\n"  # testssl exits non-zero on findings of any kind
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return args_file


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return tmp_path


def test_command_passes_the_target_and_judges_the_report(
    bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args_file = fake_testssl(bin_dir, good_report())
    ca = bin_dir / "ca.pem"
    rc = tls_audit.main(["https://edge.test/", "--ip", "192.0.2.7", "--add-ca", str(ca)])
    assert rc == 0
    args = json.loads(args_file.read_text())
    assert args[-1] == "https://edge.test/"
    assert args[args.index("--ip") + 1] == "192.0.2.7"
    assert args[args.index("--add-ca") + 1] == str(ca)
    assert "passed" in capsys.readouterr().out


def test_command_fails_on_a_finding_and_keeps_the_report(
    bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = good_report()
    report["TLS1_1"] = finding("TLS1_1", "offered", "LOW")
    fake_testssl(bin_dir, report)
    kept = bin_dir / "kept.json"
    assert tls_audit.main(["https://edge.test/", "--json", str(kept)]) == 1
    assert "TLS1_1: 'offered'" in capsys.readouterr().out
    assert json.loads(kept.read_text())


def test_command_without_a_report_says_so(bin_dir: Path) -> None:
    fake_testssl(bin_dir, None)
    assert tls_audit.main(["https://edge.test/"]) == 2
