"""Thin adapter over freqtrade_client.FtRestClient: turns its soft failures into exceptions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from freqtrade_client import FtRestClient

from .config import BotConfig


class BotApiError(RuntimeError):
    pass


class TradesApi(Protocol):
    def trades(self, limit: int | None = None, offset: int | None = None) -> Any: ...


class BotApi(TradesApi, Protocol):
    def show_config(self) -> Any: ...
    def status(self) -> Any: ...
    def balance(self) -> Any: ...
    def profit(self) -> Any: ...
    def daily(self, days: int | None = None) -> Any: ...
    def health(self) -> Any: ...
    def logs(self, limit: int | None = None) -> Any: ...


def make_client(bot: BotConfig, timeout: float) -> FtRestClient:
    return FtRestClient(bot.url, bot.username, bot.password(), timeout=timeout)


def checked(result: Any, what: str) -> Any:
    """FtRestClient returns None on connection errors and the JSON error body on HTTP errors
    (e.g. {"detail": "Unauthorized"}); both must count as a failed poll."""
    if result is None:
        raise BotApiError(f"{what}: no response (connection failed)")
    if isinstance(result, dict) and set(result) <= {"detail", "error"} and result:
        raise BotApiError(f"{what}: {result}")
    return result


@dataclass
class RawPoll:
    show_config: dict[str, Any]
    status: list[dict[str, Any]]
    balance: dict[str, Any]
    profit: dict[str, Any]
    daily: dict[str, Any] | None
    health: dict[str, Any] | None
    logs: dict[str, Any] | None


def fetch(api: BotApi, log_limit: int) -> RawPoll:
    """One poll. The core calls must succeed; /daily, /health and /logs are best effort so an
    older freqtrade without them still gets its positions monitored."""
    show_config = checked(api.show_config(), "show_config")
    status = checked(api.status(), "status")
    if not isinstance(status, list):
        raise BotApiError(f"status: unexpected payload {status!r:.200}")
    balance = checked(api.balance(), "balance")
    profit = checked(api.profit(), "profit")

    def optional(call: Any, what: str) -> Any:
        try:
            return checked(call(), what)
        except (BotApiError, ValueError):
            return None

    return RawPoll(
        show_config=show_config,
        status=status,
        balance=balance,
        profit=profit,
        daily=optional(lambda: api.daily(1), "daily"),
        health=optional(api.health, "health"),
        logs=optional(lambda: api.logs(log_limit), "logs"),
    )


def checked_trades_page(api: TradesApi, limit: int, offset: int) -> list[dict[str, Any]]:
    """One page of closed trades (`/trades`, ordered by id) from `offset`. The totals over
    them are closed.py's."""
    resp = checked(api.trades(limit=limit, offset=offset), "trades")
    trades = (resp.get("trades") or []) if isinstance(resp, dict) else None
    if not isinstance(trades, list) or not all(isinstance(t, dict) for t in trades):
        raise BotApiError(f"trades: unexpected payload {resp!r:.200}")
    return trades
