"""Public market-data endpoints (thin handlers over Replay)."""

from __future__ import annotations

import json
import math
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import errors
from .appkey import EX
from .book import book
from .markets import SPECS, exchange_info
from .replay import DAY_MS, TF_MS

if TYPE_CHECKING:
    from .core import Exchange

KLINE_CACHE_BLOCKS = 512  # a few MB: 5 symbols x the intervals and kinds bots ask for
KLINE_PATHS = {
    "/fapi/v1/klines": "trade",
    "/fapi/v1/continuousKlines": "trade",
    "/fapi/v1/markPriceKlines": "mark",
    "/fapi/v1/indexPriceKlines": "index",
    "/fapi/v1/premiumIndexKlines": "premium",
}


def fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _int(q: dict[str, str], name: str, default: int | None = None) -> int | None:
    raw = q.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise errors.bad_param(name) from exc


def symbol_param(ex: Exchange, q: dict[str, str], name: str = "symbol") -> str:
    sym = q.get(name) or (q.get("pair") if name == "symbol" else None)
    if not sym:
        raise errors.mandatory(name)
    if sym not in ex.replay.data.symbols:
        raise errors.invalid_symbol()
    return sym


def symbols_or_all(ex: Exchange, q: dict[str, str]) -> list[str]:
    if q.get("symbol"):
        return [symbol_param(ex, q)]
    return list(ex.replay.data.symbols)


async def ping(request: web.Request) -> web.Response:
    return web.json_response({})


async def server_time(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    return web.json_response({"serverTime": ex.now()})


async def exchange_info_h(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    info = exchange_info(ex.now())
    info["symbols"] = [s for s in info["symbols"] if s["symbol"] in ex.replay.data.symbols]
    return web.json_response(info)


async def klines(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    q = dict(request.query)
    kind = KLINE_PATHS[request.path]
    sym = symbol_param(
        ex, q, "pair" if kind == "index" or "continuous" in request.path else "symbol"
    )
    tf = q.get("interval") or ""
    if not tf:
        raise errors.mandatory("interval")
    if tf not in TF_MS:
        raise errors.bad_interval()
    limit = _int(q, "limit", 500) or 500
    if not 1 <= limit <= 1500:
        raise errors.bad_param("limit")
    now = ex.now()
    opens = ex.replay.kline_opens(tf, now, _int(q, "startTime"), _int(q, "endTime"), limit)
    step = TF_MS[tf]
    n_closed = sum(1 for t in opens if t + step <= now)  # closed candles come first
    series = "mark" if kind == "index" else kind
    d = SPECS[sym].price_precision

    def rows(ts: list[int]) -> str:
        candles = ex.replay.candles(sym, series, tf, ts, now)
        return ",".join(json.dumps(_kline_row(c, kind, step, d)) for c in candles)

    parts = []
    if n_closed:
        # Closed candles never change: their rows are cached as one block per request shape
        # (aggregating and formatting 500 candles was most of a request's cost).
        key = (sym, kind, tf, opens[0], opens[n_closed - 1])
        block = ex.kline_cache.get(key)
        if block is None:
            if len(ex.kline_cache) >= KLINE_CACHE_BLOCKS:
                ex.kline_cache.clear()
            block = ex.kline_cache[key] = rows(opens[:n_closed])
        parts.append(block)
    if n_closed < len(opens):
        parts.append(rows(opens[n_closed:]))
    return web.Response(text="[" + ",".join(parts) + "]", content_type="application/json")


def _kline_row(
    cndl: tuple[int, float, float, float, float, float], kind: str, step: int, d: int
) -> list[Any]:
    t, o, h, lo, c, v = cndl
    if kind == "premium":
        return [
            t,
            fmt(o, 8),
            fmt(h, 8),
            fmt(lo, 8),
            fmt(c, 8),
            "0",
            t + step - 1,
            "0",
            0,
            "0",
            "0",
            "0",
        ]
    vol = v if kind == "trade" else 0.0
    qv = vol * (o + h + lo + c) / 4
    trades = int(vol * 10) if kind == "trade" else 0
    return [
        t,
        fmt(o, d),
        fmt(h, d),
        fmt(lo, d),
        fmt(c, d),
        fmt(vol, 3),
        t + step - 1,
        fmt(qv, 5),
        trades,
        fmt(vol / 2, 3),
        fmt(qv / 2, 5),
        "0",
    ]


def _funding_rows(ex: Exchange, sym: str, t0: int, t1: int) -> list[dict[str, Any]]:
    d = SPECS[sym].price_precision
    return [
        {
            "symbol": sym,
            "fundingTime": t,
            "fundingRate": fmt(r, 8),
            "markPrice": fmt(ex.replay.mark_price(sym, t), d),
        }
        for t, r in ex.replay.funding_events(sym, t0, t1)
    ]


async def funding_rate(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    q = dict(request.query)
    now = ex.now()
    limit = min(_int(q, "limit", 100) or 100, 1000)
    start, end = _int(q, "startTime"), _int(q, "endTime")
    syms = symbols_or_all(ex, q)
    rows: list[dict[str, Any]] = []
    for sym in syms:
        if start is not None:
            t1 = min(now + 1, (end + 1) if end is not None else now + 1)
            got = _funding_rows(ex, sym, start, min(t1, start + 400 * DAY_MS))[:limit]
        else:
            t1 = min(now + 1, (end + 1) if end is not None else now + 1)
            span = (limit // 3 + 2) * DAY_MS
            got = _funding_rows(ex, sym, t1 - span, t1)[-limit:]
        rows.extend(got)
    rows.sort(key=lambda r: r["fundingTime"])
    return web.json_response(rows[-limit:] if start is None else rows[:limit])


async def funding_info(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    return web.json_response(
        [
            {
                "symbol": s,
                "adjustedFundingRateCap": "0.02000000",
                "adjustedFundingRateFloor": "-0.02000000",
                "fundingIntervalHours": 8,
                "disclaimer": False,
            }
            for s in ex.replay.data.symbols
        ]
    )


def premium_row(ex: Exchange, sym: str, now: int) -> dict[str, Any]:
    d = SPECS[sym].price_precision
    mark = ex.replay.mark_price(sym, now)
    nft, rate = ex.replay.next_funding(sym, now)
    return {
        "symbol": sym,
        "markPrice": fmt(mark, d),
        "indexPrice": fmt(mark, d),  # no recorded index: the mark stands in for it
        "estimatedSettlePrice": fmt(mark, d),
        "lastFundingRate": fmt(rate, 8),
        "interestRate": "0.00010000",
        "nextFundingTime": nft,
        "time": now,
    }


async def premium_index(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    q = dict(request.query)
    now = ex.now()
    rows = [premium_row(ex, s, now) for s in symbols_or_all(ex, q)]
    return web.json_response(rows[0] if q.get("symbol") else rows)


def ticker_24h(ex: Exchange, sym: str, now: int) -> dict[str, Any]:
    d = SPECS[sym].price_precision
    o, h, lo, _c, v = ex.replay.span(ex.replay.series(sym, "trade"), now - DAY_MS, now + 1)
    last = ex.replay.last_price(sym, now)
    h, lo = max(h, last), min(lo, last)
    qv = v * (o + h + lo + last) / 4
    return {
        "symbol": sym,
        "priceChange": fmt(last - o, d),
        "priceChangePercent": fmt((last - o) / o * 100, 3),
        "weightedAvgPrice": fmt(qv / v if v else last, d),
        "lastPrice": fmt(last, d),
        "lastQty": SPECS[sym].min_qty,
        "openPrice": fmt(o, d),
        "highPrice": fmt(h, d),
        "lowPrice": fmt(lo, d),
        "volume": fmt(v, 3),
        "quoteVolume": fmt(qv, 2),
        "openTime": now - DAY_MS,
        "closeTime": now,
        "firstId": now // 1000 - 86400,
        "lastId": now // 1000,
        "count": 86400,
    }


async def ticker_24hr(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    q = dict(request.query)
    now = ex.now()
    rows = [ticker_24h(ex, s, now) for s in symbols_or_all(ex, q)]
    return web.json_response(rows[0] if q.get("symbol") else rows)


async def ticker_price(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    q = dict(request.query)
    now = ex.now()
    rows = [
        {
            "symbol": s,
            "price": fmt(ex.replay.last_price(s, now), SPECS[s].price_precision),
            "time": now,
        }
        for s in symbols_or_all(ex, q)
    ]
    return web.json_response(rows[0] if q.get("symbol") else rows)


async def depth(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    q = dict(request.query)
    sym = symbol_param(ex, q)
    limit = _int(q, "limit", 500) or 500
    if limit not in (5, 10, 20, 50, 100, 500, 1000):
        raise errors.bad_param("limit")
    now = ex.now()
    bids, asks = book(ex.replay, sym, now, limit)
    return web.json_response(
        {
            "lastUpdateId": now,
            "E": now,
            "T": now,
            "bids": [[str(p), str(qty)] for p, qty in bids],
            "asks": [[str(p), str(qty)] for p, qty in asks],
        }
    )


async def book_ticker(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    q = dict(request.query)
    now = ex.now()
    rows = []
    for s in symbols_or_all(ex, q):
        bids, asks = book(ex.replay, s, now, 1)
        rows.append(
            {
                "symbol": s,
                "bidPrice": str(bids[0][0]),
                "bidQty": str(bids[0][1]),
                "askPrice": str(asks[0][0]),
                "askQty": str(asks[0][1]),
                "time": now,
                "lastUpdateId": now,
            }
        )
    return web.json_response(rows[0] if q.get("symbol") else rows)


async def agg_trades(request: web.Request) -> web.Response:
    """Synthetic trades: one per second along the replayed price path (id = unix second)."""
    ex: Exchange = request.app[EX]
    q = dict(request.query)
    sym = symbol_param(ex, q)
    now = ex.now()
    limit = min(_int(q, "limit", 500) or 500, 1000)
    from_id, start, end = _int(q, "fromId"), _int(q, "startTime"), _int(q, "endTime")
    last_id = now // 1000
    if from_id is not None:
        first = from_id
    elif start is not None:
        first = math.ceil(start / 1000)
        if end is not None:
            last_id = min(last_id, end // 1000)
    else:
        if end is not None:
            last_id = min(last_id, end // 1000)
        first = last_id - limit + 1
    last_id = min(last_id, first + limit - 1)
    spec = SPECS[sym]
    s = ex.replay.series(sym, "trade")
    rows = []
    prev = None
    for sec in range(first, last_id + 1):
        t = sec * 1000
        price = ex.replay.price_on(s, t)
        i = ex.replay._base_index(s, t)
        qty = max(float(spec.min_qty), float(s.v[i]) / (s.tf_ms / 1000))
        rows.append(
            {
                "a": sec,
                "p": fmt(price, spec.price_precision),
                "q": f"{Decimal(repr(qty)).quantize(spec.step, ROUND_DOWN)}",
                "f": sec,
                "l": sec,
                "T": t,
                "m": prev is not None and price < prev,
            }
        )
        prev = price
    return web.json_response(rows)


async def open_interest(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    sym = symbol_param(ex, dict(request.query))
    now = ex.now()
    s = ex.replay.series(sym, "trade")
    _, _, _, _, v = ex.replay.span(s, now - DAY_MS, now)
    return web.json_response({"symbol": sym, "openInterest": fmt(v / 3, 3), "time": now})


def routes() -> list[web.RouteDef]:
    r = [
        web.get("/fapi/v1/ping", ping),
        web.get("/fapi/v1/time", server_time),
        web.get("/fapi/v1/exchangeInfo", exchange_info_h),
        web.get("/fapi/v1/fundingRate", funding_rate),
        web.get("/fapi/v1/fundingInfo", funding_info),
        web.get("/fapi/v1/premiumIndex", premium_index),
        web.get("/fapi/v1/ticker/24hr", ticker_24hr),
        web.get("/fapi/v1/ticker/price", ticker_price),
        web.get("/fapi/v2/ticker/price", ticker_price),
        web.get("/fapi/v1/ticker/bookTicker", book_ticker),
        web.get("/fapi/v1/depth", depth),
        web.get("/fapi/v1/aggTrades", agg_trades),
        web.get("/fapi/v1/openInterest", open_interest),
    ]
    r += [web.get(p, klines) for p in KLINE_PATHS]
    return r
