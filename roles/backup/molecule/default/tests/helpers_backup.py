"""Shared helpers of the backup scenario's tests (a uniquely named module, not conftest)."""

import json
import time

DATA = "/var/lib/freqtrade/bots"
BACKUPS = "/var/backups/freqtrade"
PROM = "/var/lib/prometheus/node-exporter/backup.prom"
BOTS = ("alpha", "beta")

# Row count and sha256 of a trades table, computed on the host independently of ft-backup.
SUMMARY = (
    "import hashlib, json, sqlite3, sys\n"
    "db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True, timeout=30)\n"
    "rows = db.execute('SELECT * FROM trades ORDER BY id').fetchall()\n"
    "print(json.dumps([len(rows), hashlib.sha256(repr(rows).encode()).hexdigest(),\n"
    "                  db.execute('PRAGMA integrity_check').fetchone()[0]]))\n"
)


def db_summary(host, path: str) -> tuple[int, str, str]:
    """(rows, sha256 of all rows, integrity_check) of the trades table in path."""
    out = host.check_output(f"python3 -c {quote(SUMMARY)} {quote(path)}")
    rows, digest, integrity = json.loads(out)
    return rows, digest, integrity


def quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def run_backup(host):
    """Start the backup service and wait for it; returns systemctl's result."""
    return host.run("systemctl start ft-backup.service")


def archives(host, directory: str = BACKUPS) -> list[str]:
    out = host.check_output(f"find {directory} -maxdepth 1 -name 'ft-backup-*.tar.gz' | sort")
    return out.split()


def latest(host) -> str:
    return host.check_output("/usr/local/sbin/ft-backup latest").strip()


def metrics(host) -> dict[str, float]:
    values = {}
    for line in host.file(PROM).content_string.splitlines():
        if line and not line.startswith("#"):
            name, value = line.split()
            values[name] = float(value)
    return values


def main_pid(host, bot: str) -> int:
    return int(host.check_output(f"systemctl show freqtrade@{bot} -p MainPID --value"))


def heartbeats(host, bot: str) -> float:
    query = (
        "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]);"
        " print(db.execute('SELECT max(at) FROM heartbeat').fetchone()[0])"
    )
    return float(host.check_output(f"python3 -c {quote(query)} {DATA}/{bot}/tradesv3.sqlite"))


def wait_for(predicate, timeout: float = 30, step: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
