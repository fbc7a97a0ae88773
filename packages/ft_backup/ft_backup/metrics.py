"""node-exporter textfile with the backup status (contract: docs/monitoring.md)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

LAST_SUCCESS = "backup_last_success_timestamp_seconds"
EXIT_CODE = "backup_last_exit_code"
SIZE = "backup_last_success_size_bytes"
DURATION = "backup_last_duration_seconds"


def read(path: Path) -> dict[str, float]:
    values: dict[str, float] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return values
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            with contextlib.suppress(ValueError):
                values[parts[0]] = float(parts[1])
    return values


def render(values: dict[str, float]) -> str:
    lines = []
    for name in (LAST_SUCCESS, EXIT_CODE, SIZE, DURATION):
        if name in values:
            lines.append(f"# TYPE {name} gauge")
            digits = 3 if name == DURATION else 0
            lines.append(f"{name} {values[name]:.{digits}f}")
    return "\n".join(lines) + "\n"


def record(path: Path, exit_code: int, now: float, duration: float, size: int | None) -> None:
    """Write the status atomically; the success timestamp and size change only on success."""
    values = {k: v for k, v in read(path).items() if k in (LAST_SUCCESS, SIZE)}
    values[EXIT_CODE] = exit_code
    values[DURATION] = duration
    if exit_code == 0:
        values[LAST_SUCCESS] = now
        if size is not None:
            values[SIZE] = size
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(render(values))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
