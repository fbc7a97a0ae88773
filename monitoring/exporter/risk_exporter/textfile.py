"""Re-expose a node-exporter textfile (e.g. the backup job's status) verbatim."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families


def read_textfile(path: Path) -> Iterator[Metric]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return iter(())
    try:
        return iter(list(text_string_to_metric_families(text)))
    except ValueError:
        return iter(())
