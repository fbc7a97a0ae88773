"""Signed (USER_DATA / TRADE) endpoints: authentication and thin handlers over the Engine."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web
from futures_lib.margin import maintenance_margin

from . import errors
from .appkey import EX
from .engine import key_digest
from .margin import MAKER_FEE, TAKER_FEE
from .markets import OPEN_STATUSES, brackets, margin_brackets

if TYPE_CHECKING:
    from .core import Exchange

KEY_RE = re.compile(r"^[A-Za-z0-9]{1,128}$")
MAX_RECV_WINDOW = 60_000

Signed = Callable[["Exchange", str, dict[str, str]], Any]


def _split_signature(raw: str) -> tuple[str, str | None]:
    """Remove the signature parameter from a raw query/body string, keeping the rest verbatim
    (the signature covers the exact bytes the client sent)."""
    parts = raw.split("&") if raw else []
    sig = None
    kept = []
    for part in parts:
        if part.startswith("signature="):
            sig = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), sig


async def authenticate(request: web.Request, ex: Exchange) -> tuple[str, dict[str, str]]:
    """Check key, signature, timestamp and recvWindow like Binance; return (apiKey, params)."""
    key = request.headers.get("X-MBX-APIKEY", "")
    if not KEY_RE.match(key):
        raise errors.bad_key_format()
    body = (await request.text()) if request.can_read_body else ""
    query_raw, qsig = _split_signature(request.query_string)
    body_raw, bsig = _split_signature(body)
    params = dict(parse_qsl(query_raw, keep_blank_values=True))
    params.update(parse_qsl(body_raw, keep_blank_values=True))
    entry = ex.keys.get(key)
    if entry is None or not entry.get("enableFutures", True):
        raise errors.bad_key(request.remote or "?")
    sig = bsig or qsig
    if not sig:
        raise errors.mandatory("signature")
    if "timestamp" not in params:
        raise errors.mandatory("timestamp")
    payload = query_raw + body_raw  # Binance signs query string and body concatenated
    expected = hmac.new(entry["secret"].encode(), payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig.lower()):
        raise errors.bad_signature()
    try:
        ts = int(params["timestamp"])
        window = int(params.get("recvWindow", "5000"))
    except ValueError as exc:
        raise errors.bad_param("timestamp") from exc
    if window > MAX_RECV_WINDOW or window <= 0:
        raise errors.BinanceError(-1131, "recvWindow must be less than 60000")
    now = ex.now()
    if ts > now + 1000:
        raise errors.ahead_timestamp()
    if now - ts > window:
        raise errors.stale_timestamp()
    return key, params


def signed(fn: Signed) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        ex: Exchange = request.app[EX]
        key, params = await authenticate(request, ex)
        ex.engine.tick()
        return web.json_response(fn(ex, key, params))

    return handler


def _symbol(ex: Exchange, q: dict[str, str], required: bool = True) -> str | None:
    sym = q.get("symbol")
    if not sym:
        if required:
            raise errors.mandatory("symbol")
        return None
    if sym not in ex.replay.data.symbols:
        raise errors.invalid_symbol()
    return sym


def _int(q: dict[str, str], name: str, default: int | None = None) -> int | None:
    raw = q.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise errors.bad_param(name) from exc


# --- account -----------------------------------------------------------------------------
def _account_numbers(ex: Exchange, key: str) -> dict[str, float]:
    eng = ex.engine
    acct = eng.account(key)
    now = ex.now()
    mm, cross_upnl, cross_im = eng.cross_totals(acct, now)
    iso_upnl = iso_mm = 0.0
    for sym, p in acct["positions"].items():
        if p["amt"] and eng.settings(acct, sym)["margin"] == "isolated":
            mk = eng.mark(sym, now)
            iso_upnl += p["amt"] * (mk - p["entry"])
            iso_mm += maintenance_margin(margin_brackets()[sym], p["amt"] * mk)
    iso_total = eng.isolated_total(acct)
    oim = eng.open_order_margin(acct)
    wallet = acct["wallet"]
    avail = eng.available(acct, now)
    return {
        "wallet": wallet,
        "upnl": cross_upnl + iso_upnl,
        "margin_balance": wallet + cross_upnl + iso_upnl,
        "maint": mm + iso_mm,
        "pos_im": cross_im + iso_total,
        "oim": oim,
        "cross_wallet": wallet - iso_total,
        "cross_upnl": cross_upnl,
        "available": avail,
        "max_withdraw": max(min(avail, wallet - iso_total), 0.0),
        "update": acct["update_time"],
    }


def _f(x: float) -> str:
    return f"{x:.8f}"


def account_info(ex: Exchange, key: str, q: dict[str, str], v3: bool) -> dict[str, Any]:
    n = _account_numbers(ex, key)
    eng = ex.engine
    acct = eng.account(key)
    now = ex.now()
    asset = {
        "asset": "USDT",
        "walletBalance": _f(n["wallet"]),
        "unrealizedProfit": _f(n["upnl"]),
        "marginBalance": _f(n["margin_balance"]),
        "maintMargin": _f(n["maint"]),
        "initialMargin": _f(n["pos_im"] + n["oim"]),
        "positionInitialMargin": _f(n["pos_im"]),
        "openOrderInitialMargin": _f(n["oim"]),
        "crossWalletBalance": _f(n["cross_wallet"]),
        "crossUnPnl": _f(n["cross_upnl"]),
        "availableBalance": _f(n["available"]),
        "maxWithdrawAmount": _f(n["max_withdraw"]),
        "marginAvailable": True,
        "updateTime": n["update"],
    }
    positions = []
    for sym in ex.replay.data.symbols:
        p = eng.position(acct, sym)
        if v3 and not p["amt"]:
            continue  # v3 lists only symbols with a position
        pv = eng.position_view(acct, sym, now)
        positions.append(
            {
                "symbol": sym,
                "positionSide": "BOTH",
                "positionAmt": pv["positionAmt"],
                "unrealizedProfit": pv["unRealizedProfit"],
                "isolatedMargin": pv["isolatedMargin"],
                "notional": pv["notional"],
                "isolatedWallet": pv["isolatedWallet"],
                "initialMargin": pv["initialMargin"],
                "maintMargin": pv["maintMargin"],
                "updateTime": pv["updateTime"],
                "leverage": pv["leverage"],
                "isolated": pv["isolated"],
                "entryPrice": pv["entryPrice"],
                "positionInitialMargin": pv["positionInitialMargin"],
                "openOrderInitialMargin": "0",
                "maxNotional": pv["maxNotionalValue"],
                "bidNotional": "0",
                "askNotional": "0",
            }
        )
    out: dict[str, Any] = {
        "totalInitialMargin": asset["initialMargin"],
        "totalMaintMargin": asset["maintMargin"],
        "totalWalletBalance": asset["walletBalance"],
        "totalUnrealizedProfit": asset["unrealizedProfit"],
        "totalMarginBalance": asset["marginBalance"],
        "totalPositionInitialMargin": asset["positionInitialMargin"],
        "totalOpenOrderInitialMargin": asset["openOrderInitialMargin"],
        "totalCrossWalletBalance": asset["crossWalletBalance"],
        "totalCrossUnPnl": asset["crossUnPnl"],
        "availableBalance": asset["availableBalance"],
        "maxWithdrawAmount": asset["maxWithdrawAmount"],
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "feeBurn": False,
        "tradeGroupId": -1,
        "updateTime": 0,
        "multiAssetsMargin": acct["multi_assets"],
    }
    left_out = ACCOUNT_V3 if v3 else ACCOUNT_V2
    return {
        **_answer(out, left_out["account"]),
        "assets": [_answer(asset, left_out["asset"])],
        "positions": [_answer(row, left_out["position"]) for row in positions],
    }


def account_v2(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    return account_info(ex, key, q, v3=False)


def account_v3(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    return account_info(ex, key, q, v3=True)


def balance(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    n = _account_numbers(ex, key)
    return [
        {
            "accountAlias": "SgsR" + key_digest(key)[:4],
            "asset": "USDT",
            "balance": _f(n["wallet"]),
            "crossWalletBalance": _f(n["cross_wallet"]),
            "crossUnPnl": _f(n["cross_upnl"]),
            "availableBalance": _f(n["available"]),
            "maxWithdrawAmount": _f(n["max_withdraw"]),
            "marginAvailable": True,
            "updateTime": n["update"],
        }
    ]


# The engine's records (orders, algo orders, position views) keep every field; each of
# Binance's answers leaves some out (its recorded answers and its SDK's models, compared in
# tests/exchange/test_golden_shapes.py).
ORDER_CHANGED = frozenset({"time"})  # new order, cancel
ORDER_QUERIED = frozenset({"cumQty"})  # query, open orders, all orders
ALGO_TP_SL = frozenset({"tpTriggerPrice", "tpPrice", "slTriggerPrice", "slPrice"})
ALGO_PLACED = ALGO_TP_SL | {"actualOrderId", "actualPrice", "tpOrderType"}
ALGO_QUERIED = ALGO_TP_SL  # one algo order; the open-orders list keeps them
# positionRisk: the engine's position view, less what each version leaves out.
POSITION_V3 = frozenset(
    {"leverage", "maxNotionalValue", "marginType", "isAutoAddMargin", "isolated", "adlQuantile"}
)
POSITION_V2 = frozenset(
    {"adl", "adlQuantile", "askNotional", "bidNotional", "initialMargin", "isolated"}
    | {"maintMargin", "marginAsset", "openOrderInitialMargin", "positionInitialMargin"}
)

# Account information: v2 carries the account's flags and a fuller position per symbol;
# v3 (positions with an amount only) the isolated fields, and no asset flag.
ACCOUNT_V2 = {
    "account": frozenset(),
    "asset": frozenset(),
    "position": frozenset({"isolatedMargin", "isolatedWallet", "notional"}),
}
ACCOUNT_V3 = {
    "account": frozenset({"feeTier", "canTrade", "canDeposit", "canWithdraw", "feeBurn"})
    | {"tradeGroupId", "updateTime", "multiAssetsMargin"},
    "asset": frozenset({"marginAvailable"}),
    "position": frozenset({"leverage", "isolated", "entryPrice", "positionInitialMargin"})
    | {"openOrderInitialMargin", "maxNotional", "bidNotional", "askNotional"},
}


def _answer(record: dict[str, Any], left_out: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in left_out}


def _placed(o: dict[str, Any]) -> dict[str, Any]:
    return _answer(o, ORDER_CHANGED)


def _queried(o: dict[str, Any]) -> dict[str, Any]:
    return _answer(o, ORDER_QUERIED)


def position_risk(ex: Exchange, key: str, q: dict[str, str], v3: bool) -> Any:
    sym = _symbol(ex, q, required=False)
    eng = ex.engine
    acct = eng.account(key)
    now = ex.now()
    syms = [sym] if sym else list(ex.replay.data.symbols)
    out = []
    for s in syms:
        if v3 and not eng.position(acct, s)["amt"]:
            continue  # v3 lists only symbols with a position
        pv = eng.position_view(acct, s, now)
        out.append(_answer(pv, POSITION_V3 if v3 else POSITION_V2))
    return out


def position_risk_v2(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    return position_risk(ex, key, q, v3=False)


def position_risk_v3(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    return position_risk(ex, key, q, v3=True)


# --- orders ------------------------------------------------------------------------------
def _find_order(ex: Exchange, key: str, q: dict[str, str]) -> dict[str, Any] | None:
    acct = ex.engine.account(key)
    sym = _symbol(ex, q)
    oid = q.get("orderId")
    cid = q.get("origClientOrderId")
    if not oid and not cid:
        raise errors.BinanceError(
            -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
        )
    orders: dict[str, dict[str, Any]] = acct["orders"]
    if oid:
        o = orders.get(oid)
        return o if o and o["symbol"] == sym else None
    for o in orders.values():
        if o["clientOrderId"] == cid and o["symbol"] == sym:
            return o
    return None


def order_post(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q)
    assert sym is not None
    return _placed(ex.engine.place_order(key, sym, q))


def order_get(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    o = _find_order(ex, key, q)
    if o is None:
        raise errors.no_such_order()
    return _queried(o)


def order_delete(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    o = _find_order(ex, key, q)
    if o is None or o["status"] not in OPEN_STATUSES:
        raise errors.unknown_order()
    o["status"] = "CANCELED"
    o["updateTime"] = ex.now()
    ex.engine.persist()
    return _placed(o)


def open_orders(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q, required=False)
    acct = ex.engine.account(key)
    return [
        _queried(o)
        for o in acct["orders"].values()
        if o["status"] in OPEN_STATUSES and (sym is None or o["symbol"] == sym)
    ]


def open_order(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    o = _find_order(ex, key, q)
    if o is None or o["status"] not in OPEN_STATUSES:
        raise errors.BinanceError(-2013, "Order does not exist.")
    return _queried(o)


def _window(
    rows: list[dict[str, Any]], q: dict[str, str], tkey: str, limit_default: int, limit_max: int
) -> list[dict[str, Any]]:
    start, end = _int(q, "startTime"), _int(q, "endTime")
    limit = min(_int(q, "limit", limit_default) or limit_default, limit_max)
    rows = [
        r for r in rows if (start is None or r[tkey] >= start) and (end is None or r[tkey] <= end)
    ]
    rows.sort(key=lambda r: r[tkey])
    return rows[:limit] if start is not None else rows[-limit:]


def all_orders(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q)
    acct = ex.engine.account(key)
    rows = [o for o in acct["orders"].values() if o["symbol"] == sym]
    from_id = _int(q, "orderId")
    if from_id is not None:
        rows = [o for o in rows if o["orderId"] >= from_id]
    return [_queried(o) for o in _window(rows, q, "time", 500, 1000)]


def cancel_all(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q)
    now = ex.now()
    for o in ex.engine.account(key)["orders"].values():
        if o["symbol"] == sym and o["status"] in OPEN_STATUSES:
            o["status"], o["updateTime"] = "CANCELED", now
    ex.engine.persist()
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def user_trades(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q)
    rows = [t for t in ex.engine.account(key)["trades"] if t["symbol"] == sym]
    from_id = _int(q, "fromId")
    if from_id is not None:
        rows = [t for t in rows if t["id"] >= from_id]
    oid = _int(q, "orderId")
    if oid is not None:
        rows = [t for t in rows if t["orderId"] == oid]
    return _window(rows, q, "time", 500, 1000)


# --- algo (conditional) orders -------------------------------------------------------------
def _find_algo(ex: Exchange, key: str, q: dict[str, str]) -> dict[str, Any] | None:
    acct = ex.engine.account(key)
    aid, cid = q.get("algoId"), q.get("clientAlgoId")
    if not aid and not cid:
        raise errors.BinanceError(
            -1102, "Param 'clientAlgoId' or 'algoId' must be sent, but both were empty/null!"
        )
    algo: dict[str, dict[str, Any]] = acct["algo"]
    if aid:
        return algo.get(aid)
    return next((a for a in algo.values() if a["clientAlgoId"] == cid), None)


def algo_post(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q)
    assert sym is not None
    return _answer(ex.engine.place_algo(key, sym, q), ALGO_PLACED)


def algo_get(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    a = _find_algo(ex, key, q)
    if a is None:
        raise errors.no_such_order()
    return _answer(a, ALGO_QUERIED)


def algo_delete(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    a = _find_algo(ex, key, q)
    if a is None or a["algoStatus"] != "NEW":
        raise errors.unknown_order()
    a["algoStatus"] = "CANCELED"
    a["updateTime"] = ex.now()
    ex.engine.persist()
    return {
        "algoId": a["algoId"],
        "clientAlgoId": a["clientAlgoId"],
        "code": "200",
        "msg": "success",
    }


def open_algos(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q, required=False)
    return [
        a
        for a in ex.engine.account(key)["algo"].values()
        if a["algoStatus"] == "NEW" and (sym is None or a["symbol"] == sym)
    ]


def all_algos(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q)
    rows = [a for a in ex.engine.account(key)["algo"].values() if a["symbol"] == sym]
    return _window(rows, q, "createTime", 500, 1000)


def cancel_all_algos(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q)
    for a in ex.engine.account(key)["algo"].values():
        if a["symbol"] == sym and a["algoStatus"] == "NEW":
            a["algoStatus"], a["updateTime"] = "CANCELED", ex.now()
    ex.engine.persist()
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


# --- settings ------------------------------------------------------------------------------
def leverage_post(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q)
    assert sym is not None
    lev = _int(q, "leverage")
    if lev is None:
        raise errors.mandatory("leverage")
    top = brackets()[sym][0]["initialLeverage"]
    if not 1 <= lev <= top:
        raise errors.BinanceError(-4028, f"Leverage {lev} is not valid")
    acct = ex.engine.account(key)
    p = ex.engine.position(acct, sym)
    cap = max(b["notionalCap"] for b in brackets()[sym] if b["initialLeverage"] >= lev)
    if p["amt"] and abs(p["amt"]) * ex.engine.mark(sym, ex.now()) > cap:
        raise errors.BinanceError(
            -2027, "Exceeded the maximum allowable position at current leverage."
        )
    ex.engine.settings(acct, sym)["leverage"] = lev
    ex.engine.persist()
    return {"leverage": lev, "maxNotionalValue": str(cap), "symbol": sym}


def margin_type_post(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q)
    assert sym is not None
    mt = q.get("marginType", "")
    if mt not in ("ISOLATED", "CROSSED"):
        raise errors.bad_param("marginType") if mt else errors.mandatory("marginType")
    acct = ex.engine.account(key)
    st = ex.engine.settings(acct, sym)
    want = "isolated" if mt == "ISOLATED" else "cross"
    if st["margin"] == want:
        raise errors.BinanceError(-4046, "No need to change margin type.")
    if ex.engine.position(acct, sym)["amt"]:
        raise errors.BinanceError(-4048, "Margin type cannot be changed if there exists position.")
    if any(o["symbol"] == sym and o["status"] in OPEN_STATUSES for o in acct["orders"].values()):
        raise errors.BinanceError(
            -4047, "Margin type cannot be changed if there exists open orders."
        )
    st["margin"] = want
    ex.engine.persist()
    return {"code": 200, "msg": "success"}


def dual_get(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    return {"dualSidePosition": ex.engine.account(key)["dual"]}


def dual_post(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    want = q.get("dualSidePosition", "").lower()
    if want not in ("true", "false"):
        raise errors.mandatory("dualSidePosition")
    if want == "false":
        raise errors.BinanceError(-4059, "No need to change position side.")
    raise errors.BinanceError(-4068, "Hedge mode is not supported by the replay exchange.")


def multi_get(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    return {"multiAssetsMargin": ex.engine.account(key)["multi_assets"]}


def multi_post(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    want = q.get("multiAssetsMargin", "").lower()
    if want not in ("true", "false"):
        raise errors.mandatory("multiAssetsMargin")
    if want == "true":
        raise errors.BinanceError(
            -4171, "Multi-assets mode is not supported by the replay exchange."
        )
    return {"code": 200, "msg": "success"}


def symbol_config(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q, required=False)
    acct = ex.engine.account(key)
    out = []
    for s in [sym] if sym else ex.replay.data.symbols:
        st = ex.engine.settings(acct, s)
        cap = max(b["notionalCap"] for b in brackets()[s] if b["initialLeverage"] >= st["leverage"])
        out.append(
            {
                "symbol": s,
                "marginType": "ISOLATED" if st["margin"] == "isolated" else "CROSSED",
                "isAutoAddMargin": False,
                "leverage": st["leverage"],
                "maxNotionalValue": str(cap),
            }
        )
    return out


def account_config(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    acct = ex.engine.account(key)
    return {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "dualSidePosition": acct["dual"],
        "updateTime": 0,
        "multiAssetsMargin": acct["multi_assets"],
        "tradeGroupId": -1,
    }


def income(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q, required=False)
    kind = q.get("incomeType")
    rows = [
        r
        for r in ex.engine.account(key)["income"]
        if (sym is None or r["symbol"] == sym) and (kind is None or r["incomeType"] == kind)
    ]
    return _window(rows, q, "time", 100, 1000)


def commission_rate(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q)
    return {
        "symbol": sym,
        "makerCommissionRate": f"{MAKER_FEE:.4f}",
        "takerCommissionRate": f"{TAKER_FEE:.4f}",
        "rpiCommissionRate": "0",
    }


def leverage_bracket(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    sym = _symbol(ex, q, required=False)
    rows = [
        {"symbol": s, "notionalCoef": 1.0, "brackets": brackets()[s]}
        for s in ([sym] if sym else ex.replay.data.symbols)
    ]
    return rows[0] if sym else rows


def api_restrictions(ex: Exchange, key: str, q: dict[str, str]) -> Any:
    entry = ex.keys[key]
    return {
        "ipRestrict": bool(entry.get("ipRestrict", False)),
        "createTime": int(entry.get("createTime", 1700000000000)),
        "enableReading": True,
        "enableWithdrawals": bool(entry.get("canWithdraw", False)),
        "enableInternalTransfer": False,
        "enableMargin": False,
        "enableFutures": bool(entry.get("enableFutures", True)),
        "permitsUniversalTransfer": False,
        "enableVanillaOptions": False,
        "enableFixApiTrade": False,
        "enableFixReadOnly": False,
        "enableSpotAndMarginTrading": False,
        "enablePortfolioMarginTrading": False,
    }


async def listen_key(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    key = request.headers.get("X-MBX-APIKEY", "")
    if not KEY_RE.match(key):
        raise errors.bad_key_format()
    if key not in ex.keys:
        raise errors.bad_key(request.remote or "?")
    return web.json_response({"listenKey": key_digest(key)})


def routes() -> list[web.RouteDef]:
    table: list[tuple[str, str, Signed]] = [
        ("GET", "/fapi/v2/account", account_v2),
        ("GET", "/fapi/v3/account", account_v3),
        ("GET", "/fapi/v2/balance", balance),
        ("GET", "/fapi/v3/balance", balance),
        ("GET", "/fapi/v2/positionRisk", position_risk_v2),
        ("GET", "/fapi/v3/positionRisk", position_risk_v3),
        ("POST", "/fapi/v1/order", order_post),
        ("GET", "/fapi/v1/order", order_get),
        ("DELETE", "/fapi/v1/order", order_delete),
        ("GET", "/fapi/v1/openOrders", open_orders),
        ("GET", "/fapi/v1/openOrder", open_order),
        ("GET", "/fapi/v1/allOrders", all_orders),
        ("DELETE", "/fapi/v1/allOpenOrders", cancel_all),
        ("GET", "/fapi/v1/userTrades", user_trades),
        ("POST", "/fapi/v1/algoOrder", algo_post),
        ("GET", "/fapi/v1/algoOrder", algo_get),
        ("DELETE", "/fapi/v1/algoOrder", algo_delete),
        ("GET", "/fapi/v1/openAlgoOrders", open_algos),
        ("GET", "/fapi/v1/allAlgoOrders", all_algos),
        ("DELETE", "/fapi/v1/algoOpenOrders", cancel_all_algos),
        ("POST", "/fapi/v1/leverage", leverage_post),
        ("POST", "/fapi/v1/marginType", margin_type_post),
        ("GET", "/fapi/v1/positionSide/dual", dual_get),
        ("POST", "/fapi/v1/positionSide/dual", dual_post),
        ("GET", "/fapi/v1/multiAssetsMargin", multi_get),
        ("POST", "/fapi/v1/multiAssetsMargin", multi_post),
        ("GET", "/fapi/v1/income", income),
        ("GET", "/fapi/v1/symbolConfig", symbol_config),
        ("GET", "/fapi/v1/accountConfig", account_config),
        ("GET", "/fapi/v1/commissionRate", commission_rate),
        ("GET", "/fapi/v1/leverageBracket", leverage_bracket),
        ("GET", "/sapi/v1/account/apiRestrictions", api_restrictions),
    ]
    out = [web.route(method, path, signed(fn)) for method, path, fn in table]
    out += [web.post("/fapi/v1/listenKey", listen_key), web.put("/fapi/v1/listenKey", listen_key)]
    return out
