"""Restore bots from a verified archive. The current database is kept aside, never lost."""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import archive, sqlitedb

log = logging.getLogger("ft-backup")
# SQLite's companions of a database file; they belong to the old database and must move
# with it (a stale -journal or -wal next to the restored file would be replayed into it).
COMPANIONS = ("", "-journal", "-wal", "-shm")


class RestoreError(Exception):
    """The restore cannot proceed; nothing was changed."""


@dataclass(frozen=True)
class Targets:
    data_dir: Path
    db_filename: str
    config_dir: Path
    strategies_dir: Path


def plan(verified: archive.Verified, targets: Targets, bots: list[str]) -> list[str]:
    """The bots to restore, after every check that can be made without changing anything."""
    in_archive: dict[str, Any] = verified.manifest.get("bots", {})
    chosen = bots or sorted(in_archive)
    if not chosen:
        raise RestoreError(f"{verified.archive.name} holds no bot")
    if missing := [b for b in chosen if b not in in_archive]:
        raise RestoreError(
            f"bots {missing} are not in {verified.archive.name} (it holds {sorted(in_archive)})"
        )
    for bot in chosen:
        home = targets.data_dir / bot
        if not home.is_dir():
            raise RestoreError(
                f"bot {bot}: {home} does not exist on this host; deploy the bot first "
                "(site.yml) or leave it out of backup_restore_bots"
            )
    return chosen


def _write_member(
    tar: tarfile.TarFile, name: str, dst: Path, owner: os.stat_result, mode: int
) -> None:
    tmp = dst.with_name(f".{dst.name}.restore-tmp")
    try:
        archive.extract_member(tar, name, tmp)
        os.chown(tmp, owner.st_uid, owner.st_gid)
        os.chmod(tmp, mode)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def _set_aside(path: Path, stamp: str) -> Path | None:
    aside = None
    for suffix in COMPANIONS:
        current = path.with_name(path.name + suffix)
        if current.exists():
            kept = current.with_name(f"{current.name}.pre-restore-{stamp}")
            os.replace(current, kept)
            aside = aside or kept
    return aside


def _restore_dbs(
    tar: tarfile.TarFile, manifest: dict[str, Any], targets: Targets, bots: list[str], stamp: str
) -> dict[str, Any]:
    staged: dict[str, Path] = {}
    try:
        # Stage every database first, next to its live file (same filesystem: the swap is
        # a rename), and check it before any live file is touched.
        for bot in bots:
            meta = manifest["bots"][bot]
            home = targets.data_dir / bot
            tmp = home / f".{targets.db_filename}.restore-tmp"
            archive.extract_member(tar, meta["member"], tmp)
            staged[bot] = tmp
            owner = home.stat()
            os.chown(tmp, owner.st_uid, owner.st_gid)
            os.chmod(tmp, 0o640)
            archive.check_db_file(tmp, bot, meta)
        report: dict[str, Any] = {}
        for bot, tmp in staged.items():
            live = targets.data_dir / bot / targets.db_filename
            aside = _set_aside(live, stamp)
            os.replace(tmp, live)
            result = sqlitedb.integrity_check(live)
            rows, digest = sqlitedb.trades_summary(live)
            report[bot] = {
                "database": str(live),
                "kept_aside": str(aside) if aside else None,
                "integrity_check": result,
                "trades_rows": rows,
                "trades_sha256": digest,
            }
            log.info("bot %s: restored %d trades, previous database kept as %s", bot, rows, aside)
        return report
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)


def _restore_tree(
    tar: tarfile.TarFile, files: list[str], prefix: str, root: Path, stamp: str, mode: int
) -> int:
    """Files under prefix/ into root/, owned like root (configs: root:freqtrade); a file
    that is already there is copied aside first."""
    count = 0
    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    owner = root.stat()
    for name in files:
        if not name.startswith(prefix):
            continue
        dst = root / name[len(prefix) :]
        dst.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        if dst.exists():
            shutil.copy2(dst, dst.with_name(f"{dst.name}.pre-restore-{stamp}"))
        _write_member(tar, name, dst, owner, mode)
        count += 1
    return count


def restore(
    verified: archive.Verified,
    targets: Targets,
    bots: list[str],
    with_configs: bool,
    with_strategies: bool,
) -> dict[str, Any]:
    chosen = plan(verified, targets, bots)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    manifest = verified.manifest
    files = sorted(manifest["files"])
    with tarfile.open(verified.archive, "r:gz") as tar:
        report: dict[str, Any] = {"bots": _restore_dbs(tar, manifest, targets, chosen, stamp)}
        if with_configs:
            for bot in chosen:
                home = targets.config_dir / bot
                n = _restore_tree(tar, files, f"config/{bot}/", home, stamp, 0o640)
                report["bots"][bot]["config_files"] = n
        if with_strategies:
            n = _restore_tree(tar, files, "strategies/", targets.strategies_dir, stamp, 0o644)
            report["strategy_files"] = n
    report["archive"] = str(verified.archive)
    return report
