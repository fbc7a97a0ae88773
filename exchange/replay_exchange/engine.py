"""Placeholder engine (replaced by the matching engine)."""

from __future__ import annotations

from typing import Any


class Engine:
    def __init__(self, ex: Any) -> None:
        self.ex = ex

    def tick(self) -> None:
        pass

    def snapshot(self) -> dict[str, Any]:
        return {}

    def account(self, key: str) -> dict[str, Any]:
        return {"wallet": 0.0}

    def persist(self, force: bool = False) -> None:
        pass
