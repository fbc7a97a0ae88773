"""Read-only preflight of a Binance USDT-M futures account before the bots trade live.

Run on the server with a freqtrade release's venv (it has ccxt), as Ansible's
`--tags preflight` does. Reads everything from the environment, so no secret is ever on a
command line:
  FT_PREFLIGHT_KEY, FT_PREFLIGHT_SECRET  the exchange API key and secret
  FT_PREFLIGHT_SETTINGS                  JSON: exchange, ccxt_config, max_clock_offset_ms,
                                         min_balance, stake_currency, pairs
Prints one JSON report on stdout: {"ok": bool, "failed": [names], "summary": [lines],
"checks": [...]}, every check with name, ok and detail. Exit status 0 when every check
passed, 1 otherwise.
It only reads: load_markets, the server time, the key's restrictions, position mode,
margin mode and the wallet balance. It places, cancels and changes nothing.
"""

import json
import os
import sys
import time

import ccxt


def deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def truthy(value) -> bool:
    return value is True or str(value).lower() == "true"


def short_error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def main() -> int:
    settings = json.loads(os.environ.get("FT_PREFLIGHT_SETTINGS", "{}"))
    key = os.environ.get("FT_PREFLIGHT_KEY", "")
    secret = os.environ.get("FT_PREFLIGHT_SECRET", "")
    max_offset = float(settings.get("max_clock_offset_ms", 1000))
    min_balance = float(settings.get("min_balance", 0))
    require_ip = truthy(settings.get("require_ip_restriction", True))
    stake = settings.get("stake_currency", "USDT")
    pairs = settings.get("pairs", [])

    # As freqtrade builds it: ccxt's binance with futures as default type, the inventory's
    # ccxt_config merged over it.
    config = deep_merge(
        {
            "apiKey": key,
            "secret": secret,
            "enableRateLimit": True,
            "timeout": 30000,
            "options": {"defaultType": "future"},
        },
        settings.get("ccxt_config") or {},
    )
    exchange = getattr(ccxt, settings.get("exchange", "binance"))(config)
    checks: list[dict] = []

    def check(name: str, func) -> None:
        try:
            ok, detail, values = func()
        except Exception as exc:  # every failure becomes a failed check
            ok, detail, values = False, short_error(exc), {}
        checks.append({"name": name, "ok": bool(ok), "detail": detail, **values})

    def reachable():
        markets = exchange.load_markets()
        missing = [p for p in pairs if p not in markets]
        if missing:
            return False, f"markets loaded, but not listed: {', '.join(missing)}", {}
        return True, f"{len(markets)} markets loaded, all {len(pairs)} pairs listed", {}

    def clock():
        before = time.time() * 1000
        server = exchange.fetch_time()
        after = time.time() * 1000
        offset = server - (before + after) / 2
        values = {"offset_ms": round(offset), "round_trip_ms": round(after - before)}
        detail = (
            f"exchange clock (/fapi/v1/time) {offset:+.0f} ms from this server "
            f"(limit {max_offset:.0f} ms, round trip {after - before:.0f} ms)"
        )
        return abs(offset) <= max_offset, detail, values

    def permissions():
        r = exchange.sapi_get_account_apirestrictions()
        withdraw = truthy(r.get("enableWithdrawals"))
        futures = truthy(r.get("enableFutures"))
        values = {
            "enableWithdrawals": withdraw,
            "enableFutures": futures,
            "ipRestrict": truthy(r.get("ipRestrict")),
        }
        problems = []
        if withdraw:
            problems.append(
                "withdrawal permission is enabled (enableWithdrawals: true): refused, "
                "make a key without withdrawals"
            )
        if not futures:
            problems.append("futures trading is not enabled for this key (enableFutures: false)")
        if require_ip and not values["ipRestrict"]:
            problems.append(
                "the key is not restricted to trusted IPs (ipRestrict: false): restrict it to "
                "this server's address on Binance, or accept an unrestricted key with "
                "freqtrade_preflight_require_ip_restriction: false"
            )
        if problems:
            return False, "; ".join(problems), values
        ip = "restricted to trusted IPs" if values["ipRestrict"] else "not IP-restricted"
        return True, f"no withdrawals, futures enabled, {ip}", values

    def position_mode():
        r = exchange.fapiprivate_get_positionside_dual()
        dual = truthy(r.get("dualSidePosition"))
        if dual:
            return (
                False,
                "hedge mode is on (dualSidePosition: true): freqtrade requires one-way mode",
                {"dualSidePosition": True},
            )
        return True, "one-way mode", {"dualSidePosition": False}

    def margin_mode():
        r = exchange.fapiprivate_get_multiassetsmargin()
        multi = truthy(r.get("multiAssetsMargin"))
        if multi:
            return (
                False,
                "multi-assets mode is on (multiAssetsMargin: true): "
                "freqtrade requires single-asset mode",
                {"multiAssetsMargin": True},
            )
        return True, "single-asset mode", {"multiAssetsMargin": False}

    def balance():
        b = exchange.fetch_balance()
        total = float(b.get("total", {}).get(stake) or 0)
        free = float(b.get("free", {}).get(stake) or 0)
        values = {"currency": stake, "total": total, "free": free, "minimum": min_balance}
        detail = f"{total:.2f} {stake} in the futures wallet, {free:.2f} free"
        if min_balance > 0:
            detail += f" (minimum {min_balance:.2f})"
        return total >= min_balance, detail, values

    check("exchange_reachable", reachable)
    check("clock_offset", clock)
    check("api_key_permissions", permissions)
    check("position_mode", position_mode)
    check("margin_mode", margin_mode)
    check("futures_balance", balance)

    failed = [c["name"] for c in checks if not c["ok"]]
    summary = [f"{'ok  ' if c['ok'] else 'FAIL'}  {c['name']}: {c['detail']}" for c in checks]
    report = {
        "ok": not failed,
        "failed": failed,
        "exchange": exchange.id,
        "summary": summary,
        "checks": checks,
    }
    print(json.dumps(report))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
