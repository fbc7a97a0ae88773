"""A full backup disk: the backup fails loudly (exit status, journal at priority err, the
monitor's metric) and the bots keep trading, untouched; the next backup with space works.

The full disk is /mnt/tiny, a 64 KiB tmpfs the reliability container is started with
(tools/reliability/up.sh: an unprivileged container cannot mount one itself, and systemd's
TemporaryFileSystem= fails there with "Failed to set up mount namespacing"). A runtime
drop-in points the real ft-backup unit at it; removing the drop-in ends the fault.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import rel_stack as stack
from test_process_faults import record, same_rows

UNIT = "ft-backup.service"
BACKUP_DIR = "/var/backups/freqtrade"
TINY = "/mnt/tiny"
DROPIN = "/run/systemd/system/ft-backup.service.d/zz-reliability-full-disk.conf"
NODE_EXPORTER = "http://127.0.0.1:9100/metrics"


def backup_metrics() -> dict[str, float]:
    """The backup job's status as node-exporter serves it to Prometheus."""
    answer = stack.monitor_http(NODE_EXPORTER)
    assert answer.status == 200, f"node-exporter does not answer: {answer}"
    values: dict[str, float] = {}
    for line in answer.body.splitlines():
        if line.startswith("backup_") and " " in line:
            name, _, value = line.rpartition(" ")
            values[name.split("{", 1)[0]] = float(value)
    return values


def run_backup() -> int:
    """Start the real unit and wait for it (a oneshot); its exit status."""
    stack.sh(f"systemctl start {UNIT}", check=False, timeout=600)
    return int(stack.sh(f"systemctl show {UNIT} -p ExecMainStatus --value").strip() or 0)


@pytest.fixture()
def full_disk() -> Iterator[None]:
    mount = stack.sh(f"findmnt -n -o FSTYPE,SIZE {TINY} || true").split()
    assert mount[:1] == ["tmpfs"], (
        f"{stack.CONTAINER} has no {TINY} tmpfs: it predates tools/reliability/up.sh's tiny "
        "disk; `make reliability-down reliability` starts a new one"
    )
    command = stack.sh(f"systemctl show {UNIT} -p ExecStart --value")
    argv = command.split("argv[]=", 1)[1].split(" ;", 1)[0]
    stack.sh(
        f"mkdir -p {DROPIN.rsplit('/', 1)[0]} && printf '%s\\n' '[Service]' 'ExecStart=' "
        f"'ExecStart={argv} --dest {TINY}' 'ReadWritePaths={TINY}' > {DROPIN} "
        "&& systemctl daemon-reload"
    )
    try:
        yield
    finally:
        stack.sh(f"rm -f {DROPIN} && systemctl daemon-reload && systemctl reset-failed {UNIT}")


@pytest.mark.slow
def test_full_backup_disk_fails_loudly_and_bots_keep_trading(full_disk: None) -> None:
    pids = {b: stack.unit(f"freqtrade@{b}")["MainPID"] for b in stack.BOTS}
    rows = {b: stack.trades(b) for b in stack.BOTS}
    archives = stack.sh(f"ls {BACKUP_DIR}")
    before = backup_metrics()
    since = int(time.time())

    status = run_backup()

    errors = stack.sh(f"journalctl -u {UNIT} -p err --since @{since} --no-pager -o cat")
    # node-exporter reads the textfile on each scrape.
    after = backup_metrics()
    record(
        "backup-full-disk",
        exit_status=status,
        journal_err_lines=len(errors.splitlines()),
        metric_exit_code=after.get("backup_last_exit_code"),
    )
    assert status != 0, "a backup onto a full disk reported success"
    assert "backup failed" in errors, errors[-500:]
    assert after["backup_last_exit_code"] == status
    assert after.get("backup_last_success_timestamp_seconds") == before.get(
        "backup_last_success_timestamp_seconds"
    ), "a failed backup moved the last-success timestamp"
    for bot in stack.BOTS:
        assert stack.unit(f"freqtrade@{bot}")["MainPID"] == pids[bot], f"{bot} was restarted"
        assert stack.healthy(bot), f"{bot} stopped answering"
        assert not same_rows(rows[bot], stack.trades(bot)), f"{bot} lost or changed a trade"
    # The real backup directory was not touched, and nothing half-written is left.
    assert stack.sh(f"ls {BACKUP_DIR}") == archives
    assert stack.sh(f"find {TINY} -mindepth 1 -not -name .lock") == ""


@pytest.mark.slow
def test_backup_works_again_once_there_is_space() -> None:
    before = backup_metrics()
    assert run_backup() == 0
    after = backup_metrics()
    assert after["backup_last_exit_code"] == 0
    assert after["backup_last_success_timestamp_seconds"] > before.get(
        "backup_last_success_timestamp_seconds", 0
    )
