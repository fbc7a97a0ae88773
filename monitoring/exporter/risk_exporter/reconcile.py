"""The exchange's positions against the live bots' open trades.

freqtrade never looks up an order whose answer failed (docs/reliability.md, "Live orders under
faults"): a failed entry leaves a position on the exchange that no bot knows and that has no
stop; a failed exit leaves a trade whose position is gone. Both show here as a mismatch per
symbol: the exchange's net position minus the net open amount of the bots trading it (one-way
mode: one net position per symbol and account, whichever bots share the key)."""

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
        found = mismatch(exchange, bots_net(live_trades(s for s in snaps if s is not None)))
        if found != self.mismatches:  # once per change, not every poll
            log.warning("reconciliation: exchange minus bots per symbol: %s", found or "none")
        with self.lock:
            self.up = True
            self.mismatches = found
            self.last_success = now()
