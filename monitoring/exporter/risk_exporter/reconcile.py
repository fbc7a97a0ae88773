"""The exchange's positions against the live bots' open trades.

freqtrade never looks up an order whose answer failed (docs/reliability.md, "Live orders under
faults"): a failed entry leaves a position on the exchange that no bot knows and that has no
stop; a failed exit leaves a trade whose position is gone. Both show here as a mismatch per
symbol: the exchange's net position minus the net open amount of the bots trading it (one-way
mode: one net position per symbol and account, whichever bots share the key).

Optionally (reconcile.close_orphans_after_seconds) it also closes a position no live bot
knows, once it has stayed unchanged while every live bot's trades were read again for that
long: a reduce-only market order, the one thing that cannot open or flip a position. Only
where no live bot holds anything in the symbol: where a bot holds part, the difference may be
its own fill in flight, and an order there would trade against the bot's position."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .funding import pair_to_symbol
from .snapshot import BotSnapshot

log = logging.getLogger(__name__)

# Below Binance's smallest quantity step (0.001 BTC, 1 ADA ...): float noise, not a position.
TOLERANCE = 1e-9


def signed_query(params: Mapping[str, str | int], secret: str) -> str:
    """Binance's SIGNED request: the query with its HMAC-SHA256 under the API secret."""
    query = urllib.parse.urlencode(dict(params))
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


def parse_position_risk(payload: Any) -> dict[str, float]:
    """symbol → signed position amount (long > 0), from /fapi/v3/positionRisk; flat
    symbols are left out."""
    out: dict[str, float] = {}
    for row in payload if isinstance(payload, list) else []:
        amount = float(row["positionAmt"])
        if abs(amount) > TOLERANCE:
            out[str(row["symbol"])] = out.get(str(row["symbol"]), 0.0) + amount
    return out


def bots_net(trades: Iterable[tuple[str, float, bool]]) -> dict[str, float]:
    """symbol → signed open amount over the bots' trades given as (pair, amount, is_short)."""
    out: dict[str, float] = {}
    for pair, amount, is_short in trades:
        symbol = pair_to_symbol(pair)
        out[symbol] = out.get(symbol, 0.0) + (-amount if is_short else amount)
    return out


def mismatch(exchange: Mapping[str, float], bots: Mapping[str, float]) -> dict[str, float]:
    """symbol → exchange minus bots, for every symbol where they differ: > 0 the exchange
    holds more long (or less short) than the bots know, < 0 the bots hold what is not there."""
    out = {}
    for symbol in sorted(set(exchange) | set(bots)):
        diff = exchange.get(symbol, 0.0) - bots.get(symbol, 0.0)
        if abs(diff) > TOLERANCE:
            out[symbol] = diff
    return out


@dataclass(frozen=True)
class Close:
    """A reduce-only market order that flattens one position no bot knows."""

    symbol: str
    side: str  # SELL flattens a long, BUY a short
    quantity: float


def unowned(exchange: Mapping[str, float], bots: Mapping[str, float]) -> dict[str, float]:
    """symbol → the account's position, where no live bot holds anything in that symbol."""
    return {s: a for s, a in exchange.items() if abs(bots.get(s, 0.0)) <= TOLERANCE}


def due_closes(
    orphans: Mapping[str, float],
    watch: Mapping[str, tuple[float, float]],
    now: float,
    bots_read_at: float,
    grace_s: float,
) -> tuple[list[Close], dict[str, tuple[float, float]]]:
    """The closes due now, and the new watch (symbol → (amount, first seen)).

    An orphan is due once the bots' trades were read `grace_s` after it was first seen with
    this amount (bots_read_at: the oldest of the live bots' snapshots). A bot whose order was
    executed records the trade when the answer arrives, which takes at most the client's
    timeout: a grace above it means the bot gave up on that order. A changed amount restarts
    the wait (a fill still in progress), and a bot that cannot be read holds every close."""
    new: dict[str, tuple[float, float]] = {}
    closes = []
    for symbol, amount in sorted(orphans.items()):
        seen = watch.get(symbol)
        since = seen[1] if seen is not None and abs(seen[0] - amount) <= TOLERANCE else now
        new[symbol] = (amount, since)
        if bots_read_at - since >= grace_s:
            closes.append(Close(symbol, "SELL" if amount > 0 else "BUY", abs(amount)))
    return closes, new


def close_position(base_url: str, key: str, secret: str, timeout: float, order: Close) -> None:
    """Send the close as a signed reduce-only market order; raises on any refusal."""
    params: dict[str, str | int] = {
        "symbol": order.symbol,
        "side": order.side,
        "type": "MARKET",
        "quantity": f"{order.quantity:.8f}".rstrip("0").rstrip("."),
        "reduceOnly": "true",
        "timestamp": int(time.time() * 1000),
        "recvWindow": 10_000,
    }
    request = urllib.request.Request(
        f"{base_url}/fapi/v1/order?{signed_query(params, secret)}",
        headers={"X-MBX-APIKEY": key},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        json.load(resp)


def fetch_positions(base_url: str, key: str, secret: str, timeout: float) -> dict[str, float]:
    """The account's open positions, as the exchange holds them."""
    query = signed_query({"timestamp": int(time.time() * 1000), "recvWindow": 10_000}, secret)
    request = urllib.request.Request(
        f"{base_url}/fapi/v3/positionRisk?{query}", headers={"X-MBX-APIKEY": key}
    )
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        return parse_position_risk(json.load(resp))


def live_trades(snapshots: Iterable[BotSnapshot]) -> list[tuple[str, float, bool]]:
    """(pair, amount, is_short) of the open positions of the bots that trade live."""
    return [
        (p.pair, p.amount, p.side == "short")
        for snap in snapshots
        if not snap.dry_run
        for p in snap.positions
    ]


@dataclass
class Reconciliation:
    """Latest comparison of the account with the bots; refreshed by its own thread."""

    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    up: bool = False  # the last refresh read the account and every bot had a snapshot
    mismatches: dict[str, float] = field(default_factory=dict)
    errors: int = 0
    last_success: float | None = None
    # Closing orphans (off without a closer): seconds an orphan must stay, what is watched.
    closer: Callable[[Close], None] | None = field(default=None, repr=False)
    close_after_s: float = 120.0
    watch: dict[str, tuple[float, float]] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)
    close_errors: int = 0

    def refresh(
        self,
        fetch: Callable[[], dict[str, float]],
        snapshots: Callable[[], Sequence[BotSnapshot | None]],
        now: Callable[[], float] = time.time,
    ) -> None:
        """Read the bots' snapshots first, then the account: a trade that opens in between
        shows on the exchange's side only and is reported once, for one interval at most;
        the alert waits longer than that."""
        snaps = snapshots()
        if any(s is None for s in snaps):  # a bot not polled yet: its trades are unknown
            with self.lock:
                self.up = False
            return
        try:
            exchange = fetch()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("reconciliation: %s", exc)
            with self.lock:
                self.up = False
                self.errors += 1
            return
        held = bots_net(live_trades(s for s in snaps if s is not None))
        found = mismatch(exchange, held)
        if found != self.mismatches:  # once per change, not every poll
            log.warning("reconciliation: exchange minus bots per symbol: %s", found or "none")
        with self.lock:
            self.up = True
            self.mismatches = found
            self.last_success = now()
        if self.closer is not None:
            live = [s.taken_at for s in snaps if s is not None and not s.dry_run]
            self.close_orphans(unowned(exchange, held), now(), min(live, default=now()))

    def close_orphans(self, orphans: Mapping[str, float], now: float, bots_read_at: float) -> None:
        """Close what is due; a refused close is retried at the next refresh (reduce-only:
        a close that was executed although its answer failed makes the retry a refusal)."""
        assert self.closer is not None
        closes, self.watch = due_closes(orphans, self.watch, now, bots_read_at, self.close_after_s)
        for order in closes:
            try:
                self.closer(order)
            except (OSError, ValueError) as exc:
                log.error("reconciliation: closing %s %s failed: %s", order.side, order.symbol, exc)
                with self.lock:
                    self.close_errors += 1
                continue
            log.warning(
                "reconciliation: closed a position no bot knows: %s %s %s (reduce-only market)",
                order.side,
                order.quantity,
                order.symbol,
            )
            self.watch.pop(order.symbol, None)
            with self.lock:
                self.closed[order.symbol] = self.closed.get(order.symbol, 0) + 1
