"""SQLite: online copies through the backup API, integrity checks, trade summaries."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

# Seconds a connection waits for a bot's write lock before giving up.
BUSY_TIMEOUT = 60.0


def _open_ro(path: Path, immutable: bool = False) -> sqlite3.Connection:
    # Read-only: the backup never writes to a live database or creates files next to it.
    uri = path.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")
    return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT)


def _copy(source: sqlite3.Connection, dst: Path) -> None:
    with closing(source), closing(sqlite3.connect(dst)) as target:
        source.backup(target)
        # One self-contained file (freqtrade's databases are in WAL mode).
        target.execute("PRAGMA journal_mode=DELETE")


def online_copy(src: Path, dst: Path) -> None:
    """Copy a database that may be in use: one backup step under a shared lock."""
    if not src.is_file():
        raise FileNotFoundError(f"no database at {src}")
    try:
        _copy(_open_ro(src), dst)
    except sqlite3.OperationalError:
        if src.with_name(src.name + "-wal").exists():
            raise
        # A WAL database whose bot is stopped, in a directory this process may not write
        # (the unit's ProtectSystem=strict): SQLite cannot create the -shm it wants, but
        # without a -wal the file is complete and can be read as it is.
        dst.unlink(missing_ok=True)
        _copy(_open_ro(src, immutable=True), dst)


def integrity_check(path: Path) -> str:
    """'ok', or SQLite's list of problems."""
    try:
        with closing(_open_ro(path)) as db:
            rows = db.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return f"not a usable database: {exc}"
    return "; ".join(str(r[0]) for r in rows)


def trades_summary(path: Path, table: str = "trades") -> tuple[int, str]:
    """Row count and a sha256 over every row of the trades table (in id order)."""
    with closing(_open_ro(path)) as db:
        found = db.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()[0]
        if not found:
            return 0, ""
        digest = hashlib.sha256()
        count = 0
        for row in db.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):
            digest.update(repr(tuple(row)).encode())
            digest.update(b"\n")
            count += 1
    return count, digest.hexdigest()
