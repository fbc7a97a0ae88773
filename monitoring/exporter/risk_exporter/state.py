"""Peak equity survives restarts: without it a restart would reset drawdown to zero."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class PeakStore:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.peaks: dict[str, float] = {}
        # Poll threads of different bots share one file.
        self._lock = threading.Lock()
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self.peaks = {str(k): float(v) for k, v in data.get("peak_equity", {}).items()}
            except (OSError, ValueError, AttributeError) as exc:
                log.warning("ignoring unreadable state file %s: %s", path, exc)

    def get(self, bot: str) -> float | None:
        return self.peaks.get(bot)

    def set(self, bot: str, peak: float) -> None:
        with self._lock:
            if self.peaks.get(bot) == peak:
                return
            self.peaks[bot] = peak
            if self.path is None:
                return
            # Write-then-rename: a crash mid-write never leaves a truncated state file.
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"peak_equity": self.peaks}, fh)
            os.replace(tmp, self.path)
