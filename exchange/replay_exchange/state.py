"""The persisted state file: replay anchor, accounts, orders, positions, ledgers.

One JSON document, written atomically (temp file + rename) so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


class StateFile:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.doc: dict[str, Any] = {}
        if self.path.exists() and self.path.stat().st_size:
            self.doc = json.loads(self.path.read_text())

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.doc, separators=(",", ":"))  # C encoder; json.dump is pure Python
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, self.path)
