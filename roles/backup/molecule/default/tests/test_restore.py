"""restore.yml, driven as an operator would run it: a bad or missing archive is refused
before any bot stops; a restore brings back the same trades (rows and checksum), keeps the
current database aside and restarts the bots; a second host restores the first one's
archive (the fresh-host case). Runs on the bookworm instance; trixie is the second host."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import testinfra
from helpers_backup import (
    BACKUPS,
    BOTS,
    DATA,
    db_summary,
    heartbeats,
    latest,
    main_pid,
    quote,
    run_backup,
    wait_for,
)

PREFIX = os.environ.get("MOLECULE_INSTANCE", "molecule")
INSTANCE = f"{PREFIX}-bookworm"
FRESH = f"{PREFIX}-trixie"
testinfra_hosts = [f"ansible://{INSTANCE}"]

SCENARIO = Path(__file__).resolve().parents[1]
REPO = Path(__file__).resolve().parents[5]
# As in converge.yml (an inventory variable in production).
REPO_RESTIC = "/srv/restic-repo"


def restore(limit: str, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"), str(REPO / "restore.yml"),
        "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", limit, *extra,
    ]  # fmt: skip
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0"}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def live(host, bot: str) -> tuple[int, str, str]:
    return db_summary(host, f"{DATA}/{bot}/tradesv3.sqlite")


def add_trade(host, bot: str) -> None:
    sql = (
        "INSERT INTO trades (exchange, pair, is_open, fee_open, fee_close, open_rate,"
        " stake_amount, amount, open_date, is_short, interest_rate)"
        " VALUES ('binance', 'XRP/USDT:USDT', 1, 0.0005, 0.0005, 0.5, 10, 20,"
        " '2026-11-25 10:00:00', 0, 0)"
    )
    code = (
        f"import sqlite3; db = sqlite3.connect('{DATA}/{bot}/tradesv3.sqlite', timeout=30);"
        f' db.execute("{sql}"); db.commit()'
    )
    host.check_output(f"runuser -u freqtrade -- python3 -c {quote(code)}")


@pytest.fixture(scope="module")
def backed_up(host):
    assert run_backup(host).rc == 0
    return latest(host), {bot: live(host, bot) for bot in BOTS}


def fingerprint(host) -> tuple:
    return tuple(main_pid(host, b) for b in BOTS), tuple(live(host, b) for b in BOTS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-e", "backup_restore_archive=/var/backups/freqtrade/nope.tar.gz"], "does not exist"),
        (["-e", "backup_restore_upload=/nonexistent/ft-backup.tar.gz"], "control machine"),
        (["-e", '{"backup_restore_bots": ["gamma"]}'], "not in"),
    ],
)
def test_missing_archive_or_bot_is_refused_before_stopping(host, backed_up, args, message):
    before = fingerprint(host)
    result = restore(INSTANCE, *args)
    assert result.returncode != 0
    assert message in result.stdout
    assert "Nothing was stopped or changed" in result.stdout
    assert fingerprint(host) == before


def test_damaged_archive_is_refused_before_stopping(host, backed_up):
    archive, _ = backed_up
    bad = f"{BACKUPS}/ft-backup-20250101T000000Z.tar.gz"
    host.check_output(f"cp {archive} {bad}")
    host.check_output(f"sed 's/ .*/  {bad.rsplit('/', 1)[1]}/' {archive}.sha256 > {bad}.sha256")
    size = int(host.check_output(f"stat -c %s {bad}"))
    host.check_output(f"printf 'X' | dd of={bad} bs=1 seek={size // 2} conv=notrunc status=none")
    before = fingerprint(host)
    result = restore(INSTANCE, "-e", f"backup_restore_archive={bad}")
    host.check_output(f"rm -f {bad} {bad}.sha256")
    assert result.returncode != 0
    assert "Refusing to restore" in result.stdout and "does not match" in result.stdout
    assert fingerprint(host) == before


def test_restore_round_trip(host, backed_up):
    """backup -> wipe alpha's database, add a trade to beta -> restore the newest archive."""
    archive, saved = backed_up
    host.check_output(f"systemctl stop freqtrade@alpha && rm {DATA}/alpha/tradesv3.sqlite*")
    host.check_output("systemctl start freqtrade@alpha")
    assert wait_for(lambda: host.file(f"{DATA}/alpha/tradesv3.sqlite").exists)
    assert live(host, "alpha")[0] == 0  # the bot started on an empty database
    add_trade(host, "beta")
    changed_beta = live(host, "beta")
    assert changed_beta[0] == saved["beta"][0] + 1
    pids = [main_pid(host, b) for b in BOTS]

    result = restore(INSTANCE)
    assert result.returncode == 0, result.stdout[-3000:]
    assert archive in result.stdout

    for bot in BOTS:
        assert live(host, bot) == saved[bot]  # rows, checksum, integrity_check "ok"
        assert host.file(f"{DATA}/{bot}/tradesv3.sqlite").user == "freqtrade"
    # The databases replaced are kept aside, not lost.
    aside = host.check_output(f"ls {DATA}/beta/ | grep '^tradesv3.sqlite.pre-restore-'").split()
    assert live(host, "beta") != changed_beta
    assert db_summary(host, f"{DATA}/beta/{aside[-1]}")[:2] == changed_beta[:2]
    # The bots were restarted and write to the restored database again.
    assert all(host.service(f"freqtrade@{b}").is_running for b in BOTS)
    assert [main_pid(host, b) for b in BOTS] != pids
    since = time.time()
    assert wait_for(lambda: heartbeats(host, "alpha") > since)


def test_fresh_host_restores_another_hosts_archive(host, backed_up, tmp_path):
    archive, saved = backed_up
    fresh = testinfra.get_host(
        f"ansible://{FRESH}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"]
    )
    assert live(fresh, "alpha")[:2] != saved["alpha"][:2]  # its own, different trades
    local = tmp_path / Path(archive).name
    for suffix in ("", ".sha256"):
        subprocess.run(
            ["docker", "cp", f"{INSTANCE}:{archive}{suffix}", f"{local}{suffix}"], check=True
        )
    result = restore(FRESH, "-e", f"backup_restore_upload={local}")
    assert result.returncode == 0, result.stdout[-3000:]
    for bot in BOTS:
        assert live(fresh, bot) == saved[bot]
        assert fresh.service(f"freqtrade@{bot}").is_running
    assert fresh.file(f"{BACKUPS}/{local.name}").sha256sum == host.file(archive).sha256sum


def test_lost_disk_restores_from_restic(host, backed_up):
    """The archives in backup_dir are gone; the newest comes back from the restic copy."""
    archive, saved = backed_up
    host.check_output(f"systemctl stop freqtrade@alpha && rm {DATA}/alpha/tradesv3.sqlite")
    host.check_output("systemctl start freqtrade@alpha")
    host.check_output(f"mkdir -p /root/lost && mv {BACKUPS}/ft-backup-* /root/lost/")
    assert restore(INSTANCE).returncode != 0  # nothing local to restore any more
    result = restore(
        INSTANCE,
        "-e",
        "backup_restore_from_restic=true",
        "-e",
        f"backup_restic_repository={REPO_RESTIC}",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert host.file(archive).sha256sum == host.file(f"/root/lost/{Path(archive).name}").sha256sum
    for bot in BOTS:
        assert live(host, bot) == saved[bot]


def test_restic_credentials_never_reach_the_journal(host, backed_up):
    """backup_restic_environment (a canary here) reaches restic only from the root-only env
    file, never on a command line. The restic tasks run again on Ansible's own linear
    strategy (the documented way to run without mitogen), where values given through
    `environment:` land on the become command line that sudo logs; then the journal is
    searched for the canary."""
    canary = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "restic-canary").read_text()
    canary = canary.split()[0]
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"), str(SCENARIO / "converge.yml"),
        "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", INSTANCE, "--tags", "restic",
    ]  # fmt: skip
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STRATEGY": "linear",
        "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
    }
    run = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "restic repository exists" in run.stdout  # the restic tasks did run
    env_file = host.file("/etc/ft-backup/restic.env")
    assert env_file.mode == 0o600 and env_file.user == "root"
    assert canary in env_file.content_string
    assert canary not in host.check_output("journalctl --no-pager -q -o cat")
