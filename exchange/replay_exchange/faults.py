"""Run-time fault injection and Binance-like request-weight accounting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import EXECUTION_UNKNOWN

MODES = (
    "429",
    "418",
    "5xx",
    "latency",
    "drop",
    "clock",
    "maintenance",
    "unknown",
    "late",
    "lost",
)
# Faults that let the request execute (an order is placed, cancelled...) and then fail its
# answer, as Binance does when its backend times out: "unknown" answers 503 with -1006/-1007
# (execution status unknown), "late" answers after latency_ms (past the client's timeout),
# "lost" drops the connection without an answer.
AFTER_EXECUTION = ("unknown", "late", "lost")

# Request weights of the endpoints that cost more than 1 (Binance's published values).
WEIGHTS: dict[str, int] = {
    "/fapi/v1/exchangeInfo": 1,
    "/fapi/v1/ticker/24hr": 1,
    "/fapi/v1/allOrders": 5,
    "/fapi/v1/userTrades": 5,
    "/fapi/v2/account": 5,
    "/fapi/v3/account": 5,
    "/fapi/v2/balance": 5,
    "/fapi/v3/balance": 5,
    "/fapi/v2/positionRisk": 5,
    "/fapi/v3/positionRisk": 5,
    "/fapi/v1/income": 30,
    "/fapi/v1/commissionRate": 20,
    "/fapi/v1/positionSide/dual": 30,
    "/fapi/v1/multiAssetsMargin": 30,
}


def request_weight(path: str, query: dict[str, str]) -> int:
    if path in (
        "/fapi/v1/klines",
        "/fapi/v1/markPriceKlines",
        "/fapi/v1/indexPriceKlines",
        "/fapi/v1/premiumIndexKlines",
        "/fapi/v1/continuousKlines",
    ):
        limit = int(query.get("limit", "500") or 500)
        return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10
    if path == "/fapi/v1/depth":
        limit = int(query.get("limit", "500") or 500)
        return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
    if path in (
        "/fapi/v1/ticker/24hr",
        "/fapi/v1/ticker/price",
        "/fapi/v2/ticker/price",
        "/fapi/v1/ticker/bookTicker",
    ):
        return 1 if "symbol" in query else (40 if path.endswith("24hr") else 2)
    if path == "/fapi/v1/openOrders":
        return 1 if "symbol" in query else 40
    return WEIGHTS.get(path, 1)


@dataclass
class Fault:
    mode: str
    until_ms: int
    status: int = 503
    latency_ms: int = 0
    count: int | None = None  # responses left; None = until expiry
    path: str = ""  # only requests whose path starts with this
    retry_after_s: int = 30
    code: int = -1007  # "unknown": -1006 or -1007

    @property
    def after_execution(self) -> bool:
        return self.mode in AFTER_EXECUTION

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Limiter:
    """Per-IP used weight in the current minute, 429 past the limit, 418 for clients that
    keep hammering while limited (Binance's escalation)."""

    limit: int = 2400
    ban_after: int = 5  # requests answered 429 within one minute before the ban
    ban_s: int = 120
    used: dict[str, tuple[int, int]] = field(default_factory=dict)  # ip -> (minute, weight)
    rejected: dict[str, tuple[int, int]] = field(default_factory=dict)  # ip -> (minute, count)
    banned_until: dict[str, int] = field(default_factory=dict)
    orders: dict[str, tuple[int, int]] = field(default_factory=dict)  # "key/span" -> (window, n)
    orders_10s: int = 300  # exchangeInfo rateLimits ORDERS (markets.RATE_LIMITS), per account
    orders_1m: int = 1200

    def add(self, ip: str, now_ms: int, weight: int) -> int:
        minute = now_ms // 60_000
        m, w = self.used.get(ip, (minute, 0))
        w = (w if m == minute else 0) + weight
        self.used[ip] = (minute, w)
        return w

    def order_limit_hit(self, who: str, now_ms: int) -> tuple[int, str, int] | None:
        """(limit, interval, Retry-After s) if one more order would exceed an ORDERS limit."""
        for span, limit, per in (
            (10_000, self.orders_10s, "10 SECOND"),
            (60_000, self.orders_1m, "MINUTE"),
        ):
            w, n = self.orders.get(f"{who}/{span}", (-1, 0))
            if w == now_ms // span and n >= limit:
                return limit, per, -(-((w + 1) * span - now_ms) // 1000)
        return None

    def add_order(self, who: str, now_ms: int) -> tuple[int, int]:
        """Count an order; (orders in this 10 s window, orders in this minute)."""
        counts = []
        for span in (10_000, 60_000):
            key = f"{who}/{span}"
            w, n = self.orders.get(key, (now_ms // span, 0))
            n = (n if w == now_ms // span else 0) + 1
            self.orders[key] = (now_ms // span, n)
            counts.append(n)
        return counts[0], counts[1]

    def current(self, ip: str, now_ms: int) -> int:
        m, w = self.used.get(ip, (0, 0))
        return w if m == now_ms // 60_000 else 0

    def note_reject(self, ip: str, now_ms: int) -> bool:
        """Count a 429; True when this client should now be banned."""
        minute = now_ms // 60_000
        m, n = self.rejected.get(ip, (minute, 0))
        n = (n if m == minute else 0) + 1
        self.rejected[ip] = (minute, n)
        if n >= self.ban_after:
            self.banned_until[ip] = now_ms + self.ban_s * 1000
            return True
        return False


class Faults:
    def __init__(self) -> None:
        self.active: dict[str, Fault] = {}
        # mode -> route ("METHOD /path", the request counter's keys) -> requests the fault
        # acted on. Never reset, like the request counter: a test reads its growth over a
        # window, which proves a fault was met, not merely that requests arrived.
        self.applied: dict[str, dict[str, int]] = {}

    def set(self, spec: dict[str, Any], now_ms: int) -> Fault:
        mode = str(spec.get("mode", ""))
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        duration = float(spec.get("duration_s", 60))
        code = int(spec.get("code", -1007))
        if code not in EXECUTION_UNKNOWN:
            raise ValueError(f"code must be one of {sorted(EXECUTION_UNKNOWN)}")
        fault = Fault(
            mode=mode,
            until_ms=now_ms + int(duration * 1000),
            status=int(spec.get("status", 503 if mode != "5xx" else 500)),
            latency_ms=int(spec.get("latency_ms", 0)),
            count=int(spec["count"]) if spec.get("count") is not None else None,
            path=str(spec.get("path", "")),
            retry_after_s=int(spec.get("retry_after_s", 30)),
            code=code,
        )
        self.active[mode] = fault
        return fault

    def clear(self, mode: str | None = None) -> None:
        if mode is None:
            self.active.clear()
        else:
            self.active.pop(mode, None)

    def match(self, path: str, now_ms: int) -> list[Fault]:
        out = []
        for mode, f in list(self.active.items()):
            if f.until_ms <= now_ms or (f.count is not None and f.count <= 0):
                del self.active[mode]
                continue
            if path.startswith(f.path):
                out.append(f)
        return out

    def consume(self, fault: Fault) -> None:
        if fault.count is not None:
            fault.count -= 1

    def apply(self, fault: Fault, route: str) -> None:
        """The fault acts on one request of `route`: spend one of its responses, count it."""
        self.consume(fault)
        routes = self.applied.setdefault(fault.mode, {})
        routes[route] = routes.get(route, 0) + 1
