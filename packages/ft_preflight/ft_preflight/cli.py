"""Ask the exchange through ccxt, as freqtrade builds its exchange object, and report.

Input (stdin, JSON): {"key": ..., "secret": ..., "settings": {exchange, ccxt_config,
max_clock_offset_ms, min_balance, require_ip_restriction, stake_currency, pairs}}.
Only reads: load_markets, the server time, the key's restrictions, position mode, margin
mode and the wallet balance. It places, cancels and changes nothing.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import ccxt

from ft_preflight import checks
from ft_preflight.checks import Check


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def exchange_config(key: str, secret: str, ccxt_config: Mapping[str, Any]) -> dict[str, Any]:
    """ccxt's settings as freqtrade builds them for futures: defaultType future, the
    inventory's ccxt_config merged over it."""
    base = {
        "apiKey": key,
        "secret": secret,
        "enableRateLimit": True,
        "timeout": 30000,
        "options": {"defaultType": "future"},
    }
    return deep_merge(base, ccxt_config)


def now_ms() -> float:
    return time.time() * 1000


def run(exchange: Any, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Every check in order; an exchange error fails that check only."""
    pairs = list(settings.get("pairs", []))
    max_offset = float(settings.get("max_clock_offset_ms", 1000))
    require_ip = checks.truthy(settings.get("require_ip_restriction", True))
    stake = str(settings.get("stake_currency", "USDT"))
    minimum = float(settings.get("min_balance", 0))

    def clock() -> Check:
        before = now_ms()
        server = float(exchange.fetch_time())
        return checks.clock_offset(server, before, now_ms(), max_offset)

    def permissions() -> Check:
        return checks.key_permissions(exchange.sapi_get_account_apirestrictions(), require_ip)

    def positions() -> Check:
        return checks.position_mode(exchange.fapiprivate_get_positionside_dual())

    def margin() -> Check:
        return checks.margin_mode(exchange.fapiprivate_get_multiassetsmargin())

    def balance() -> Check:
        return checks.futures_balance(exchange.fetch_balance(), stake, minimum)

    steps: list[tuple[str, Callable[[], Check]]] = [
        ("exchange_reachable", lambda: checks.markets_listed(exchange.load_markets(), pairs)),
        ("clock_offset", clock),
        ("api_key_permissions", permissions),
        ("position_mode", positions),
        ("margin_mode", margin),
        ("futures_balance", balance),
    ]
    results = []
    for name, step in steps:
        try:
            results.append(step())
        except Exception as exc:  # every failure becomes a failed check
            results.append(checks.failed_check(name, exc))
    return checks.report(results, str(exchange.id))


def main() -> int:
    request = json.load(sys.stdin)
    settings = request.get("settings") or {}
    key, secret = str(request.get("key", "")), str(request.get("secret", ""))
    config = exchange_config(key, secret, settings.get("ccxt_config") or {})
    exchange = getattr(ccxt, str(settings.get("exchange", "binance")))(config)
    result = run(exchange, settings)
    print(json.dumps(result))
    return 0 if result["ok"] else 1
