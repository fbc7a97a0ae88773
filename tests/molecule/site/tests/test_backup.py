"""Backup and restore on the whole site with real freqtrade databases (for
tests/molecule/site/tests/, once site.yml runs the backup role).

Trades in the database -> backup (the real ft-backup.service) -> the database is destroyed
-> restore.yml -> the same trades (row count and a checksum over every row), the bot
healthy again on the restored database. Then the trixie instance, converged on its own,
restores the bookworm archive (the fresh-host case). Runs on the bookworm instance."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import testinfra
from conftest import bot_api, playbook

PREFIX = os.environ.get("MOLECULE_INSTANCE", "molecule")
INSTANCE = f"{PREFIX}-bookworm"
FRESH = f"{PREFIX}-trixie"
testinfra_hosts = [f"ansible://{INSTANCE}"]

BOT, PORT = "rossc", 8101
DB = f"/var/lib/freqtrade/bots/{BOT}/tradesv3.sqlite"


def trades(host, db: str = DB) -> list[str]:
    """The immutable part of every trade row (a running bot updates open trades)."""
    query = "select id, pair, is_short, open_date, open_rate, amount from trades order by id"
    return host.check_output(f"sqlite3 {db} '{query}'").splitlines()


def archived_trades(host, archive: str) -> list[str]:
    """The same rows, read from the bot's database inside the archive."""
    tmp = host.check_output("mktemp")
    host.check_output(f"tar -xzOf {archive} db/{BOT}/tradesv3.sqlite > {tmp}")
    rows = trades(host, tmp)
    host.check_output(f"rm -f {tmp}")
    return rows


def healthy(host) -> bool:
    cmd = f"curl -fsS --retry 30 --retry-delay 2 --retry-all-errors http://127.0.0.1:{PORT}/api/v1/ping"
    return json.loads(host.check_output(cmd)) == {"status": "pong"}


def api(host, path: str, body: dict | None = None) -> object:
    return bot_api(host, PORT, path, body, bot=BOT)


@pytest.fixture(scope="module")
def backed_up(host):
    """A dry-run position entered through the REST API, then one backup run."""
    assert healthy(host)
    api(host, "forceenter", {"pair": "ETH/USDT:USDT", "side": "long"})
    result = host.run("systemctl start ft-backup.service")
    assert result.rc == 0, host.run("journalctl -u ft-backup -n 30 --no-pager").stdout
    archive = host.check_output("/usr/local/sbin/ft-backup latest").strip()
    saved = archived_trades(host, archive)
    assert any("|ETH/USDT:USDT|" in row for row in saved), "the forced entry is not archived"
    return archive, saved


def test_backup_is_verified_and_reported(host, backed_up):
    archive, saved = backed_up
    summary = json.loads(host.check_output(f"/usr/local/sbin/ft-backup verify {archive}"))
    assert summary["bots"][BOT]["trades_rows"] == len(saved)
    prom = host.file("/var/lib/prometheus/node-exporter/backup.prom").content_string
    assert "backup_last_exit_code 0" in prom
    assert "ft-backup.timer" in host.check_output("systemctl list-timers --all --no-pager")


def test_destroyed_database_comes_back(host, backed_up):
    _, saved = backed_up
    host.check_output(f"systemctl stop freqtrade@{BOT}")
    host.check_output(f"rm -f {DB} {DB}-journal {DB}-wal {DB}-shm")
    host.check_output(f"systemctl start freqtrade@{BOT}")
    assert healthy(host)
    assert trades(host) == []  # freqtrade started on a new, empty database

    run = playbook("restore.yml", INSTANCE)
    assert run.returncode == 0, run.stdout[-3000:]
    assert healthy(host)
    assert trades(host)[: len(saved)] == saved
    assert host.check_output(f"sqlite3 {DB} 'PRAGMA integrity_check'") == "ok"
    # freqtrade serves the restored trade (open or closed since) from its database.
    trade_id = next(row.split("|")[0] for row in saved if "|ETH/USDT:USDT|" in row)
    assert api(host, f"trade/{trade_id}")["pair"] == "ETH/USDT:USDT"


def test_fresh_host_restores_the_archive(host, backed_up, tmp_path):
    archive, saved = backed_up
    fresh = testinfra.get_host(
        f"ansible://{FRESH}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"]
    )
    local = tmp_path / Path(archive).name
    for suffix in ("", ".sha256"):
        subprocess.run(
            ["docker", "cp", f"{INSTANCE}:{archive}{suffix}", f"{local}{suffix}"], check=True
        )
    run = playbook("restore.yml", FRESH, "-e", f"backup_restore_upload={local}")
    assert run.returncode == 0, run.stdout[-3000:]
    assert healthy(fresh)
    assert trades(fresh)[: len(saved)] == saved
