"""Production's ccxt exception class for every rejection the replay exchange produces.

ccxt applies Binance's USDⓈ-M error table (describe()['exceptions']['linear']) only to
https://fapi.binance.com URLs, so against the stand-in most rejections arrive as a plain
ExchangeError. Here each rejection is made for real against a running stand-in and its HTTP
status, headers and body are handed, unchanged, to a binanceusdm instance's handle_errors with
the production URL: the class raised is the one a bot sees in production.

Expected values: code and message as Binance's USDⓈ-M API answers (its error-code list; the
messages ccxt quotes in its table), class as ccxt's table maps that code ('linear' first,
then the common 'exact'). Status, code and message are asserted as well as the class, so a
wrong code that shares a class (-4016 where -4013 is due: both BadRequest) still fails.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import ccxt
import pytest
import requests
from replay_exchange import errors
from replay_exchange.faults import Limiter
from replay_exchange.markets import MAX_NUM_ALGO_ORDERS, MAX_NUM_ORDERS, SPECS, brackets
from replay_exchange.testing import TEST_API_KEY, TEST_API_SECRET

PROD = "https://fapi.binance.com"


def call(
    url: str,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    key: str = TEST_API_KEY,
    secret: str = TEST_API_SECRET,
    signed: bool = True,
    ts_shift_ms: int = 0,
) -> requests.Response:
    """One request as Binance's clients send it (signed: HMAC-SHA256 over the query)."""
    query = dict(params or {})
    headers = {}
    if signed:
        query["timestamp"] = int(time.time() * 1000) + ts_shift_ms
        qs = urllib.parse.urlencode(query)
        sig = hmac.new(secret.encode(), qs.encode(), hashlib.sha256).hexdigest()
        qs += f"&signature={sig}"
        headers["X-MBX-APIKEY"] = key
    else:
        qs = urllib.parse.urlencode(query)
    return requests.request(method, f"{url}{path}?{qs}", headers=headers, timeout=10)


def production_error(resp: requests.Response, method: str, path: str) -> BaseException:
    """What ccxt raises for this exact answer had it come from fapi.binance.com."""
    api = ccxt.binanceusdm()
    with pytest.raises(ccxt.BaseError) as exc:
        api.handle_errors(
            resp.status_code,
            resp.reason,
            PROD + path,
            method,
            dict(resp.headers),
            resp.text,
            resp.json(),
            None,
            None,
        )
    return exc.value


def assert_rejection(
    resp: requests.Response,
    method: str,
    path: str,
    status: int,
    code: int,
    msg: str,
    cls: type[BaseException],
) -> None:
    """Status, code and message (a regex, anchored) as Binance's; then the exact class."""
    body = resp.json()
    assert (resp.status_code, body["code"]) == (status, code), resp.text
    assert re.fullmatch(msg, body["msg"]), body["msg"]
    err = production_error(resp, method, path)
    assert type(err) is cls, f"{code}: {type(err).__name__}, production raises {cls.__name__}"


@dataclass
class Case:
    method: str
    path: str
    params: Callable[[Ctx], dict[str, Any]]
    status: int
    code: int
    msg: str
    cls: type[BaseException]
    kw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Ctx:
    mark: dict[str, float]
    last: dict[str, float]


def order(sym: str, side: str, qty: str, **extra: Any) -> dict[str, Any]:
    return {"symbol": sym, "side": side, "type": "MARKET", "quantity": qty, **extra}


def limit(sym: str, side: str, qty: str, price: str, **extra: Any) -> dict[str, Any]:
    return {
        "symbol": sym,
        "side": side,
        "type": "LIMIT",
        "quantity": qty,
        "price": price,
        "timeInForce": "GTC",
        **extra,
    }


def btc_px(c: Ctx, factor: float) -> str:
    return f"{round(c.mark['BTCUSDT'] * factor, 1):.1f}"


def stop(sym: str, side: str, qty: str, trigger: str, **extra: Any) -> dict[str, Any]:
    return {
        "algoType": "CONDITIONAL",
        "symbol": sym,
        "side": side,
        "type": "STOP_MARKET",
        "quantity": qty,
        "triggerPrice": trigger,
        **extra,
    }


ORDER, ALGO = "/fapi/v1/order", "/fapi/v1/algoOrder"
PRECISION = r"Precision is over the maximum defined for this asset\."

# name -> Case. Codes/messages: Binance USDⓈ-M error codes; classes: ccxt's table.
CASES: dict[str, Case] = {
    # 1xxx
    "bad symbol (public) -1121": Case(
        "GET",
        "/fapi/v1/klines",
        lambda c: {"symbol": "DOGEUSDT", "interval": "1h"},
        400,
        -1121,
        r"Invalid symbol\.",
        ccxt.BadSymbol,
        {"signed": False},
    ),
    "bad symbol (signed) -1121": Case(
        "POST",
        ORDER,
        lambda c: order("DOGEUSDT", "BUY", "1"),
        400,
        -1121,
        r"Invalid symbol\.",
        ccxt.BadSymbol,
    ),
    "client order id not valid -4015": Case(
        "POST",
        ORDER,
        lambda c: order("BTCUSDT", "BUY", "0.002", newClientOrderId="x" * 37),
        400,
        -4015,
        r"Client order id is not valid\.",
        ccxt.BadRequest,
    ),
    "bad interval -1120": Case(
        "GET",
        "/fapi/v1/klines",
        lambda c: {"symbol": "BTCUSDT", "interval": "7m"},
        400,
        -1120,
        r"Invalid interval\.",
        ccxt.BadRequest,
        {"signed": False},
    ),
    "missing parameter -1102": Case(
        "POST",
        ORDER,
        lambda c: {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"},
        400,
        -1102,
        r"Mandatory parameter 'quantity' was not sent, was empty/null, or malformed\.",
        ccxt.BadRequest,
    ),
    "neither orderId nor clientOrderId -1102": Case(
        "GET",
        ORDER,
        lambda c: {"symbol": "BTCUSDT"},
        400,
        -1102,
        r"Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        ccxt.BadRequest,
    ),
    "invalid parameter value -1130": Case(
        "POST",
        ORDER,
        lambda c: order("BTCUSDT", "BUY", "abc"),
        400,
        -1130,
        r"Data sent for parameter 'quantity' is not valid\.",
        ccxt.BadRequest,
    ),
    "invalid side -1117": Case(
        "POST",
        ORDER,
        lambda c: order("BTCUSDT", "LONG", "0.002"),
        400,
        -1117,
        r"Invalid side\.",
        ccxt.BadRequest,
    ),
    "invalid order type -1116": Case(
        "POST",
        ORDER,
        lambda c: {**order("BTCUSDT", "BUY", "0.002"), "type": "ICEBERG"},
        400,
        -1116,
        r"Invalid orderType\.",
        ccxt.BadRequest,
    ),
    "quantity precision -1111": Case(
        "POST",
        ORDER,
        lambda c: order("BTCUSDT", "BUY", "0.0015"),
        400,
        -1111,
        PRECISION,
        ccxt.BadRequest,
    ),
    "price precision -1111": Case(
        "POST",
        ORDER,
        lambda c: limit("BTCUSDT", "BUY", "0.002", btc_px(c, 0.99) + "01"),
        400,
        -1111,
        PRECISION,
        ccxt.BadRequest,
    ),
    "stale timestamp -1021": Case(
        "GET",
        "/fapi/v3/account",
        lambda c: {},
        400,
        -1021,
        r"Timestamp for this request is outside of the recvWindow\.",
        ccxt.InvalidNonce,
        {"ts_shift_ms": -60_000},
    ),
    "timestamp ahead -1021": Case(
        "GET",
        "/fapi/v3/account",
        lambda c: {},
        400,
        -1021,
        r"Timestamp for this request was 1000ms ahead of the server's time\.",
        ccxt.InvalidNonce,
        {"ts_shift_ms": 5_000},
    ),
    "bad signature -1022": Case(
        "GET",
        "/fapi/v3/account",
        lambda c: {},
        400,
        -1022,
        r"Signature for this request is not valid\.",
        ccxt.AuthenticationError,
        {"secret": "not-the-secret"},
    ),
    # ccxt's linear and common tables have no -1131: production raises ExchangeError too
    "recvWindow too large -1131": Case(
        "GET",
        "/fapi/v3/account",
        lambda c: {"recvWindow": 70_000},
        400,
        -1131,
        r"recvWindow must be less than 60000",
        ccxt.ExchangeError,
    ),
    # 2xxx
    "API-key format -2014": Case(
        "GET",
        "/fapi/v3/account",
        lambda c: {},
        401,
        -2014,
        r"API-key format invalid\.",
        ccxt.AuthenticationError,
        {"key": "bad key!"},
    ),
    "unknown API key -2015": Case(
        "GET",
        "/fapi/v3/account",
        lambda c: {},
        401,
        -2015,
        r"Invalid API-key, IP, or permissions for action, request ip: [0-9.]+",
        ccxt.AuthenticationError,
        {"key": "unknownKey123"},
    ),
    "cancel unknown order -2011": Case(
        "DELETE",
        ORDER,
        lambda c: {"symbol": "BTCUSDT", "orderId": 1},
        400,
        -2011,
        r"Unknown order sent\.",
        ccxt.OrderNotFound,
    ),
    "query unknown order -2013": Case(
        "GET",
        ORDER,
        lambda c: {"symbol": "BTCUSDT", "orderId": 1},
        400,
        -2013,
        r"Order does not exist\.",
        ccxt.OrderNotFound,
    ),
    "query unknown open order -2013": Case(
        "GET",
        "/fapi/v1/openOrder",
        lambda c: {"symbol": "BTCUSDT", "orderId": 1},
        400,
        -2013,
        r"Order does not exist\.",
        ccxt.OrderNotFound,
    ),
    "cancel unknown algo order -2011": Case(
        "DELETE",
        ALGO,
        lambda c: {"symbol": "BTCUSDT", "algoId": 1},
        400,
        -2011,
        r"Unknown order sent\.",
        ccxt.OrderNotFound,
    ),
    "query unknown algo order -2013": Case(
        "GET",
        ALGO,
        lambda c: {"symbol": "BTCUSDT", "algoId": 1},
        400,
        -2013,
        r"Order does not exist\.",
        ccxt.OrderNotFound,
    ),
    "insufficient margin -2019": Case(
        "POST",
        ORDER,
        lambda c: order("BTCUSDT", "BUY", "100"),
        400,
        -2019,
        r"Margin is insufficient\.",
        ccxt.InsufficientFunds,
    ),
    "stop would immediately trigger -2021": Case(
        "POST",
        ALGO,
        lambda c: stop("ADAUSDT", "SELL", "100", f"{c.last['ADAUSDT'] * 1.05:.4f}"),
        400,
        -2021,
        r"Order would immediately trigger\.",
        ccxt.OrderImmediatelyFillable,
    ),
    "reduce-only without position -2022": Case(
        "POST",
        ORDER,
        lambda c: order("SOLUSDT", "SELL", "1", reduceOnly="true"),
        400,
        -2022,
        r"ReduceOnly Order is rejected\.",
        ccxt.InvalidOrder,
    ),
    # 4xxx: filters
    "quantity zero -4003": Case(
        "POST",
        ORDER,
        lambda c: order("BTCUSDT", "BUY", "0"),
        400,
        -4003,
        r"Quantity less than or equal to zero\.",
        ccxt.BadRequest,
    ),
    "market quantity above MARKET_LOT_SIZE max -4005": Case(
        "POST",
        ORDER,
        lambda c: order("BTCUSDT", "BUY", str(int(SPECS["BTCUSDT"].market_max_qty) + 1)),
        400,
        -4005,
        r"Quantity greater than max quantity\.",
        ccxt.BadRequest,
    ),
    "limit quantity above LOT_SIZE max -4005": Case(
        "POST",
        ORDER,
        lambda c: limit("BTCUSDT", "BUY", "1001", btc_px(c, 0.99)),
        400,
        -4005,
        r"Quantity greater than max quantity\.",
        ccxt.BadRequest,
    ),
    "price below zero -4001": Case(
        "POST",
        ORDER,
        lambda c: limit("BTCUSDT", "BUY", "0.002", "-1.0"),
        400,
        -4001,
        r"Price less than 0\.",
        ccxt.BadRequest,
    ),
    "price below minPrice -4013": Case(
        "POST",
        ORDER,
        lambda c: limit("BTCUSDT", "BUY", "0.002", "100.0"),
        400,
        -4013,
        r"Price less than min price\.",
        ccxt.BadRequest,
    ),
    "price above maxPrice -4002": Case(
        "POST",
        ORDER,
        lambda c: limit("BTCUSDT", "SELL", "0.002", "900000.0"),
        400,
        -4002,
        r"Price greater than max price\.",
        ccxt.BadRequest,
    ),
    "price not a tick multiple -4014": Case(
        "POST",
        ORDER,
        lambda c: limit("BTCUSDT", "BUY", "0.002", btc_px(c, 0.99) + "5"),
        400,
        -4014,
        r"Price not increased by tick size\.",
        ccxt.BadRequest,
    ),
    "price above PERCENT_PRICE cap -4016": Case(
        "POST",
        ORDER,
        lambda c: limit("BTCUSDT", "SELL", "0.002", btc_px(c, 1.08)),
        400,
        -4016,
        r"Limit price can't be higher than \d+\.\d0\.",
        ccxt.BadRequest,
    ),
    "price below PERCENT_PRICE floor -4024": Case(
        "POST",
        ORDER,
        lambda c: limit("BTCUSDT", "BUY", "0.002", btc_px(c, 0.92)),
        400,
        -4024,
        r"Limit price can't be lower than \d+\.\d0\.",
        ccxt.BadRequest,
    ),
    "below min notional -4164": Case(
        "POST",
        ORDER,
        lambda c: order("ETHUSDT", "BUY", "0.001"),
        400,
        -4164,
        r"Order's notional must be no smaller than 20 \(unless you choose reduce only\)\.",
        ccxt.InvalidOrder,
    ),
    "conditional type on /order -4120": Case(
        "POST",
        ORDER,
        lambda c: {**order("BTCUSDT", "SELL", "0.002"), "type": "STOP_MARKET"},
        400,
        -4120,
        r"Order type not supported for this endpoint\. "
        r"Please use the Algo Order API endpoints instead\.",
        ccxt.InvalidOrder,
    ),
    "position side LONG in one-way mode -4061": Case(
        "POST",
        ORDER,
        lambda c: order("BTCUSDT", "BUY", "0.002", positionSide="LONG"),
        400,
        -4061,
        r"Order's position side does not match user's setting\.",
        ccxt.OperationRejected,
    ),
    # 4xxx: settings
    "invalid leverage -4028": Case(
        "POST",
        "/fapi/v1/leverage",
        lambda c: {"symbol": "BTCUSDT", "leverage": 200},
        400,
        -4028,
        r"Leverage 200 is not valid",
        ccxt.BadRequest,
    ),
    "margin type unchanged -4046": Case(
        "POST",
        "/fapi/v1/marginType",
        lambda c: {"symbol": "BTCUSDT", "marginType": "CROSSED"},
        400,
        -4046,
        r"No need to change margin type\.",
        ccxt.MarginModeAlreadySet,
    ),
    "position side unchanged -4059": Case(
        "POST",
        "/fapi/v1/positionSide/dual",
        lambda c: {"dualSidePosition": "false"},
        400,
        -4059,
        r"No need to change position side\.",
        ccxt.OperationRejected,
    ),
    # refusals of unsupported modes (the stand-in's own wording; Binance's classes)
    "hedge mode refused -4068": Case(
        "POST",
        "/fapi/v1/positionSide/dual",
        lambda c: {"dualSidePosition": "true"},
        400,
        -4068,
        r".+",
        ccxt.OperationRejected,
    ),
    "multi-assets mode refused -4171": Case(
        "POST",
        "/fapi/v1/multiAssetsMargin",
        lambda c: {"multiAssetsMargin": "true"},
        400,
        -4171,
        r".+",
        ccxt.OperationRejected,
    ),
}


@pytest.fixture(scope="module")
def ctx(exchange_url: str) -> Ctx:
    prem = requests.get(f"{exchange_url}/fapi/v1/premiumIndex", timeout=10).json()
    last = requests.get(f"{exchange_url}/fapi/v1/ticker/price", timeout=10).json()
    return Ctx(
        mark={p["symbol"]: float(p["markPrice"]) for p in prem},
        last={p["symbol"]: float(p["price"]) for p in last},
    )


@pytest.mark.parametrize("name", list(CASES))
def test_rejection_raises_productions_class(exchange_url: str, ctx: Ctx, name: str) -> None:
    case = CASES[name]
    resp = call(exchange_url, case.method, case.path, case.params(ctx), **case.kw)
    assert_rejection(resp, case.method, case.path, case.status, case.code, case.msg, case.cls)


def test_tables_behind_the_expectations() -> None:
    """The classes above are ccxt's USDⓈ-M table: guard against reading them wrong."""
    ex = ccxt.binanceusdm().exceptions
    linear, common = ex["linear"]["exact"], ex["exact"]
    for case in CASES.values():
        code = str(case.code)
        if code == "-4046":
            continue  # matched on its message (MarginModeAlreadySet) before the code table
        want = linear.get(code) or common.get(code) or ccxt.ExchangeError
        assert want is case.cls, code


@pytest.fixture
def clean_account(exchange_url: str) -> Iterator[None]:
    yield
    for sym in SPECS:
        call(exchange_url, "DELETE", "/fapi/v1/allOpenOrders", {"symbol": sym})
        call(exchange_url, "DELETE", "/fapi/v1/algoOpenOrders", {"symbol": sym})


def test_position_above_leverage_bracket_2027(exchange_url: str, clean_account: None) -> None:
    top = brackets()["ETHUSDT"][0]
    r = call(
        exchange_url,
        "POST",
        "/fapi/v1/leverage",
        {"symbol": "ETHUSDT", "leverage": top["initialLeverage"]},
    )
    assert r.status_code == 200, r.text
    r = call(exchange_url, "POST", ORDER, order("ETHUSDT", "BUY", "2000"))
    msg = r"Exceeded the maximum allowable position at current leverage\."
    assert_rejection(r, "POST", ORDER, 400, -2027, msg, ccxt.OperationRejected)
    call(exchange_url, "POST", "/fapi/v1/leverage", {"symbol": "ETHUSDT", "leverage": 20})


def test_margin_type_with_open_orders_4047(
    exchange_url: str, ctx: Ctx, clean_account: None
) -> None:
    r = call(exchange_url, "POST", ORDER, limit("BTCUSDT", "BUY", "0.002", btc_px(ctx, 0.97)))
    assert r.status_code == 200, r.text
    r = call(
        exchange_url, "POST", "/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "ISOLATED"}
    )
    msg = r"Margin type cannot be changed if there exists open orders\."
    assert_rejection(r, "POST", "/fapi/v1/marginType", 400, -4047, msg, ccxt.OperationRejected)


def test_margin_type_with_position_4048(exchange_url: str, clean_account: None) -> None:
    r = call(exchange_url, "POST", ORDER, order("ADAUSDT", "BUY", "20"))
    assert r.status_code == 200, r.text
    r = call(
        exchange_url, "POST", "/fapi/v1/marginType", {"symbol": "ADAUSDT", "marginType": "ISOLATED"}
    )
    msg = r"Margin type cannot be changed if there exists position\."
    assert_rejection(r, "POST", "/fapi/v1/marginType", 400, -4048, msg, ccxt.OperationRejected)
    r = call(exchange_url, "POST", ORDER, order("ADAUSDT", "SELL", "20", reduceOnly="true"))
    assert r.status_code == 200, r.text


def test_max_num_orders_2025(exchange_url: str, ctx: Ctx, clean_account: None) -> None:
    price = f"{round(ctx.mark['ETHUSDT'] * 0.97, 2):.2f}"
    for _ in range(MAX_NUM_ORDERS):
        r = call(exchange_url, "POST", ORDER, limit("ETHUSDT", "BUY", "0.010", price))
        assert r.status_code == 200 and r.json()["status"] == "NEW", r.text
    r = call(exchange_url, "POST", ORDER, limit("ETHUSDT", "BUY", "0.010", price))
    msg = r"Reach max open order limit\."
    assert_rejection(r, "POST", ORDER, 400, -2025, msg, ccxt.OperationRejected)
    # the limit is per symbol
    r = call(exchange_url, "POST", ORDER, limit("BTCUSDT", "BUY", "0.002", btc_px(ctx, 0.97)))
    assert r.status_code == 200, r.text


def test_max_num_algo_orders_4045(exchange_url: str, ctx: Ctx, clean_account: None) -> None:
    trigger = f"{ctx.last['BNBUSDT'] * 0.8:.2f}"
    for _ in range(MAX_NUM_ALGO_ORDERS):
        r = call(exchange_url, "POST", ALGO, stop("BNBUSDT", "SELL", "1", trigger))
        assert r.status_code == 200 and r.json()["algoStatus"] == "NEW", r.text
    r = call(exchange_url, "POST", ALGO, stop("BNBUSDT", "SELL", "1", trigger))
    msg = r"Reach max stop order limit\."
    assert_rejection(r, "POST", ALGO, 400, -4045, msg, ccxt.OperationRejected)


@pytest.mark.parametrize(
    ("mode", "status", "code", "cls"),
    [
        ("429", 429, -1003, ccxt.DDoSProtection),
        ("418", 418, -1003, ccxt.DDoSProtection),
        ("maintenance", 503, -1001, ccxt.OnMaintenance),
    ],
)
def test_fault_answers_raise_productions_class(
    exchange_url: str, mode: str, status: int, code: int, cls: type[BaseException]
) -> None:
    spec = {"mode": mode, "count": 1, "path": "/fapi/v1/time"}
    assert requests.post(f"{exchange_url}/_control/faults", json=spec, timeout=5).ok
    try:
        r = call(exchange_url, "GET", "/fapi/v1/time", signed=False)
    finally:
        requests.delete(f"{exchange_url}/_control/faults", timeout=5)
    msg = {
        "429": r"Too many requests; current limit of IP is \d+ requests per minute\. .+",
        "418": r"Way too many requests; IP banned until \d+\. .+",
        "maintenance": r"System is under maintenance\.",
    }[mode]
    assert_rejection(r, "GET", "/fapi/v1/time", status, code, msg, cls)


@pytest.mark.parametrize(
    ("code", "cls"), [(-1006, ccxt.OperationFailed), (-1007, ccxt.RequestTimeout)]
)
def test_execution_unknown_after_the_order_is_placed(
    exchange_url: str, clean_account: None, code: int, cls: type[BaseException]
) -> None:
    """Binance's 503 "execution status unknown": production raises ccxt's class for the code
    (-1007 a RequestTimeout, which freqtrade treats as temporary), and the order was executed
    all the same, once, under the client's id."""
    assert ccxt.binanceusdm().exceptions["exact"][str(code)] is cls
    cid = f"unknown{-code}"
    spec = {"mode": "unknown", "code": code, "count": 1, "path": ORDER}
    assert requests.post(f"{exchange_url}/_control/faults", json=spec, timeout=5).ok
    try:
        r = call(exchange_url, "POST", ORDER, order("ADAUSDT", "BUY", "20", newClientOrderId=cid))
    finally:
        requests.delete(f"{exchange_url}/_control/faults", timeout=5)
    msg = re.escape(errors.EXECUTION_UNKNOWN[code])
    assert_rejection(r, "POST", ORDER, 503, code, msg, cls)
    placed = call(exchange_url, "GET", "/fapi/v1/allOrders", {"symbol": "ADAUSDT"}).json()
    mine = [o for o in placed if o["clientOrderId"] == cid]
    assert [(o["status"], o["executedQty"]) for o in mine] == [("FILLED", "20")]
    r = call(exchange_url, "POST", ORDER, order("ADAUSDT", "SELL", "20", reduceOnly="true"))
    assert r.status_code == 200, r.text


def test_client_order_id_unique_among_open_orders_4116(
    exchange_url: str, ctx: Ctx, clean_account: None
) -> None:
    """A resent order whose answer was lost is refused while the first one still rests."""
    price = btc_px(ctx, 0.97)
    first = limit("BTCUSDT", "BUY", "0.002", price, newClientOrderId="resend-1")
    assert call(exchange_url, "POST", ORDER, first).status_code == 200
    r = call(exchange_url, "POST", ORDER, first)
    msg = r"ClientOrderId is duplicated\."
    assert_rejection(r, "POST", ORDER, 400, -4116, msg, ccxt.InvalidOrder)
    call(exchange_url, "DELETE", ORDER, {"symbol": "BTCUSDT", "origClientOrderId": "resend-1"})
    assert call(exchange_url, "POST", ORDER, first).status_code == 200  # free again


def test_order_rate_limit_1015(exchange_url: str) -> None:
    """ORDERS per account and 10 s (exchangeInfo: 300): the next order is answered 429 -1015
    with Retry-After; other requests are not affected."""
    info = requests.get(f"{exchange_url}/fapi/v1/exchangeInfo", timeout=10).json()
    orders = {
        f"{r['intervalNum']} {r['interval']}": r["limit"]
        for r in info["rateLimits"]
        if r["rateLimitType"] == "ORDERS"
    }
    assert orders == {"10 SECOND": 300, "1 MINUTE": 1200}
    limits = f"{exchange_url}/_control/limits"
    requests.delete(f"{exchange_url}/_control/faults", timeout=5)  # also resets order counts
    assert requests.post(limits, json={"orders_10s": 5}, timeout=5).json()["orders_10s"] == 5
    try:
        codes = []
        for _ in range(12):  # a 10 s window may turn once in between: then 5 more pass
            r = call(exchange_url, "POST", ORDER, order("ETHUSDT", "BUY", "0.001"))
            codes.append(r.status_code)
            if r.status_code == 429:
                break
        assert codes[:5] == [400] * 5 and codes[-1] == 429, codes  # rejected orders count too
        assert 1 <= int(r.headers["Retry-After"]) <= 10
        msg = r"Too many new orders; current limit is 5 orders per 10 SECOND\."
        assert_rejection(r, "POST", ORDER, 429, -1015, msg, ccxt.DDoSProtection)
        assert call(exchange_url, "GET", "/fapi/v3/account").status_code == 200
    finally:
        requests.post(limits, json={"orders_10s": 300}, timeout=5)
        requests.delete(f"{exchange_url}/_control/faults", timeout=5)


def test_order_limits_per_account_and_minute() -> None:
    lim = Limiter(orders_10s=100, orders_1m=3)
    t = 1_700_000_012_345
    for _ in range(3):
        assert lim.order_limit_hit("keyA", t) is None
        lim.add_order("keyA", t)
    assert lim.order_limit_hit("keyA", t) == (3, "MINUTE", 28)  # until the minute turns
    assert lim.order_limit_hit("keyB", t) is None
    assert lim.order_limit_hit("keyA", t - t % 60_000 + 60_000) is None
    err = errors.too_many_orders(3, "MINUTE")
    assert (err.status, err.code) == (429, -1015)
    assert err.msg == "Too many new orders; current limit is 3 orders per MINUTE."
