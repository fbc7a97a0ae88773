"""The preflight's judgements: each takes what the exchange answered and returns a Check.
Pure functions: no network, no clock."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple


class Check(NamedTuple):
    """One check's outcome: its name, whether it passed, a sentence for the operator and
    the values it judged (for the JSON report)."""

    name: str
    ok: bool
    detail: str
    values: dict[str, Any]


def truthy(value: object) -> bool:
    """Binance answers flags as JSON booleans, ccxt sometimes as strings."""
    return value is True or str(value).lower() == "true"


def markets_listed(markets: Collection[str], pairs: Sequence[str]) -> Check:
    missing = [p for p in pairs if p not in markets]
    if missing:
        return Check(
            "exchange_reachable", False, f"markets loaded, but not listed: {', '.join(missing)}", {}
        )
    detail = f"{len(markets)} markets loaded, all {len(pairs)} pairs listed"
    return Check("exchange_reachable", True, detail, {})


def clock_offset(
    server_ms: float, before_ms: float, after_ms: float, max_offset_ms: float
) -> Check:
    """The server's time against the midpoint of the request: half the round trip is the
    best estimate of when the exchange read its clock."""
    offset = server_ms - (before_ms + after_ms) / 2
    round_trip = after_ms - before_ms
    detail = (
        f"exchange clock (/fapi/v1/time) {offset:+.0f} ms from this server "
        f"(limit {max_offset_ms:.0f} ms, round trip {round_trip:.0f} ms)"
    )
    values = {"offset_ms": round(offset), "round_trip_ms": round(round_trip)}
    return Check("clock_offset", abs(offset) <= max_offset_ms, detail, values)


def key_permissions(restrictions: Mapping[str, Any], require_ip_restriction: bool) -> Check:
    """A key that can withdraw is refused whatever else holds: a leaked key must not be
    able to move the money off the exchange."""
    withdraw = truthy(restrictions.get("enableWithdrawals"))
    futures = truthy(restrictions.get("enableFutures"))
    ip_restricted = truthy(restrictions.get("ipRestrict"))
    values = {"enableWithdrawals": withdraw, "enableFutures": futures, "ipRestrict": ip_restricted}
    problems = []
    if withdraw:
        problems.append(
            "withdrawal permission is enabled (enableWithdrawals: true): refused, "
            "make a key without withdrawals"
        )
    if not futures:
        problems.append("futures trading is not enabled for this key (enableFutures: false)")
    if require_ip_restriction and not ip_restricted:
        problems.append(
            "the key is not restricted to trusted IPs (ipRestrict: false): restrict it to "
            "this server's address on Binance, or accept an unrestricted key with "
            "freqtrade_preflight_require_ip_restriction: false"
        )
    if problems:
        return Check("api_key_permissions", False, "; ".join(problems), values)
    ip = "restricted to trusted IPs" if ip_restricted else "not IP-restricted"
    return Check("api_key_permissions", True, f"no withdrawals, futures enabled, {ip}", values)


def position_mode(answer: Mapping[str, Any]) -> Check:
    if truthy(answer.get("dualSidePosition")):
        detail = "hedge mode is on (dualSidePosition: true): freqtrade requires one-way mode"
        return Check("position_mode", False, detail, {"dualSidePosition": True})
    return Check("position_mode", True, "one-way mode", {"dualSidePosition": False})


def margin_mode(answer: Mapping[str, Any]) -> Check:
    if truthy(answer.get("multiAssetsMargin")):
        detail = (
            "multi-assets mode is on (multiAssetsMargin: true): "
            "freqtrade requires single-asset mode"
        )
        return Check("margin_mode", False, detail, {"multiAssetsMargin": True})
    return Check("margin_mode", True, "single-asset mode", {"multiAssetsMargin": False})


def futures_balance(balance: Mapping[str, Any], currency: str, minimum: float) -> Check:
    total = float((balance.get("total") or {}).get(currency) or 0)
    free = float((balance.get("free") or {}).get(currency) or 0)
    values = {"currency": currency, "total": total, "free": free, "minimum": minimum}
    detail = f"{total:.2f} {currency} in the futures wallet, {free:.2f} free"
    if minimum > 0:
        detail += f" (minimum {minimum:.2f})"
    return Check("futures_balance", total >= minimum, detail, values)


def failed_check(name: str, exc: BaseException) -> Check:
    """A check the exchange did not answer fails, with the error's first 300 characters."""
    return Check(name, False, f"{type(exc).__name__}: {str(exc)[:300]}", {})


def report(checks: Sequence[Check], exchange: str) -> dict[str, Any]:
    """The JSON report the role reads: ok, the failed names, one summary line per check."""
    failed = [c.name for c in checks if not c.ok]
    return {
        "ok": not failed,
        "failed": failed,
        "exchange": exchange,
        "summary": [f"{'ok  ' if c.ok else 'FAIL'}  {c.name}: {c.detail}" for c in checks],
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail, **c.values} for c in checks],
    }
