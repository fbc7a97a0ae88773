"""The backup role on Debian 12 and 13: schedule, a verified archive of live databases,
retention, a failure visible in the journal and the textfile metric, the restic copy,
and logrotate."""

import json
import time

import pytest
from helpers_backup import (
    BACKUPS,
    BOTS,
    DATA,
    archives,
    db_summary,
    latest,
    metrics,
    run_backup,
)


def test_timer_is_scheduled(host):
    timer = host.service("ft-backup.timer")
    assert timer.is_enabled
    assert timer.is_running
    listed = host.check_output("systemctl list-timers --all --no-pager ft-backup.timer")
    assert "ft-backup.timer" in listed
    assert "ft-backup.service" in listed
    calendar = host.check_output("systemctl show ft-backup.timer -p TimersCalendar --value")
    assert "03:15:00" in calendar


def test_files_are_root_only(host):
    assert host.file(BACKUPS).mode == 0o700
    assert host.file("/etc/ft-backup/restic.pass").mode == 0o600
    assert host.file("/etc/ft-backup/restic.pass").user == "root"
    assert host.file("/etc/ft-backup/config.json").mode == 0o600


@pytest.fixture(scope="module")
def backup_run(host):
    """One backup while the bots write to their databases; the live trade summaries
    (the fake bots never touch trades) to compare with."""
    assert all(host.service(f"freqtrade@{bot}").is_running for bot in BOTS)
    started = time.time()
    result = run_backup(host)
    assert result.rc == 0, result.stderr
    live = {bot: db_summary(host, f"{DATA}/{bot}/tradesv3.sqlite") for bot in BOTS}
    return latest(host), live, started


def test_archive_checksum_verifies(host, backup_run):
    archive, _, _ = backup_run
    assert host.file(archive).mode == 0o600
    check = host.run(f"cd {BACKUPS} && sha256sum -c {archive.rsplit('/', 1)[1]}.sha256")
    assert check.rc == 0 and check.stdout.strip().endswith(": OK"), check.stdout + check.stderr


def test_archive_databases_pass_integrity_and_hold_the_same_trades(host, backup_run, tmp_path):
    archive, live, _ = backup_run
    work = host.check_output("mktemp -d")
    host.check_output(f"tar -xzf {archive} -C {work}")
    for bot in BOTS:
        rows, digest, integrity = db_summary(host, f"{work}/db/{bot}/tradesv3.sqlite")
        assert integrity == "ok"
        assert (rows, digest) == live[bot][:2]
        assert rows > 0
    manifest = json.loads(host.file(f"{work}/MANIFEST.json").content_string)
    assert set(manifest["bots"]) == set(BOTS)
    host.check_output(f"rm -rf {work}")


def test_archive_holds_configs_strategies_journals_and_no_secret(host, backup_run):
    archive, _, _ = backup_run
    names = host.check_output(f"tar -tzf {archive}").split()
    for bot in BOTS:
        assert f"config/{bot}/config.json" in names
        assert f"journal/{bot}.log" in names
    assert "strategies/0123abcd/FakeStrategy.py" in names
    assert not [n for n in names if n.endswith(".env")]
    secrets = host.run(f"tar -xzOf {archive} | grep -ac do-not-archive")
    assert secrets.stdout.strip() == "0"
    journal = host.check_output(f"tar -xzOf {archive} journal/alpha.log")
    assert "fake bot started" in journal or "heartbeat" in journal


def test_success_metric(host, backup_run):
    _, _, started = backup_run
    values = metrics(host)
    assert values["backup_last_exit_code"] == 0
    assert started - 1 <= values["backup_last_success_timestamp_seconds"] <= time.time()
    assert host.file("/var/lib/prometheus/node-exporter/backup.prom").mode == 0o644


def test_run_is_logged_to_the_journal(host, backup_run):
    _, _, started = backup_run
    log = host.check_output(f"journalctl -u ft-backup.service --since @{int(started)} --no-pager")
    assert "verified" in log


def test_backup_of_a_stopped_bot(host, backup_run):
    """A stopped bot's WAL database has no -wal/-shm, and the unit may not create them
    (ProtectSystem=strict): the backup still copies it, and creates nothing beside it."""
    host.check_output("systemctl stop freqtrade@beta")
    try:
        before = host.check_output(f"ls -a {DATA}/beta")
        assert "tradesv3.sqlite-wal" not in before
        assert run_backup(host).rc == 0
        assert host.check_output(f"ls -a {DATA}/beta") == before
        names = host.check_output(f"tar -tzf {latest(host)}").split()
        assert "db/beta/tradesv3.sqlite" in names
    finally:
        host.check_output("systemctl start freqtrade@beta")


def test_retention_prunes_by_count_and_age(host, backup_run):
    old = f"{BACKUPS}/ft-backup-20200101T000000Z.tar.gz"
    host.check_output(f"touch {old} {old}.sha256")
    for _ in range(4):
        assert run_backup(host).rc == 0
    left = archives(host)
    assert len(left) == 3  # backup_keep_count
    assert old not in left
    assert not host.file(f"{old}.sha256").exists
    assert latest(host) == left[-1]
    for archive in left:
        assert host.file(f"{archive}.sha256").exists


FAILING_DROPIN = "/run/systemd/system/ft-backup.service.d/zz-test-tiny.conf"


@pytest.fixture
def failing_destination(host):
    """The real unit, writing to /mnt/tiny (a 64 KiB tmpfs) for the duration of a test."""
    host.check_output(f"mkdir -p {FAILING_DROPIN.rsplit('/', 1)[0]}")
    dropin = (
        "[Service]\nExecStart=\n"
        "ExecStart=/usr/local/sbin/ft-backup run --config /etc/ft-backup/config.json"
        " --dest /mnt/tiny\nReadWritePaths=/mnt/tiny\n"
    )
    host.check_output(f"printf '%s' '{dropin}' > {FAILING_DROPIN} && systemctl daemon-reload")
    yield
    host.check_output(f"rm -f {FAILING_DROPIN} && systemctl daemon-reload")
    host.run("systemctl reset-failed ft-backup.service")


def test_failed_backup_is_visible(host, backup_run, failing_destination):
    before = metrics(host)
    assert before["backup_last_exit_code"] == 0
    since = int(time.time())
    result = run_backup(host)
    assert result.rc != 0
    status = int(host.check_output("systemctl show ft-backup.service -p ExecMainStatus --value"))
    assert status != 0
    after = metrics(host)
    assert after["backup_last_exit_code"] == status
    assert (
        after["backup_last_success_timestamp_seconds"]
        == before["backup_last_success_timestamp_seconds"]
    )
    errors = host.check_output(
        f"journalctl -u ft-backup.service -p err --since @{since} --no-pager"
    )
    assert "backup failed" in errors
    # Nothing half-written is left behind, and the tiny filesystem is empty again.
    assert host.check_output("find /mnt/tiny -mindepth 1 -not -name .lock") == ""


def test_restic_holds_the_latest_archive(host, backup_run):
    archive = latest(host)
    restic = "restic -r /srv/restic-repo --password-file /etc/ft-backup/restic.pass"
    snapshots = json.loads(host.check_output(f"{restic} snapshots --json --tag ft-backup"))
    assert 1 <= len(snapshots) <= 30
    newest = max(snapshots, key=lambda s: s["time"])
    assert archive in newest["paths"]
    target = host.check_output("mktemp -d")
    host.check_output(f"{restic} restore {newest['short_id']} --target {target}")
    restored = host.file(f"{target}{archive}").sha256sum
    assert restored == host.file(archive).sha256sum
    assert host.file(f"{target}{archive}.sha256").exists
    host.check_output(f"rm -rf {target}")


def test_logrotate_runs_daily(host):
    assert host.package("logrotate").is_installed
    assert host.service("logrotate.timer").is_enabled
    dry = host.run("logrotate --debug /etc/logrotate.conf")
    assert dry.rc == 0, dry.stderr
