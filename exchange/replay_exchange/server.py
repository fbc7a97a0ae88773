"""aiohttp application: wiring, middleware (faults, weights, errors) and the control API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from . import errors, private, public
from .appkey import EX
from .core import Exchange
from .faults import Fault, request_weight

log = logging.getLogger("replay_exchange")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _retry_headers(weight: int, retry_after_s: int) -> dict[str, str]:
    return {"Retry-After": str(retry_after_s), "X-MBX-USED-WEIGHT-1M": str(weight)}


@web.middleware
async def binance_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    ex: Exchange = request.app[EX]
    path = request.path
    if path.startswith("/_control"):
        return await handler(request)
    now = ex.now()
    ip = request.remote or "?"
    route = f"{request.method} {path}"
    ex.request_counts[route] = ex.request_counts.get(route, 0) + 1
    weight = ex.limiter.add(ip, now, request_weight(path, dict(request.query)))
    matched = ex.faults.match(path, now)
    for fault in matched:
        if fault.after_execution:
            continue  # acts on the answer, below
        if fault.mode == "clock" and "signature" not in request.query:
            continue  # a stale timestamp matters to signed requests only: not faulted
        ex.faults.apply(fault, route)
        if fault.mode == "latency":
            await asyncio.sleep(fault.latency_ms / 1000)
        elif fault.mode == "drop":
            if request.transport is not None:
                request.transport.close()  # the client sees a dropped connection
            raise web.HTTPBadRequest()  # never delivered: the transport is gone
        elif fault.mode == "429":
            err = errors.too_many_requests(ex.limiter.limit)
            return web.json_response(
                err.body(), status=429, headers=_retry_headers(weight, fault.retry_after_s)
            )
        elif fault.mode == "418":
            err = errors.banned(fault.until_ms)
            return web.json_response(
                err.body(), status=418, headers=_retry_headers(weight, fault.retry_after_s)
            )
        elif fault.mode == "5xx":
            return web.Response(
                status=fault.status,
                text="<html>Internal Server Error</html>",
                content_type="text/html",
            )
        elif fault.mode == "maintenance":
            return web.json_response(
                {"code": -1001, "msg": "System is under maintenance."}, status=503
            )
        elif fault.mode == "clock":
            return web.json_response(
                errors.stale_timestamp().body(),
                status=400,
                headers={"X-MBX-USED-WEIGHT-1M": str(weight)},
            )
    banned = ex.limiter.banned_until.get(ip, 0)
    if banned > now:
        err = errors.banned(banned)
        return web.json_response(
            err.body(), status=418, headers=_retry_headers(weight, (banned - now) // 1000 + 1)
        )
    if weight > ex.limiter.limit:
        if ex.limiter.note_reject(ip, now):
            until = ex.limiter.banned_until[ip]
            return web.json_response(
                errors.banned(until).body(),
                status=418,
                headers=_retry_headers(weight, (until - now) // 1000 + 1),
            )
        retry = 60 - (now // 1000) % 60
        return web.json_response(
            errors.too_many_requests(ex.limiter.limit).body(),
            status=429,
            headers=_retry_headers(weight, retry),
        )
    new_order = request.method == "POST" and path in ("/fapi/v1/order", "/fapi/v1/algoOrder")
    account = request.headers.get("X-MBX-APIKEY") or ip  # order limits count per account
    hit = ex.limiter.order_limit_hit(account, now) if new_order else None
    if hit is not None:
        limit, per, retry_s = hit
        return web.json_response(
            errors.too_many_orders(limit, per).body(),
            status=429,
            headers=_retry_headers(weight, retry_s),
        )
    try:
        resp = await handler(request)
    except errors.BinanceError as err:
        resp = web.json_response(err.body(), status=err.status)
    except web.HTTPException as exc:
        if exc.status == 404:
            resp = web.json_response({"code": -5000, "msg": "Path not found"}, status=404)
        elif exc.status == 405:
            resp = web.json_response(
                {"code": -1014, "msg": "Unsupported order combination."}, status=405
            )
        else:
            raise
    resp.headers["X-MBX-USED-WEIGHT-1M"] = str(weight)
    if new_order:
        n10, n60 = ex.limiter.add_order(account, now)  # rejected orders count too
        resp.headers["X-MBX-ORDER-COUNT-10S"] = str(n10)
        resp.headers["X-MBX-ORDER-COUNT-1M"] = str(n60)
    after = next((f for f in matched if f.after_execution), None)
    if after is not None:
        return await _fail_after_execution(request, after, route, weight, resp)
    return resp


async def _fail_after_execution(
    request: web.Request,
    fault: Fault,
    route: str,
    weight: int,
    resp: web.StreamResponse,
) -> web.StreamResponse:
    """The handler has run (the order exists): fail the answer as `fault` says."""
    ex: Exchange = request.app[EX]
    ex.faults.apply(fault, route)
    if fault.mode == "late":
        await asyncio.sleep(fault.latency_ms / 1000)
        return resp
    if fault.mode == "lost":
        if request.transport is not None:
            request.transport.close()
        raise web.HTTPBadRequest()  # never delivered: the transport is gone
    return web.json_response(
        errors.execution_unknown(fault.code).body(),
        status=fault.status,
        headers={"X-MBX-USED-WEIGHT-1M": str(weight)},
    )


# --- control API ----------------------------------------------------------------------------
async def _json(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise web.HTTPBadRequest(text=f"invalid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="JSON object expected")
    return body


async def control_faults_post(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    try:
        fault = ex.faults.set(await _json(request), ex.now())
    except (ValueError, TypeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"fault": fault.as_dict()})


async def control_faults_delete(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    ex.faults.clear(request.query.get("mode"))
    ex.limiter.banned_until.clear()
    ex.limiter.used.clear()
    ex.limiter.rejected.clear()
    ex.limiter.orders.clear()
    return web.json_response({"faults": []})


async def control_limits_post(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    body = await _json(request)
    names = ("limit", "ban_after", "ban_s", "orders_10s", "orders_1m")
    for name in names:
        if name in body:
            setattr(ex.limiter, name, int(body[name]))
    return web.json_response({name: getattr(ex.limiter, name) for name in names})


async def control_price_post(request: web.Request) -> web.Response:
    """Pin the last and/or mark price of a symbol ({"symbol", "price" | "last" | "mark"})."""
    ex: Exchange = request.app[EX]
    body = await _json(request)
    sym = str(body.get("symbol", ""))
    if sym not in ex.replay.data.symbols:
        return web.json_response({"error": "unknown symbol"}, status=400)
    ov: dict[str, float] = {}
    if "price" in body:
        ov["last"] = ov["mark"] = float(body["price"])
    for k in ("last", "mark"):
        if k in body:
            ov[k] = float(body[k])
    if not ov or any(v <= 0 for v in ov.values()):
        return web.json_response({"error": "give a positive price, last or mark"}, status=400)
    ex.engine.tick()  # settle the path up to now before the price jumps
    ex.replay.overrides[sym] = ov
    ex.engine.tick()
    ex.state.save()
    return web.json_response({"symbol": sym, "override": ov})


async def control_price_delete(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    sym = request.query.get("symbol")
    if sym:
        ex.replay.overrides.pop(sym, None)
    else:
        ex.replay.overrides.clear()
    ex.engine.tick()
    ex.state.save()
    return web.json_response({"overrides": ex.replay.overrides})


async def control_state_get(request: web.Request) -> web.Response:
    ex: Exchange = request.app[EX]
    ex.engine.tick()
    now = ex.now()
    c = ex.replay.clock
    return web.json_response(
        {
            "now": now,
            "recorded_now": c.recorded(now),
            "anchor": ex.state.doc.get("anchor"),
            "faults": [f.as_dict() for f in ex.faults.match("", now)],
            "limits": {
                "limit": ex.limiter.limit,
                "ban_after": ex.limiter.ban_after,
                "ban_s": ex.limiter.ban_s,
                "orders_10s": ex.limiter.orders_10s,
                "orders_1m": ex.limiter.orders_1m,
                "used": dict(ex.limiter.used),
                "banned_until": ex.limiter.banned_until,
            },
            "overrides": ex.replay.overrides,
            "requests": ex.request_counts,
            "faulted": ex.faults.applied,  # mode -> route -> requests a fault acted on
            "prices": {
                s: {"last": ex.replay.last_price(s, now), "mark": ex.replay.mark_price(s, now)}
                for s in ex.replay.data.symbols
            },
            "accounts": ex.engine.snapshot(),
        }
    )


async def control_account_post(request: web.Request) -> web.Response:
    """Set the USDT wallet balance of an API key ({"apiKey", "balance"})."""
    ex: Exchange = request.app[EX]
    body = await _json(request)
    key = str(body.get("apiKey", ""))
    if key not in ex.keys:
        return web.json_response({"error": "unknown apiKey"}, status=400)
    acct = ex.engine.account(key)
    acct["wallet"] = float(body.get("balance", acct["wallet"]))
    ex.engine.persist()
    return web.json_response({"apiKey": key, "wallet": acct["wallet"]})


async def control_funding_post(request: web.Request) -> web.Response:
    """Settle the upcoming funding event of a symbol now, with its recorded rate (test hook:
    the real settlement at 00/08/16 UTC is then skipped, so nothing is charged twice)."""
    ex: Exchange = request.app[EX]
    body = await _json(request)
    sym = str(body.get("symbol", ""))
    if sym not in ex.replay.data.symbols:
        return web.json_response({"error": "unknown symbol"}, status=400)
    ex.engine.tick()
    event_time, rate = ex.replay.next_funding(sym, ex.now())
    if "rate" in body:
        rate = float(body["rate"])
    paid = ex.engine.settle_funding_early(sym, event_time, rate)
    return web.json_response(
        {"symbol": sym, "fundingTime": event_time, "rate": rate, "accounts": paid}
    )


def control_routes() -> list[web.RouteDef]:
    return [
        web.post("/_control/faults", control_faults_post),
        web.delete("/_control/faults", control_faults_delete),
        web.post("/_control/limits", control_limits_post),
        web.post("/_control/price", control_price_post),
        web.delete("/_control/price", control_price_delete),
        web.get("/_control/state", control_state_get),
        web.post("/_control/account", control_account_post),
        web.post("/_control/funding", control_funding_post),
    ]


async def _ticker(app: web.Application) -> AsyncIterator[None]:
    """Advance the matching engine once a second so orders, funding and liquidations happen
    even when no client is asking."""
    ex: Exchange = app[EX]

    async def loop() -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                ex.engine.tick()
            except Exception:  # keep ticking; the error is in the log
                log.exception("engine tick failed")

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    ex.engine.persist(force=True)


def make_app(ex: Exchange) -> web.Application:
    app = web.Application(middlewares=[binance_middleware])
    app[EX] = ex
    app.add_routes(public.routes())
    app.add_routes(private.routes())
    app.add_routes(control_routes())
    app.cleanup_ctx.append(_ticker)
    return app
