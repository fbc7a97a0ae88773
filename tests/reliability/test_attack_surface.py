"""Attack surface, measured with Debian's tools: nmap and ssh-audit from another container on
the docker network, lynis inside the server, and a scan for the vault's secret values.

The tools' summaries go to artifacts/reliability/<tool>.txt (docs/reliability.md quotes them).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import rel_stack as stack

SCANNER = os.environ.get("FT_RELIABILITY_SCANNER", "ft-reliability-scan")
ALLOWED_PORTS = {22, 80, 443}
LYNIS_TARGET = int(os.environ.get("FT_RELIABILITY_LYNIS_TARGET", "75"))
OUT = stack.TOP / "artifacts/reliability"
# The converge logs the scan reads: FT_RELIABILITY_CONVERGE_LOGS (colon-separated, e.g. a
# Molecule log), else the reliability server's and the rehearsal's, those that exist.
CONVERGE_LOGS = [
    Path(p)
    for p in os.environ.get(
        "FT_RELIABILITY_CONVERGE_LOGS",
        f"{OUT / 'converge.log'}:{stack.TOP / 'artifacts/rehearsal.log'}",
    ).split(":")
    if p
]


def save(name: str, text: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_text(text)


def server_ip() -> str:
    fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    ip = stack.run(["docker", "inspect", "-f", fmt, stack.CONTAINER]).stdout.strip()
    assert ip, f"{stack.CONTAINER} has no IP address"
    return ip


@pytest.fixture(scope="module")
def scanner() -> str:
    """A plain Debian container on the same docker network with nmap and ssh-audit (made
    once by tools/reliability/scanner.sh and kept: installing takes a while)."""
    stack.run([str(stack.TOP / "tools/reliability/scanner.sh"), SCANNER], timeout=600)
    return SCANNER


def in_scanner(scanner: str, *cmd: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return stack.run(["docker", "exec", scanner, *cmd], timeout=timeout, check=False)


def test_nmap_sees_only_public_ports(scanner: str) -> None:
    ip = server_ip()
    scan = in_scanner(
        scanner,
        "nmap",
        "-Pn",
        "-sT",
        "-p-",
        "--min-rate",
        "3000",
        "--max-retries",
        "1",
        "--open",
        "-oX",
        "-",
        ip,
    )
    assert scan.returncode == 0, scan.stderr
    root = ET.fromstring(scan.stdout)
    open_ports = {
        int(p.get("portid", "0"))
        for p in root.iter("port")
        if (state := p.find("state")) is not None and state.get("state") == "open"
    }
    summary = root.find("runstats/finished")
    save(
        "nmap.txt",
        f"nmap -Pn -sT -p- --min-rate 3000 --max-retries 1 {stack.CONTAINER} ({ip})"
        f" from {scanner}\n"
        f"open TCP ports: {sorted(open_ports)}\n"
        f"{summary.get('summary') if summary is not None else ''}\n",
    )
    assert 22 in open_ports, "sshd is not reachable: the scan did not work"
    assert open_ports <= ALLOWED_PORTS, f"unexpected open ports: {open_ports - ALLOWED_PORTS}"
    # site.yml puts the web edge on 80 (ACME, redirect) and 443.
    assert open_ports == ALLOWED_PORTS, f"the web edge is not reachable: {sorted(open_ports)}"


# Warnings ssh-audit 2.5 (Debian 12) gives for what sshd offers on purpose: OpenSSH's default
# post-quantum hybrid key exchange ("experimental" to it), and the strict-KEX marker that is
# OpenSSH's Terrapin countermeasure (CVE-2023-48795), newer than ssh-audit 2.5.
SSH_AUDIT_ACCEPTED_WARNINGS = (
    "(kex) sntrup761x25519-sha512@openssh.com ",
    "(kex) kex-strict-s-v00@openssh.com ",
)


def test_ssh_audit_reports_no_failure(scanner: str) -> None:
    audit = in_scanner(scanner, "ssh-audit", "-n", server_ip())
    save("ssh-audit.txt", audit.stdout)
    text = re.sub(r"\x1b\[[0-9;]*m", "", audit.stdout)
    failures = [line for line in text.splitlines() if "[fail]" in line or "(fail)" in line]
    warnings = [line for line in text.splitlines() if "[warn]" in line]
    print(f"measured ssh-audit exit={audit.returncode} fail={len(failures)} warn={len(warnings)}")
    assert "(gen) banner" in text, f"ssh-audit did not talk to sshd: {audit.stderr}"
    assert not failures, "\n".join(failures)
    unexpected = [w for w in warnings if not w.startswith(SSH_AUDIT_ACCEPTED_WARNINGS)]
    assert not unexpected, "\n".join(unexpected)
    # ssh-audit's exit status: 0 good, 1 connection error, 2 warnings, 3 failures.
    assert audit.returncode in (0, 2), f"ssh-audit exit status {audit.returncode}"


LYNIS_PATHS = ["/usr/sbin/lynis", "/usr/share/lynis", "/etc/lynis"]


@pytest.fixture(scope="module")
def lynis_report() -> Iterator[str]:
    """Run the control machine's lynis inside the server (copied in, removed afterwards)."""
    for path in LYNIS_PATHS:
        stack.sh(f"mkdir -p {Path(path).parent}")
        stack.run(["docker", "cp", path, f"{stack.CONTAINER}:{path}"])
    try:
        out = stack.sh(
            # A fresh report: one left by an earlier run must not pass for this one's.
            "rm -f /var/log/lynis-report.dat /var/log/lynis.log; "
            "date '+started=%Y-%m-%d %H:%M:%S'; "
            "lynis audit system --quick --no-colors 2>&1 || true; "
            "echo ===REPORT===; cat /var/log/lynis-report.dat",
            timeout=900,
        )
    finally:
        stack.sh(f"rm -rf {' '.join(LYNIS_PATHS)}", check=False)
    console, _, report = out.partition("===REPORT===\n")
    started = re.search(r"^started=(.+)$", console, re.M)
    begun = re.search(r"^report_datetime_start=(.+)$", report, re.M)
    assert started and begun, "no start time in the console or the report"
    assert begun.group(1) >= started.group(1), "the report is older than this run"
    tail = console[console.find("Lynis security scan details") :] if console else ""
    save("lynis.txt", tail)
    yield report


def test_testssl_finds_nothing_high_on_the_site(tmp_path: Path) -> None:
    """testssl.sh from this machine against the server's nginx, judged by the project's TLS
    audit (tools/tls_audit.py). The rehearsal's certificate is self-signed: testssl gets it
    as a trusted CA, as a browser told to trust it, so the rest is judged as for a real one;
    only its missing revocation URL (nobody could revoke it) is accepted (--self-signed)."""
    cert = tmp_path / "edge.pem"
    cert.write_text(stack.sh("cat /etc/nginx/tls/edge.crt"))
    san = stack.sh("openssl x509 -in /etc/nginx/tls/edge.crt -noout -ext subjectAltName")
    name = re.search(r"DNS:([^,\s]+)", san)
    assert name, san
    OUT.mkdir(parents=True, exist_ok=True)
    audit = stack.run(
        [
            *(sys.executable, str(stack.TOP / "tools/tls_audit.py"), f"https://{name[1]}/"),
            *("--ip", server_ip(), "--add-ca", str(cert), "--self-signed"),
            *("--json", str(OUT / "testssl.json")),
        ],
        timeout=1000,
        check=False,
    )
    save("testssl.txt", audit.stdout + audit.stderr)
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_lynis_hardening_index(lynis_report: str) -> None:
    found = re.search(r"^hardening_index=(\d+)$", lynis_report, re.M)
    assert found, "lynis wrote no hardening index"
    index = int(found.group(1))
    warnings = re.findall(r"^warning\[\]=(.*)$", lynis_report, re.M)
    suggestions = re.findall(r"^suggestion\[\]=(.*)$", lynis_report, re.M)
    tests = re.search(r"^lynis_tests_done=(\d+)$", lynis_report, re.M)
    print(
        f"measured lynis hardening_index={index} warnings={len(warnings)} "
        f"suggestions={len(suggestions)} tests={tests.group(1) if tests else '?'}"
    )
    save(
        "lynis-findings.txt",
        f"hardening_index={index}\n"
        + "".join(f"warning {w}\n" for w in warnings)
        + "".join(f"suggestion {s}\n" for s in suggestions),
    )
    assert index >= LYNIS_TARGET, f"lynis hardening index {index} < {LYNIS_TARGET}"


def named_secrets() -> list[tuple[str, str]]:
    """(vault key, value) of the vault's secrets, 12+ characters: each value of a mapping
    (the per-bot Telegram tokens) and each long line of a multi-line one on its own."""
    found: list[tuple[str, str]] = []
    for key, value in stack.vault().items():
        if key == "vault_telegram_chat_id":  # an identifier, not a credential
            continue
        items = value.items() if isinstance(value, dict) else [("", value)]
        for sub, item in items:
            name = f"{key}.{sub}" if sub else key
            for part in [str(item), *str(item).splitlines()]:
                part = part.strip()
                if len(part) >= 12 and not part.startswith("-----"):
                    found.append((name, part))
    assert len(found) >= 5, "the vault has fewer secrets than expected"
    return found


def secret_patterns() -> list[str]:
    """The vault's secret values (see named_secrets)."""
    return [value for _, value in named_secrets()]


def test_no_secret_in_repository() -> None:
    patterns = "\n".join(secret_patterns()) + "\n"
    found = subprocess.run(
        ["git", "grep", "-l", "-F", "-f", "/dev/stdin"],
        input=patterns,
        capture_output=True,
        text=True,
        cwd=stack.TOP,
        check=False,
    )
    assert found.returncode == 1, f"secret values in tracked files: {found.stdout}"


def test_no_secret_in_converge_output() -> None:
    logs = [log for log in CONVERGE_LOGS if log.exists()]
    assert logs, "no converge log to scan (tools/reliability/up.sh writes one)"
    patterns = secret_patterns()
    for log in logs:
        text = log.read_text(errors="replace")
        assert "PLAY RECAP" in text, f"{log} is not a complete converge log"
        leaked = [p[:4] + "…" for p in patterns if p in text]
        assert not leaked, f"secret values in {log}: {leaked}"


def grep_in_server(script: str) -> str:
    """Run `script` in the server with the patterns in $P (a root-only file)."""
    patterns = "\n".join(secret_patterns()) + "\n"
    return stack.sh(
        'set -o pipefail; P=$(mktemp); trap \'rm -f "$P"\' EXIT; chmod 600 "$P"; '
        f'cat > "$P"; {script}',
        stdin=patterns,
        timeout=900,
    )


def test_no_secret_in_world_readable_files() -> None:
    out = grep_in_server(
        "find / -xdev \\( -path /proc -o -path /sys \\) -prune -o -type f -perm -o+r "
        '-size -20M -print0 | xargs -0 grep -l -F -f "$P" 2>/dev/null || true; echo END'
    )
    files = [line for line in out.splitlines() if line and line != "END"]
    assert out.strip().endswith("END")
    assert not files, f"world-readable files with secret values: {files}"


# Secrets a service's own user must read, and why; any other secret readable by a non-root
# user (beyond the world-readable files above) fails the scan below.
SERVICE_USER_SECRETS = {
    # The exporter logs in to each bot's API with that bot's own password (docs/monitoring.md).
    ("risk-exporter", "/etc/risk-exporter/*.password", "vault_api_server_password"),
    # Alertmanager sends the alerts to Telegram with the shared bot token.
    ("prometheus", "/etc/prometheus/alertmanager.yml", "vault_telegram_token"),
    # Rehearsal only: the local exchange checks the bots' signatures as Binance does.
    ("replay-exchange", "/etc/replay-exchange/keys.json", "vault_exchange_api_"),
}


def test_service_users_read_only_their_own_secrets() -> None:
    """Every file a non-root user can read (and others cannot), scanned for the vault's
    values, as that user sees the file system (`find -readable` under runuser)."""
    names = [name for name, _ in named_secrets()]
    out = grep_in_server(
        "getent passwd | awk -F: '$3 != 0 {print $1}' | while read -r u; do"
        '  runuser -u "$u" -- find / -xdev \\( -path /proc -o -path /sys \\) -prune -o'
        "   -type f ! -perm -o+r -readable -size -20M -print0 2>/dev/null"
        '  | xargs -0 -r grep -l -F -f "$P" 2>/dev/null'
        "  | while read -r f; do i=0; while IFS= read -r _; do i=$((i + 1));"
        '     sed -n "${i}p" "$P" | grep -q -F -f - "$f" && echo "hit $u $f $i";'
        '    done < "$P"; done; done; echo END'
    )
    assert out.strip().endswith("END")
    hits = {
        (user, path, names[int(index) - 1])
        for _, user, path, index in (
            line.split() for line in out.splitlines() if line.startswith("hit ")
        )
    }
    unexpected = sorted(
        hit
        for hit in hits
        if not any(
            hit[0] == user and fnmatch.fnmatch(hit[1], path) and hit[2].startswith(key)
            for user, path, key in SERVICE_USER_SECRETS
        )
    )
    assert not unexpected, (
        f"secrets readable by a service user that does not need them: {unexpected}"
    )
    # Each allowed secret is found where it is expected: the scan sees what it should.
    for user, path, key in SERVICE_USER_SECRETS:
        assert any(
            h[0] == user and fnmatch.fnmatch(h[1], path) and h[2].startswith(key) for h in hits
        ), f"the scan did not find {key} in {path} for {user}: is the scan blind?"


def test_no_secret_in_journal() -> None:
    """No vault value in any journal entry. A hit is reported as the unit (or syslog
    identifier) that wrote it and the vault key, never the value."""
    names = [name for name, _ in named_secrets()]
    out = grep_in_server(
        "journalctl --no-pager -o json | python3 -c " + shlex.quote(JOURNAL_SCAN) + ' "$P"'
    )
    lines = int(out.splitlines()[0].split("=")[1])
    assert lines > 100, "the journal is (almost) empty: nothing was scanned"
    hits = [line.split() for line in out.splitlines()[1:] if line.startswith("hit ")]
    where = [f"{unit}: {names[int(index)]} ({count} lines)" for _, unit, index, count in hits]
    assert not where, f"journal entries carry secret values: {where}"


# Runs in the server: journal entries (JSON) on stdin, the patterns' file as argument.
JOURNAL_SCAN = """
import json, sys
patterns = [line.rstrip("\\n") for line in open(sys.argv[1]) if line.strip()]
seen, hits = 0, {}
for raw in sys.stdin:
    seen += 1
    entry = json.loads(raw)
    message = entry.get("MESSAGE")
    if isinstance(message, list):
        message = bytes(message).decode("utf-8", "replace")
    if not isinstance(message, str):
        continue
    for index, pattern in enumerate(patterns):
        if pattern in message:
            unit = entry.get("_SYSTEMD_UNIT") or entry.get("SYSLOG_IDENTIFIER") or "?"
            hits[(unit, index)] = hits.get((unit, index), 0) + 1
print(f"lines={seen}")
for (unit, index), count in sorted(hits.items()):
    print("hit", unit.replace(" ", "_"), index, count)
"""
