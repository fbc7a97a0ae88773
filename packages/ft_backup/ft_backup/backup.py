"""One backup run: stage, archive, verify, prune, copy off-site."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import archive, offsite, retention, sqlitedb
from .settings import Settings

log = logging.getLogger("ft-backup")
# Never archived: the bots' secrets live in <config_dir>/<bot>.env, outside the bot's
# config directory; these patterns guard against a secret file placed inside it.
SECRET_PATTERNS = ("*.env", "*.key", "*secret*", "*.pass")


def _is_secret(path: Path) -> bool:
    return any(path.match(p) for p in SECRET_PATTERNS)


def copy_tree(src: Path, dst: Path) -> int:
    """Copy regular files (no secrets, no bytecode); returns the number copied."""
    count = 0
    if not src.is_dir():
        log.warning("%s does not exist: nothing copied", src)
        return 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if not path.is_file() or path.is_symlink() or "__pycache__" in rel.parts:
            continue
        if _is_secret(path):
            log.info("skipped secret-looking file %s", path)
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        count += 1
    return count


def export_journal(unit: str, days: int, dst: Path) -> None:
    since = int(time.time()) - days * 86400
    dst.parent.mkdir(parents=True, exist_ok=True)
    with dst.open("wb") as out:
        subprocess.run(
            ["journalctl", "--unit", unit, "--since", f"@{since}", "--output", "short-iso-precise",
             "--no-pager", "--quiet"],
            stdout=out, stderr=subprocess.PIPE, check=True,
        )  # fmt: skip


def stage(settings: Settings, staging: Path) -> dict[str, Any]:
    bots: dict[str, Any] = {}
    for bot in settings.bots:
        member = archive.db_member(bot, settings.db_filename)
        copy = staging / member
        copy.parent.mkdir(parents=True)
        sqlitedb.online_copy(settings.data_dir / bot / settings.db_filename, copy)
        result = sqlitedb.integrity_check(copy)
        if result != "ok":
            raise archive.VerifyError(f"bot {bot}: copy fails integrity_check: {result}")
        rows, digest = sqlitedb.trades_summary(copy)
        bots[bot] = {"member": member, "trades_rows": rows, "trades_sha256": digest}
        configs = copy_tree(settings.config_dir / bot, staging / "config" / bot)
        if settings.journal_days > 0:
            unit = settings.journal_unit.format(bot=bot)
            export_journal(unit, settings.journal_days, staging / "journal" / f"{bot}.log")
        log.info("bot %s: %d trades, %d config files", bot, rows, configs)
    strategies = copy_tree(settings.strategies_dir, staging / "strategies")
    log.info("strategies: %d files", strategies)
    return {
        "format": 1,
        "host": socket.gethostname(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "bots": bots,
        "paths": {
            "data_dir": str(settings.data_dir),
            "db_filename": settings.db_filename,
            "config_dir": str(settings.config_dir),
            "strategies_dir": str(settings.strategies_dir),
        },
        "journal_days": settings.journal_days,
    }


def new_archive_path(settings: Settings) -> Path:
    """A name from the current second; waits a second rather than reuse a name."""
    for _ in range(3):
        path = settings.backup_dir / retention.archive_name(settings.prefix, datetime.now(UTC))
        if not path.exists():
            return path
        time.sleep(1)
    raise FileExistsError(f"{path} exists")


def prune(settings: Settings) -> list[str]:
    names = [p.name for p in settings.backup_dir.iterdir()]
    now = datetime.now(UTC)
    doomed = retention.prunable(
        names, settings.prefix, now, settings.keep_count, settings.keep_days
    )
    for name in doomed:
        path = settings.backup_dir / name
        path.unlink(missing_ok=True)
        archive.checksum_path(path).unlink(missing_ok=True)
        log.info("pruned %s", name)
    return doomed


def run(settings: Settings) -> Path:
    """Make, verify and prune; returns the new archive. Raises on any failure."""
    settings.backup_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = new_archive_path(settings)
    with tempfile.TemporaryDirectory(dir=settings.backup_dir, prefix=".staging-") as tmp:
        staging = Path(tmp)
        manifest = stage(settings, staging)
        archive.write(staging, manifest, target)
    try:
        verified = archive.verify(target, settings.backup_dir)
    except archive.VerifyError:
        # A damaged archive must not become "the latest" a restore would pick.
        target.unlink(missing_ok=True)
        archive.checksum_path(target).unlink(missing_ok=True)
        raise
    log.info(
        "wrote %s (%d bytes, sha256 %s), verified",
        target, target.stat().st_size, verified.sha256,
    )  # fmt: skip
    prune(settings)
    if settings.restic is not None:
        offsite.copy(settings.restic, [target, archive.checksum_path(target)])
    return target


def latest(backup_dir: Path, prefix: str) -> Path | None:
    """The newest archive that has its checksum file."""
    if not backup_dir.is_dir():
        return None
    names = [p.name for p in backup_dir.iterdir()]
    for _, name in retention.newest_first(names, prefix):
        path = backup_dir / name
        if archive.checksum_path(path).is_file():
            return path
    return None


def describe(verified: archive.Verified) -> str:
    summary = {
        "archive": str(verified.archive),
        "sha256": verified.sha256,
        "created": verified.manifest.get("created"),
        "host": verified.manifest.get("host"),
        "bots": verified.manifest.get("bots", {}),
    }
    return json.dumps(summary, sort_keys=True)
