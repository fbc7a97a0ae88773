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
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

from .funding import pair_to_symbol

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
