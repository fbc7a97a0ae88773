"""Current funding rate and next funding time per pair, from the exchange's public
premiumIndex endpoint (freqtrade's REST API does not expose them)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def pair_to_symbol(pair: str) -> str:
    """'BTC/USDT:USDT' → 'BTCUSDT' (Binance USDT-M symbol)."""
    base, _, rest = pair.partition("/")
    quote = rest.split(":", 1)[0]
    return f"{base}{quote}"


def parse_premium_index(payload: Any) -> dict[str, tuple[float, float]]:
    """symbol → (last funding rate as a ratio, next funding time in epoch seconds)."""
    rows = payload if isinstance(payload, list) else [payload]
    out: dict[str, tuple[float, float]] = {}
    for row in rows:
        try:
            out[str(row["symbol"])] = (
                float(row["lastFundingRate"]),
                float(row["nextFundingTime"]) / 1000.0,
            )
        except (KeyError, TypeError, ValueError):
            continue
    return out


def fetch_premium_index(base_url: str, timeout: float) -> dict[str, tuple[float, float]]:
    with urllib.request.urlopen(f"{base_url}/fapi/v1/premiumIndex", timeout=timeout) as resp:
        return parse_premium_index(json.load(resp))
