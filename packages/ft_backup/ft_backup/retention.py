"""Archive names and which archives to prune (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

SUFFIX = ".tar.gz"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_STAMP_RE = re.compile(r"^(?P<prefix>.+)-(?P<stamp>\d{8}T\d{6}Z)\.tar\.gz$")


def archive_name(prefix: str, when: datetime) -> str:
    return f"{prefix}-{when.astimezone(UTC).strftime(STAMP_FORMAT)}{SUFFIX}"


def archive_time(name: str, prefix: str) -> datetime | None:
    """The creation time in an archive's name; None for any other file."""
    match = _STAMP_RE.match(name)
    if not match or match["prefix"] != prefix:
        return None
    try:
        return datetime.strptime(match["stamp"], STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def newest_first(names: Iterable[str], prefix: str) -> list[tuple[datetime, str]]:
    dated = [(t, n) for n in names if (t := archive_time(n, prefix)) is not None]
    return sorted(dated, reverse=True)


def prunable(
    names: Iterable[str], prefix: str, now: datetime, keep_count: int, keep_days: int
) -> list[str]:
    """Archives beyond the newest keep_count, or older than keep_days. The newest archive
    is always kept, whatever its age, and files that are not archives are never touched."""
    if keep_count < 1 or keep_days < 1:
        raise ValueError("keep_count and keep_days must be at least 1")
    oldest_kept = now - timedelta(days=keep_days)
    return [
        name
        for index, (when, name) in enumerate(newest_first(names, prefix))
        if index > 0 and (index >= keep_count or when < oldest_kept)
    ]
