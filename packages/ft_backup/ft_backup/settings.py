"""The backup configuration file (JSON, rendered by the Ansible role)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path("/etc/ft-backup/config.json")
# Where a run whose configuration cannot be read still reports its failure.
DEFAULT_METRICS = Path("/var/lib/prometheus/node-exporter/backup.prom")


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid."""


@dataclass(frozen=True)
class ResticSettings:
    repository: str
    password_file: Path
    keep_last: int


@dataclass(frozen=True)
class Settings:
    backup_dir: Path
    prefix: str
    data_dir: Path
    db_filename: str
    config_dir: Path
    strategies_dir: Path
    bots: tuple[str, ...]
    journal_days: int
    journal_unit: str
    keep_count: int
    keep_days: int
    metrics_file: Path
    restic: ResticSettings | None


def _get(raw: dict[str, Any], key: str, kind: type) -> Any:
    if key not in raw:
        raise ConfigError(f"missing key {key!r}")
    value = raw[key]
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise ConfigError(f"{key!r} must be of type {kind.__name__}, got {value!r}")
    return value


def _positive(raw: dict[str, Any], key: str) -> int:
    value: int = _get(raw, key, int)
    if value < 1:
        raise ConfigError(f"{key!r} must be at least 1, got {value}")
    return value


def parse(raw: dict[str, Any]) -> Settings:
    bots = _get(raw, "bots", list)
    if not all(isinstance(b, str) and b and "/" not in b for b in bots):
        raise ConfigError(f"'bots' must be a list of bot names, got {bots!r}")
    if len(set(bots)) != len(bots):
        raise ConfigError(f"'bots' holds a name twice: {bots!r}")
    restic = None
    restic_raw = raw.get("restic")
    if restic_raw:
        restic = ResticSettings(
            repository=_get(restic_raw, "repository", str),
            password_file=Path(_get(restic_raw, "password_file", str)),
            keep_last=_positive(restic_raw, "keep_last"),
        )
        if not restic.repository:
            raise ConfigError("'restic.repository' is empty")
    unit = _get(raw, "journal_unit", str)
    if "{bot}" not in unit:
        raise ConfigError(f"'journal_unit' must contain {{bot}}, got {unit!r}")
    return Settings(
        backup_dir=Path(_get(raw, "backup_dir", str)),
        prefix=_get(raw, "prefix", str),
        data_dir=Path(_get(raw, "data_dir", str)),
        db_filename=_get(raw, "db_filename", str),
        config_dir=Path(_get(raw, "config_dir", str)),
        strategies_dir=Path(_get(raw, "strategies_dir", str)),
        bots=tuple(bots),
        journal_days=_get(raw, "journal_days", int),
        journal_unit=unit,
        keep_count=_positive(raw, "keep_count"),
        keep_days=_positive(raw, "keep_days"),
        metrics_file=Path(_get(raw, "metrics_file", str)),
        restic=restic,
    )


def load(path: Path) -> Settings:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    try:
        return parse(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
