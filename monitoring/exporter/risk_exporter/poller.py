"""Polling: one thread per bot, so a hanging bot delays nobody else. Each poll either replaces
the bot's snapshot or leaves the last good one in place and marks the bot down."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from . import riskmath
from .client import BotApi, BotApiError, fetch
from .closed import ClosedTrades, closed_since, open_trade_ids
from .config import BotConfig, Config
from .funding import fetch_premium_index, pair_to_symbol
from .snapshot import BotSnapshot, build_snapshot, count_exchange_errors
from .state import PeakStore

log = logging.getLogger(__name__)

POLL_ERRORS = (BotApiError, requests.RequestException, ValueError, KeyError, TypeError, OSError)


@dataclass
class BotState:
    bot: BotConfig
    started_at: float
    up: bool = False
    last_success: float | None = None
    polls: int = 0
    poll_errors: int = 0
    last_error: str = ""
    poll_duration: float = math.nan
    snapshot: BotSnapshot | None = None
    peak_equity: float | None = None
    exchange_errors: int = 0
    # Log records older than the exporter are history, not news: start the watermark now.
    exchange_error_watermark_ms: float = 0.0
    # Funding and returns by leverage of closed trades: committed (with the paging offset they
    # cover) and provisional.
    closed: ClosedTrades = field(default_factory=ClosedTrades)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if not self.exchange_error_watermark_ms:
            self.exchange_error_watermark_ms = self.started_at * 1000.0

    def staleness(self, now: float) -> float:
        return now - (self.last_success if self.last_success is not None else self.started_at)

    @property
    def drawdown(self) -> float:
        if self.snapshot is None or self.peak_equity is None:
            return math.nan
        return riskmath.drawdown(self.snapshot.equity, self.peak_equity)


def poll_once(
    state: BotState,
    api: BotApi,
    cfg: Config,
    peaks: PeakStore,
    now: float,
    clock: Callable[[], float],
) -> bool:
    """Poll one bot and fold the result into `state`. Returns True on success."""
    t0 = clock()
    try:
        raw = fetch(api, cfg.log_limit)
        snap = build_snapshot(
            now=now,
            cfg=cfg,
            bot=state.bot,
            show_config=raw.show_config,
            status=raw.status,
            balance=raw.balance,
            profit=raw.profit,
            daily=raw.daily,
            health=raw.health,
        )
        # /status (in `raw`) was read before the first /trades page, as closed_since needs.
        closed = closed_since(api, state.closed, open_trade_ids(raw.status))
    except POLL_ERRORS as exc:
        with state.lock:
            state.up = False
            state.polls += 1
            state.poll_errors += 1
            state.last_error = f"{type(exc).__name__}: {exc}"[:300]
            state.poll_duration = clock() - t0
        log.warning("bot %s: poll failed: %s", state.bot.name, state.last_error)
        return False
    new_errors, watermark = count_exchange_errors(
        raw.logs, state.exchange_error_watermark_ms, cfg.exchange_error_patterns
    )
    with state.lock:
        state.closed = closed
        state.exchange_errors += new_errors
        state.exchange_error_watermark_ms = watermark
        state.peak_equity = riskmath.next_peak(
            state.peak_equity if state.peak_equity is not None else peaks.get(state.bot.name),
            snap.equity,
        )
        state.snapshot = snap
        state.up = True
        state.polls += 1
        state.last_success = now
        state.last_error = ""
        state.poll_duration = clock() - t0
    peaks.set(state.bot.name, state.peak_equity)
    return True


class FundingRates:
    """Latest funding rate per exchange symbol; refreshed by its own thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rates: dict[str, tuple[float, float]] = {}
        self.errors = 0

    def for_pair(self, pair: str) -> tuple[float, float] | None:
        with self.lock:
            return self.rates.get(pair_to_symbol(pair))

    def refresh(self, base_url: str, timeout: float) -> None:
        try:
            rates = fetch_premium_index(base_url, timeout)
        except (OSError, ValueError) as exc:
            log.warning("funding rates: %s", exc)
            with self.lock:
                self.errors += 1
            return
        with self.lock:
            self.rates = rates


def run_forever(stop: threading.Event, interval: float, step: Callable[[], object]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            step()
        except Exception:  # a bug in one poll must not kill the thread for good
            log.exception("poll step crashed")
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
