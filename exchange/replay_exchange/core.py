"""The exchange one server instance runs: replayed market data, the matching engine, the
state file, faults and limits. No web framework here: server.py puts it on the wire."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .engine import Engine
from .faults import Faults, Limiter
from .replay import Replay, load
from .state import StateFile

DEFAULT_HISTORY_DAYS = 35


class Exchange:
    """Everything one server instance owns."""

    def __init__(
        self,
        data_dir: Path | str,
        state_path: Path | str,
        keys: dict[str, dict[str, Any]] | None = None,
        history_days: int = DEFAULT_HISTORY_DAYS,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._clock = clock or (lambda: int(time.time() * 1000))
        self.state = StateFile(state_path)
        data = load(data_dir)
        anchor = self.state.doc.get("anchor")
        if not anchor or anchor.get("window_start") != data.window_start:
            anchor = {
                "offset_ms": data.default_offset(self._clock(), history_days),
                "window_start": data.window_start,
                "window_end": data.window_end,
                "created_ms": self._clock(),
            }
            self.state.doc["anchor"] = anchor
            self.state.save()
        self.replay = Replay(data, int(anchor["offset_ms"]))
        self.replay.overrides = self.state.doc.setdefault("overrides", {})
        # (symbol, kind, interval, first open, last open) -> JSON rows of closed candles
        self.kline_cache: dict[tuple[str, str, str, int, int], str] = {}
        self.request_counts: dict[str, int] = {}  # "METHOD /path" -> count, for conformance checks
        self.faults = Faults()
        self.limiter = Limiter()
        self.keys = keys or {}
        self.engine = Engine(self)

    def now(self) -> int:
        return self._clock()
