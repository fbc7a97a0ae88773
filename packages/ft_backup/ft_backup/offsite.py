"""Off-site copy of finished archives with restic."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from .settings import ResticSettings

log = logging.getLogger("ft-backup")
TAG = "ft-backup"


class ResticError(Exception):
    """restic exited non-zero."""


def restic(settings: ResticSettings, *args: str) -> str:
    cmd = [
        "restic",
        "--repo",
        settings.repository,
        "--password-file",
        str(settings.password_file),
        "--quiet",
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ResticError(f"restic {args[0]} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def copy(settings: ResticSettings, files: list[Path]) -> None:
    """Store the archive and its checksum, then keep the newest keep_last snapshots."""
    restic(settings, "backup", "--tag", TAG, *(str(f) for f in files))
    restic(settings, "forget", "--tag", TAG, "--keep-last", str(settings.keep_last), "--prune")
    log.info("restic: copied %s to %s", ", ".join(f.name for f in files), settings.repository)
