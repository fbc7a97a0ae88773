"""The strategies' risk governor, as each bot publishes it (futures_risk.status_file, written
by futures_lib.manager): read and checked here, shown as metrics by the collector."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

# metric suffix, help, key in the status file
GAUGES: tuple[tuple[str, str, str], ...] = (
    ("drawdown_ratio", "Governor's drawdown from its mark-to-market high-water mark.", "drawdown"),
    ("max_drawdown_ratio", "Drawdown at which the governor halts new entries.", "max_drawdown"),
    ("daily_loss_ratio", "Loss since the UTC day's opening equity.", "daily_loss"),
    ("daily_loss_limit_ratio", "Daily loss at which the governor halts.", "daily_loss_limit"),
    ("risk_scale_ratio", "Multiplier of the per-trade risk (0 while halted).", "risk_scale"),
    ("risk_per_trade_ratio", "Configured equity lost at a stop, before scaling.", "risk_per_trade"),
    ("equity_usdt", "Equity as the governor marks it.", "equity"),
    ("high_water_usdt", "Governor's high-water mark.", "high_water"),
    ("halted", "1 while the governor refuses new entries.", "halted"),
)


class GovernorStatus(NamedTuple):
    time: float
    values: dict[str, float]
    reason: str


def read_status(path: Path) -> GovernorStatus | None:
    """The status file, or None when it is missing, unreadable or malformed."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        values = {key: float(raw[key]) for _, _, key in GAUGES}
        when = float(raw["time"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all(math.isfinite(v) for v in (*values.values(), when)):
        return None
    return GovernorStatus(when, values, str(raw.get("reason") or ""))


def governor_metrics(files: dict[str, Path], now: float) -> Iterator[Metric]:
    """risk_bot_governor_* per bot; ``..._status_up`` 0 where no valid status was read."""
    up = GaugeMetricFamily(
        "risk_bot_governor_status_up",
        "1 if the bot's governor status file was read and valid.",
        labels=["bot"],
    )
    age = GaugeMetricFamily(
        "risk_bot_governor_status_age_seconds",
        "Age of the governor status (the bot rewrites it at least every loop that changes it).",
        labels=["bot"],
    )
    gauges = {
        key: GaugeMetricFamily(f"risk_bot_governor_{suffix}", doc, labels=["bot"])
        for suffix, doc, key in GAUGES
    }
    for bot, path in files.items():
        status = read_status(path)
        up.add_metric([bot], 0.0 if status is None else 1.0)
        if status is None:
            continue
        age.add_metric([bot], max(0.0, now - status.time))
        for key, value in status.values.items():
            gauges[key].add_metric([bot], value)
    yield up
    yield age
    yield from gauges.values()
