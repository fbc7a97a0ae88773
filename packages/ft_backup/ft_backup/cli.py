"""Command line: ft-backup run | verify | latest | restore."""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from . import archive, backup, metrics, offsite, restore, settings

log = logging.getLogger("ft-backup")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_VERIFY = 3
EXIT_RESTIC = 4
EXIT_REFUSED = 5
EXIT_BUSY = 6


class JournalFormatter(logging.Formatter):
    """Prefix lines with their syslog priority when stderr is the journal, so that
    `journalctl -p err` finds failures."""

    PRIORITY: ClassVar[dict[str, int]] = {
        "DEBUG": 7,
        "INFO": 6,
        "WARNING": 4,
        "ERROR": 3,
        "CRITICAL": 2,
    }

    def format(self, record: logging.LogRecord) -> str:
        return f"<{self.PRIORITY.get(record.levelname, 6)}>{super().format(record)}"


def setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(JournalFormatter("%(levelname)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("ft-backup: %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


class BusyError(Exception):
    """Another backup or restore holds the lock."""


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """One backup or restore at a time per backup directory."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BusyError(f"another backup or restore is running ({directory}/.lock)") from exc
        yield


def cmd_run(args: argparse.Namespace) -> int:
    started = time.time()
    try:
        conf = settings.load(args.config)
    except settings.ConfigError as exc:
        log.error("%s", exc)
        try:
            metrics.record(settings.DEFAULT_METRICS, EXIT_CONFIG, time.time(), 0.0, None)
        except OSError as write_error:
            log.error("cannot write %s: %s", settings.DEFAULT_METRICS, write_error)
        return EXIT_CONFIG
    if args.dest:
        conf = settings.Settings(**{**conf.__dict__, "backup_dir": args.dest})
    code, size = EXIT_FAILED, None
    try:
        with locked(conf.backup_dir):
            target = backup.run(conf)
        code, size = EXIT_OK, target.stat().st_size
    except BusyError as exc:
        log.error("%s", exc)
        code = EXIT_BUSY
    except archive.VerifyError as exc:
        log.error("backup failed verification: %s", exc)
        code = EXIT_VERIFY
    except offsite.ResticError as exc:
        log.error("off-site copy failed: %s", exc)
        code = EXIT_RESTIC
    except Exception as exc:
        log.error("backup failed: %s: %s", type(exc).__name__, exc)
        code = EXIT_FAILED
    finally:
        try:
            metrics.record(conf.metrics_file, code, time.time(), time.time() - started, size)
        except OSError as exc:
            log.error("cannot write %s: %s", conf.metrics_file, exc)
            code = code or EXIT_FAILED
    if code == EXIT_OK:
        log.info("backup finished in %.1f s", time.time() - started)
    return code


def backup_dir(args: argparse.Namespace) -> tuple[Path, str]:
    if args.dir:
        return args.dir, args.prefix
    conf = settings.load(args.config)
    return conf.backup_dir, conf.prefix


def cmd_latest(args: argparse.Namespace) -> int:
    try:
        directory, prefix = backup_dir(args)
    except settings.ConfigError as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    found = backup.latest(directory, prefix)
    if found is None:
        log.error("no archive with a checksum file in %s", directory)
        return EXIT_REFUSED
    print(found)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        verified = archive.verify(args.archive, args.archive.parent)
    except archive.VerifyError as exc:
        log.error("%s", exc)
        return EXIT_VERIFY
    print(backup.describe(verified))
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    targets = restore.Targets(args.data_dir, args.db_filename, args.config_dir, args.strategies_dir)
    bots = [b for b in args.bots.split(",") if b] if args.bots else []
    try:
        with locked(args.archive.parent):
            verified = archive.verify(args.archive, args.archive.parent)
            if args.check:
                chosen = restore.plan(verified, targets, bots)
                print(json.dumps({"archive": str(args.archive), "bots": chosen}))
                return EXIT_OK
            report = restore.restore(verified, targets, bots, args.configs, args.strategies)
    except archive.VerifyError as exc:
        log.error("refusing to restore: %s", exc)
        return EXIT_VERIFY
    except (restore.RestoreError, BusyError) as exc:
        log.error("refusing to restore: %s", exc)
        return EXIT_REFUSED
    print(json.dumps(report, sort_keys=True))
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ft-backup", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="make, verify and prune one backup (and copy it off-site)")
    run.add_argument("--config", type=Path, default=settings.DEFAULT_CONFIG)
    run.add_argument("--dest", type=Path, help="write the archive here instead of backup_dir")
    run.set_defaults(func=cmd_run)

    latest = sub.add_parser("latest", help="print the newest archive that has a checksum")
    latest.add_argument("--config", type=Path, default=settings.DEFAULT_CONFIG)
    latest.add_argument("--dir", type=Path, help="look here instead of the configured backup_dir")
    latest.add_argument("--prefix", default="ft-backup")
    latest.set_defaults(func=cmd_latest)

    verify = sub.add_parser("verify", help="check an archive: checksum, manifest, databases")
    verify.add_argument("archive", type=Path)
    verify.set_defaults(func=cmd_verify)

    rest = sub.add_parser("restore", help="put an archive's databases (and more) back")
    rest.add_argument("archive", type=Path)
    rest.add_argument("--bots", help="comma-separated; default: every bot in the archive")
    rest.add_argument("--check", action="store_true", help="verify and plan only, change nothing")
    rest.add_argument("--configs", action="store_true", help="restore the bots' configs too")
    rest.add_argument("--strategies", action="store_true", help="restore the strategies too")
    rest.add_argument("--data-dir", type=Path, default=Path("/var/lib/freqtrade/bots"))
    rest.add_argument("--db-filename", default="tradesv3.sqlite")
    rest.add_argument("--config-dir", type=Path, default=Path("/etc/freqtrade"))
    rest.add_argument("--strategies-dir", type=Path, default=Path("/opt/freqtrade/strategies"))
    rest.set_defaults(func=cmd_restore)
    return top


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    args = parser().parse_args(argv)
    return int(args.func(args))
