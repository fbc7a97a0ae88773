"""SQLite: online copies through the backup API, integrity checks, trade summaries."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

# Seconds a connection waits for a bot's write lock before giving up.
BUSY_TIMEOUT = 60.0


def is_wal(path: Path) -> bool:
    """Bytes 18 and 19 of the header are 2 for a database in WAL mode."""
    with path.open("rb") as db:
        header = db.read(20)
    return len(header) == 20 and header[18] == 2 and header[19] == 2


def _open_ro(path: Path) -> sqlite3.Connection:
    """Read-only, creating nothing next to the file. A WAL database without its -shm is
    open nowhere (its bot is stopped) and complete; opened normally, SQLite would create
    -shm and -wal next to it, owned by root, which the bot could then not open: it is
    read as immutable instead."""
    immutable = is_wal(path) and not path.with_name(path.name + "-shm").exists()
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
    _copy(_open_ro(src), dst)


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
