"""Matching engine: accounts, orders, algo (conditional) orders, positions, funding, liquidation.

All state lives in the state file's JSON document (doc["accounts"][account_id(apiKey)]: a
digest, so the state file holds no key); the math is in
margin.py. `tick()` advances the engine from the last processed time to now along the
replayed price path, in segments split at funding times so events happen in order.
"""

from __future__ import annotations

import hashlib
import re
import time
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Protocol

from futures_lib import margin as fm

from . import errors
from . import margin as m
from .book import book
from .markets import (
    MAX_NUM_ALGO_ORDERS,
    MAX_NUM_ORDERS,
    OPEN_STATUSES,
    PERCENT_PRICE_DOWN,
    PERCENT_PRICE_UP,
    SPECS,
    brackets,
    margin_brackets,
)
from .replay import Replay
from .state import StateFile

DEFAULT_WALLET = 10_000.0
DEFAULT_LEVERAGE = 20
MAX_CLOSED_KEPT = 1000  # closed orders/trades/income kept per account (oldest dropped)
CLIENT_ORDER_ID = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")
CONDITIONAL = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET")


def _f(x: float, d: int = 8) -> str:
    return f"{x:.{d}f}"


class Host(Protocol):
    """What the engine needs of the exchange that owns it (core.Exchange): the clock, the
    replayed market and the state file."""

    replay: Replay
    state: StateFile

    def now(self) -> int: ...


ACCOUNT_ID_PREFIX = "sha256:"


def key_digest(api_key: str) -> str:
    """What the exchange shows or stores in place of an API key (sha256, hex)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def account_id(api_key: str) -> str:
    """The account's name in the state file: a digest of its API key, not the key."""
    return ACCOUNT_ID_PREFIX + key_digest(api_key)[:32]


class Engine:
    def __init__(self, ex: Host) -> None:
        self.ex = ex
        doc = ex.state.doc
        self.accounts: dict[str, dict[str, Any]] = doc.setdefault("accounts", {})
        doc.setdefault("seq", 1_000_000)
        doc.setdefault("last_tick", ex.now())
        self._dirty = False
        self._last_save = 0.0
        # A state file written before accounts were digests: rename, keeping the accounts.
        old = [n for n in self.accounts if not n.startswith(ACCOUNT_ID_PREFIX)]
        for name in old:
            acct, new = self.accounts.pop(name), account_id(name)
            # Both names present (a downgrade, then an upgrade): the newer account stays.
            if new not in self.accounts or acct["update_time"] > self.accounts[new]["update_time"]:
                self.accounts[new] = acct
        if old:
            self.persist(force=True)

    # --- persistence -----------------------------------------------------------------------
    def persist(self, force: bool = False) -> None:
        """Write the state file at most once a second unless forced; the background ticker
        flushes what is left, so a crash loses at most about a second of activity."""
        self._dirty = True
        now = time.monotonic()
        if force or now - self._last_save > 1.0:
            self.ex.state.save()
            self._dirty = False
            self._last_save = now

    def next_id(self) -> int:
        self.ex.state.doc["seq"] += 1
        return int(self.ex.state.doc["seq"])

    # --- accounts --------------------------------------------------------------------------
    def account(self, key: str) -> dict[str, Any]:
        name = account_id(key)
        acct = self.accounts.get(name)
        if acct is None:
            acct = {
                "wallet": DEFAULT_WALLET,
                "settings": {},
                "positions": {},
                "orders": {},
                "algo": {},
                "trades": [],
                "income": [],
                "dual": False,
                "multi_assets": False,
                "update_time": self.ex.now(),
            }
            self.accounts[name] = acct
        return acct

    def settings(self, acct: dict[str, Any], sym: str) -> dict[str, Any]:
        settings: dict[str, dict[str, Any]] = acct["settings"]
        return settings.setdefault(sym, {"leverage": DEFAULT_LEVERAGE, "margin": "cross"})

    def position(self, acct: dict[str, Any], sym: str) -> dict[str, Any]:
        positions: dict[str, dict[str, Any]] = acct["positions"]
        return positions.setdefault(
            sym, {"amt": 0.0, "entry": 0.0, "iso_wallet": 0.0, "update_time": 0}
        )

    def snapshot(self) -> dict[str, Any]:
        now = self.ex.now()
        out = {}
        for name, acct in self.accounts.items():
            out[name] = {
                "wallet": acct["wallet"],
                "positions": {
                    s: self.position_view(acct, s, now)
                    for s, p in acct["positions"].items()
                    if p["amt"]
                },
                "open_orders": [o for o in acct["orders"].values() if o["status"] in OPEN_STATUSES],
                "open_algo_orders": [a for a in acct["algo"].values() if a["algoStatus"] == "NEW"],
                "income_count": len(acct["income"]),
            }
        return out

    # --- valuation -------------------------------------------------------------------------
    def mark(self, sym: str, now: int) -> float:
        return self.ex.replay.mark_price(sym, now)

    def cross_totals(
        self, acct: dict[str, Any], now: int, skip: str | None = None
    ) -> tuple[float, float, float]:
        """(maintenance margin, unrealized PnL, initial margin) of cross positions."""
        mm = upnl = im = 0.0
        for sym, p in acct["positions"].items():
            if not p["amt"] or sym == skip or self.settings(acct, sym)["margin"] != "cross":
                continue
            mk = self.mark(sym, now)
            mm += fm.maintenance_margin(margin_brackets()[sym], p["amt"] * mk)
            upnl += m.unrealized_pnl(p["amt"], p["entry"], mk)
            im += m.initial_margin(p["amt"], mk, self.settings(acct, sym)["leverage"])
        return mm, upnl, im

    def isolated_total(self, acct: dict[str, Any]) -> float:
        total: float = sum(
            p["iso_wallet"]
            for s, p in acct["positions"].items()
            if p["amt"] and self.settings(acct, s)["margin"] == "isolated"
        )
        return total

    def open_order_margin(self, acct: dict[str, Any]) -> float:
        total = 0.0
        for o in acct["orders"].values():
            if o["status"] in OPEN_STATUSES and not o["reduceOnly"]:  # closing ones need none
                lev = self.settings(acct, o["symbol"])["leverage"]
                left = float(o["origQty"]) - float(o["executedQty"])
                total += left * float(o["price"]) / lev
        return total

    def available(self, acct: dict[str, Any], now: int) -> float:
        _, upnl, im = self.cross_totals(acct, now)
        wallet: float = acct["wallet"]
        cross_wallet = wallet - self.isolated_total(acct)
        return cross_wallet + min(upnl, 0.0) - im - self.open_order_margin(acct)

    def liq_price(self, acct: dict[str, Any], sym: str, now: int) -> float:
        p = self.position(acct, sym)
        if not p["amt"]:
            return 0.0
        if self.settings(acct, sym)["margin"] == "isolated":
            return fm.liquidation_price(
                p["amt"], p["entry"], p["iso_wallet"], margin_brackets()[sym]
            )
        mm, upnl, _ = self.cross_totals(acct, now, skip=sym)
        cross_wallet = acct["wallet"] - self.isolated_total(acct)
        return fm.liquidation_price(
            p["amt"], p["entry"], cross_wallet, margin_brackets()[sym], mm, upnl
        )

    def position_view(self, acct: dict[str, Any], sym: str, now: int) -> dict[str, Any]:
        p = self.position(acct, sym)
        st = self.settings(acct, sym)
        mk = self.mark(sym, now)
        notional = p["amt"] * mk
        upnl = m.unrealized_pnl(p["amt"], p["entry"], mk)
        iso = st["margin"] == "isolated"
        im = m.initial_margin(p["amt"], mk, st["leverage"])
        mm = fm.maintenance_margin(margin_brackets()[sym], notional) if p["amt"] else 0.0
        be = p["entry"] * (1 + m.TAKER_FEE * (1 if p["amt"] > 0 else -1)) if p["amt"] else 0.0
        return {
            "symbol": sym,
            "positionSide": "BOTH",
            "positionAmt": str(Decimal(repr(p["amt"])).quantize(SPECS[sym].step)),
            "entryPrice": _f(p["entry"]),
            "breakEvenPrice": _f(be),
            "markPrice": _f(mk),
            "unRealizedProfit": _f(upnl),
            "liquidationPrice": _f(self.liq_price(acct, sym, now)),
            "isolatedMargin": _f(p["iso_wallet"] + upnl if iso and p["amt"] else 0.0),
            "notional": _f(notional),
            "marginAsset": "USDT",
            "isolatedWallet": _f(p["iso_wallet"] if iso else 0.0),
            "initialMargin": _f(im),
            "maintMargin": _f(mm),
            "positionInitialMargin": _f(im),
            "openOrderInitialMargin": "0",
            "adl": 1 if p["amt"] else 0,
            "bidNotional": "0",
            "askNotional": "0",
            "updateTime": p["update_time"],
            # shown by positionRisk v2 only (private.py picks each answer's fields)
            "leverage": str(st["leverage"]),
            "maxNotionalValue": str(brackets()[sym][0]["notionalCap"]),
            "marginType": "isolated" if iso else "cross",
            "isAutoAddMargin": "false",
            "isolated": iso,
            "adlQuantile": 1,
        }

    # --- ledger ----------------------------------------------------------------------------
    def add_income(
        self,
        acct: dict[str, Any],
        sym: str,
        kind: str,
        amount: float,
        now: int,
        info: str = "",
        trade_id: str = "",
    ) -> None:
        acct["income"].append(
            {
                "symbol": sym,
                "incomeType": kind,
                "income": _f(amount),
                "asset": "USDT",
                "info": info or kind,
                "time": now,
                "tranId": self.next_id(),
                "tradeId": trade_id,
            }
        )
        del acct["income"][:-MAX_CLOSED_KEPT]

    # --- fills -----------------------------------------------------------------------------
    def fill(
        self,
        acct: dict[str, Any],
        order: dict[str, Any],
        qty: float,
        price: float,
        maker: bool,
        now: int,
    ) -> None:
        """Apply a fill of `qty` (positive) at `price` to the order, position and wallet."""
        sym = order["symbol"]
        spec = SPECS[sym]
        st = self.settings(acct, sym)
        p = self.position(acct, sym)
        signed = qty if order["side"] == "BUY" else -qty
        fee = qty * price * (m.MAKER_FEE if maker else m.TAKER_FEE)
        realized = 0.0
        amt = p["amt"]
        if amt == 0 or (amt > 0) == (signed > 0):
            p["entry"] = m.open_average(amt, p["entry"], signed, price)
            if st["margin"] == "isolated":
                p["iso_wallet"] += qty * price / st["leverage"]
            p["amt"] = amt + signed
        else:
            close = min(abs(signed), abs(amt))
            realized = close * (price - p["entry"]) * (1 if amt > 0 else -1)
            remaining = abs(amt) - close
            if st["margin"] == "isolated":
                p["iso_wallet"] = (
                    p["iso_wallet"] * remaining / abs(amt) if remaining > 1e-12 else 0.0
                )
            p["amt"] = amt + (signed if abs(signed) <= abs(amt) else -amt)
            flip = abs(signed) - close
            if abs(p["amt"]) < 1e-12:
                p["amt"], p["entry"] = 0.0, 0.0
            if flip > 1e-12:  # the order turns the position around
                p["amt"] = flip if signed > 0 else -flip
                p["entry"] = price
                if st["margin"] == "isolated":
                    p["iso_wallet"] = flip * price / st["leverage"]
        p["amt"] = float(Decimal(repr(p["amt"])).quantize(spec.step))
        p["update_time"] = now
        acct["wallet"] += realized - fee
        acct["update_time"] = now
        trade_id = self.next_id()
        if realized:
            self.add_income(acct, sym, "REALIZED_PNL", realized, now, trade_id=str(trade_id))
        self.add_income(acct, sym, "COMMISSION", -fee, now, trade_id=str(trade_id))
        executed = float(order["executedQty"]) + qty
        cum = float(order["cumQuote"]) + qty * price
        order["executedQty"] = str(Decimal(repr(executed)).quantize(spec.step))
        order["cumQty"] = order["executedQty"]
        order["cumQuote"] = _f(cum)
        order["avgPrice"] = _f(cum / executed)
        order["status"] = (
            "FILLED" if executed >= float(order["origQty"]) - 1e-12 else "PARTIALLY_FILLED"
        )
        order["updateTime"] = now
        acct["trades"].append(
            {
                "symbol": sym,
                "id": trade_id,
                "orderId": order["orderId"],
                "side": order["side"],
                "price": _f(price, spec.price_precision + 2),
                "qty": str(Decimal(repr(qty)).quantize(spec.step)),
                "realizedPnl": _f(realized),
                "marginAsset": "USDT",
                "quoteQty": _f(qty * price),
                "commission": _f(fee),
                "commissionAsset": "USDT",
                "time": now,
                "positionSide": "BOTH",
                "buyer": order["side"] == "BUY",
                "maker": maker,
            }
        )
        del acct["trades"][:-MAX_CLOSED_KEPT]

    def market_price(self, sym: str, side: str, qty: float, now: int) -> float:
        bids, asks = book(self.ex.replay, sym, now, 100)
        levels = [(float(p), float(q)) for p, q in (asks if side == "BUY" else bids)]
        avg, _ = m.walk_book(levels, qty)
        return avg

    # --- order validation and placement ----------------------------------------------------
    def new_order_record(
        self, sym: str, q: dict[str, str], qty: Decimal, price: float, now: int
    ) -> dict[str, Any]:
        oid = self.next_id()
        otype = q["type"]
        return {
            "orderId": oid,
            "symbol": sym,
            "status": "NEW",
            "clientOrderId": q.get("newClientOrderId") or f"replay-{oid}",
            "price": _f(price, SPECS[sym].price_precision) if otype == "LIMIT" else "0",
            "avgPrice": "0",
            "origQty": str(qty),
            "executedQty": "0",
            "cumQty": "0",
            "cumQuote": "0",
            "timeInForce": q.get("timeInForce", "GTC"),
            "type": otype,
            "reduceOnly": q.get("reduceOnly", "false").lower() == "true",
            "closePosition": False,
            "side": q["side"],
            "positionSide": "BOTH",
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": otype,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "time": now,
            "updateTime": now,
        }

    @staticmethod
    def check_client_order_id(acct: dict[str, Any], cid: str | None) -> None:
        """Binance: newClientOrderId matches ^[.A-Z:/a-z0-9_-]{1,36}$ and is unique among
        open orders; so a client may resend an order whose answer it lost without doubling it
        while the first one still rests."""
        if cid is None:
            return
        if not CLIENT_ORDER_ID.fullmatch(cid):
            raise errors.bad_client_order_id()
        for o in acct["orders"].values():
            if o["clientOrderId"] == cid and o["status"] in OPEN_STATUSES:
                raise errors.duplicate_client_order_id()

    def check_qty(self, sym: str, raw: str | None, market: bool) -> Decimal:
        spec = SPECS[sym]
        if raw is None or raw == "":
            raise errors.mandatory("quantity")
        try:
            qty = Decimal(raw)
        except ArithmeticError as exc:
            raise errors.bad_param("quantity") from exc
        if not qty.is_finite():
            raise errors.bad_param("quantity")
        if qty <= 0:
            raise errors.BinanceError(-4003, "Quantity less than or equal to zero.")
        if not m.is_multiple(qty, spec.step) or qty < Decimal(spec.min_qty):
            raise errors.BinanceError(
                -1111, "Precision is over the maximum defined for this asset."
            )
        if qty > Decimal(spec.market_max_qty if market else spec.max_qty):
            raise errors.BinanceError(-4005, "Quantity greater than max quantity.")
        return qty

    def check_price(self, sym: str, raw: str | None, name: str = "price") -> float:
        spec = SPECS[sym]
        if raw is None or raw == "":
            raise errors.mandatory(name)
        try:
            price = Decimal(raw)
        except ArithmeticError as exc:
            raise errors.bad_param(name) from exc
        if not price.is_finite():
            raise errors.bad_param(name)
        if price <= 0:
            raise errors.BinanceError(-4001, "Price less than 0.")
        exponent = price.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > spec.price_precision:
            raise errors.bad_precision()
        if price < Decimal(spec.min_price):
            raise errors.price_below_min()
        if price > Decimal(spec.max_price):
            raise errors.price_above_max()
        if not m.is_multiple(price, spec.tick):
            raise errors.price_not_tick()
        return float(price)

    def check_percent_price(self, sym: str, price: float, now: int) -> None:
        """PERCENT_PRICE: a limit price within [mark * multiplierDown, mark * multiplierUp]."""
        tick = SPECS[sym].tick
        mark = Decimal(repr(self.mark(sym, now)))
        cap = (mark * Decimal(PERCENT_PRICE_UP) / tick).to_integral_value(ROUND_FLOOR) * tick
        floor = (mark * Decimal(PERCENT_PRICE_DOWN) / tick).to_integral_value(ROUND_CEILING) * tick
        p = Decimal(repr(price))
        if p > cap:
            raise errors.price_above_cap(str(cap))
        if p < floor:
            raise errors.price_below_floor(str(floor))

    @staticmethod
    def open_count(acct: dict[str, Any], sym: str) -> tuple[int, int]:
        """(open orders, open algo orders) of one symbol."""
        orders = sum(
            1
            for o in acct["orders"].values()
            if o["symbol"] == sym and o["status"] in OPEN_STATUSES
        )
        algos = sum(
            1 for a in acct["algo"].values() if a["symbol"] == sym and a["algoStatus"] == "NEW"
        )
        return orders, algos

    def _reduce_qty(self, acct: dict[str, Any], sym: str, side: str, qty: float) -> float:
        amt: float = self.position(acct, sym)["amt"]
        if amt == 0 or (amt > 0) == (side == "BUY"):
            raise errors.reduce_only_rejected()
        return min(qty, abs(amt))

    def _check_margin(
        self, acct: dict[str, Any], sym: str, side: str, qty: float, price: float, now: int
    ) -> None:
        st = self.settings(acct, sym)
        amt = self.position(acct, sym)["amt"]
        signed = qty if side == "BUY" else -qty
        opening = abs(amt + signed) - abs(amt)
        if opening <= 0:
            return
        new_notional = abs(amt + signed) * price
        if st["leverage"] > fm.bracket_for(margin_brackets()[sym], new_notional).max_leverage:
            raise errors.BinanceError(
                -2027, "Exceeded the maximum allowable position at current leverage."
            )
        need = opening * price / st["leverage"] + opening * price * m.TAKER_FEE
        if need > self.available(acct, now) + 1e-9:
            raise errors.insufficient_margin()

    def place_order(self, key: str, sym: str, q: dict[str, str]) -> dict[str, Any]:
        now = self.ex.now()
        self.tick()
        acct = self.account(key)
        side = q.get("side", "")
        if side not in ("BUY", "SELL"):
            raise errors.BinanceError(-1117, "Invalid side.") if side else errors.mandatory("side")
        otype = q.get("type", "")
        if not otype:
            raise errors.mandatory("type")
        if otype in CONDITIONAL or otype == "TRAILING_STOP_MARKET":
            raise errors.BinanceError(
                -4120,
                "Order type not supported for this endpoint. "
                "Please use the Algo Order API endpoints instead.",
            )
        if otype not in ("LIMIT", "MARKET"):
            raise errors.BinanceError(-1116, "Invalid orderType.")
        if q.get("positionSide", "BOTH") != "BOTH":
            raise errors.BinanceError(-4061, "Order's position side does not match user's setting.")
        qty_d = self.check_qty(sym, q.get("quantity"), otype == "MARKET")
        reduce_only = q.get("reduceOnly", "false").lower() == "true"
        qty = float(qty_d)
        if otype == "LIMIT":
            if not q.get("timeInForce"):
                raise errors.mandatory("timeInForce")
            price = self.check_price(sym, q.get("price"))
            self.check_percent_price(sym, price, now)
            ref = price
        else:
            price = 0.0
            ref = self.ex.replay.last_price(sym, now)
        if self.open_count(acct, sym)[0] >= MAX_NUM_ORDERS:
            raise errors.max_open_orders()
        self.check_client_order_id(acct, q.get("newClientOrderId"))
        if reduce_only:
            qty = self._reduce_qty(acct, sym, side, qty)
            qty_d = Decimal(repr(qty)).quantize(SPECS[sym].step)
        elif qty * ref < float(SPECS[sym].min_notional):
            raise errors.min_notional(SPECS[sym].min_notional)
        self._check_margin(acct, sym, side, qty, ref, now)
        order = self.new_order_record(sym, q, qty_d, price, now)
        acct["orders"][str(order["orderId"])] = order
        if otype == "MARKET":
            self.fill(acct, order, qty, self.market_price(sym, side, qty, now), False, now)
        else:
            bids, asks = book(self.ex.replay, sym, now, 1)
            best = float(asks[0][0]) if side == "BUY" else float(bids[0][0])
            marketable = price >= best if side == "BUY" else price <= best
            tif = order["timeInForce"]
            if marketable and tif == "GTX":
                order["status"] = "EXPIRED"  # post-only would take liquidity
            elif marketable:
                # takes the book like a market order, never beyond its own limit price
                avg = self.market_price(sym, side, qty, now)
                fill_px = min(price, avg) if side == "BUY" else max(price, avg)
                self.fill(acct, order, qty, fill_px, False, now)
            elif tif in ("IOC", "FOK"):
                order["status"] = "EXPIRED"
        self._trim_orders(acct)
        self.persist()
        return order

    def _trim_orders(self, acct: dict[str, Any]) -> None:
        orders = acct["orders"]
        if len(orders) > MAX_CLOSED_KEPT:
            closed = [k for k, o in orders.items() if o["status"] not in OPEN_STATUSES]
            for k in closed[: len(orders) - MAX_CLOSED_KEPT]:
                del orders[k]

    def place_algo(self, key: str, sym: str, q: dict[str, str]) -> dict[str, Any]:
        now = self.ex.now()
        self.tick()
        acct = self.account(key)
        if q.get("algoType") != "CONDITIONAL":
            raise (
                errors.mandatory("algoType")
                if not q.get("algoType")
                else errors.bad_param("algoType")
            )
        side = q.get("side", "")
        if side not in ("BUY", "SELL"):
            raise errors.BinanceError(-1117, "Invalid side.")
        otype = q.get("type", "")
        if otype not in CONDITIONAL:
            raise errors.BinanceError(-1116, "Invalid orderType.")
        trigger = self.check_price(sym, q.get("triggerPrice"), "triggerPrice")
        working = q.get("workingType", "CONTRACT_PRICE")
        if working not in ("CONTRACT_PRICE", "MARK_PRICE"):
            raise errors.bad_param("workingType")
        close_pos = q.get("closePosition", "false").lower() == "true"
        reduce_only = q.get("reduceOnly", "false").lower() == "true"
        qty = "0" if close_pos else str(self.check_qty(sym, q.get("quantity"), True))
        price = "0"
        if otype in ("STOP", "TAKE_PROFIT"):
            price = _f(self.check_price(sym, q.get("price")), SPECS[sym].price_precision)
        current = (
            self.ex.replay.mark_price(sym, now)
            if working == "MARK_PRICE"
            else self.ex.replay.last_price(sym, now)
        )
        if m.stop_triggered(otype, side, trigger, current, current):
            raise errors.BinanceError(-2021, "Order would immediately trigger.")
        if not (close_pos or reduce_only) and float(qty) * trigger < float(SPECS[sym].min_notional):
            raise errors.min_notional(SPECS[sym].min_notional)
        if self.open_count(acct, sym)[1] >= MAX_NUM_ALGO_ORDERS:
            raise errors.max_stop_orders()
        algo_id = self.next_id()
        algo = {
            "algoId": algo_id,
            "clientAlgoId": q.get("clientAlgoId") or f"replay-algo-{algo_id}",
            "algoType": "CONDITIONAL",
            "orderType": otype,
            "symbol": sym,
            "side": side,
            "positionSide": "BOTH",
            "timeInForce": q.get("timeInForce", "GTC"),
            "quantity": qty,
            "algoStatus": "NEW",
            "actualOrderId": "",
            "actualPrice": "0",
            "triggerPrice": _f(trigger, SPECS[sym].price_precision),
            "price": price,
            "icebergQuantity": None,
            "tpTriggerPrice": "0",
            "tpPrice": "0",
            "slTriggerPrice": "0",
            "slPrice": "0",
            "tpOrderType": "",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "workingType": working,
            "priceMatch": "NONE",
            "closePosition": close_pos,
            "priceProtect": q.get("priceProtect", "false").lower() == "true",
            "reduceOnly": reduce_only,
            "createTime": now,
            "updateTime": now,
            "triggerTime": 0,
            "goodTillDate": 0,
        }
        acct["algo"][str(algo_id)] = algo
        self.persist()
        return algo

    def _trigger_algo(self, acct: dict[str, Any], algo: dict[str, Any], now: int) -> None:
        sym = algo["symbol"]
        p = self.position(acct, sym)
        trigger = float(algo["triggerPrice"])
        algo["triggerTime"] = now
        algo["updateTime"] = now
        if algo["closePosition"] or algo["reduceOnly"]:
            closing = p["amt"] != 0 and (p["amt"] > 0) != (algo["side"] == "BUY")
            if not closing:
                algo["algoStatus"] = "EXPIRED"
                return
            qty = (
                abs(p["amt"])
                if algo["closePosition"]
                else min(float(algo["quantity"]), abs(p["amt"]))
            )
        else:
            qty = float(algo["quantity"])
        limit = algo["orderType"] in ("STOP", "TAKE_PROFIT")
        q = {
            "type": "LIMIT" if limit else "MARKET",
            "side": algo["side"],
            "reduceOnly": "true" if (algo["reduceOnly"] or algo["closePosition"]) else "false",
            "timeInForce": algo["timeInForce"],
        }
        qty_d = Decimal(repr(qty)).quantize(SPECS[sym].step)
        order = self.new_order_record(sym, q, qty_d, float(algo["price"]), now)
        order.update(
            {
                "origType": algo["orderType"],
                "stopPrice": algo["triggerPrice"],
                "workingType": algo["workingType"],
                "closePosition": algo["closePosition"],
            }
        )
        acct["orders"][str(order["orderId"])] = order
        algo["actualOrderId"] = str(order["orderId"])
        algo["algoStatus"] = "FINISHED"
        if limit:
            return  # rests as a limit order, matched by later ticks
        # The path passed through the trigger: fill there, plus the book's slippage.
        best_bid, best_ask = (float(x[0][0]) for x in book(self.ex.replay, sym, now, 1))
        slip = self.market_price(sym, algo["side"], qty, now) - (
            best_ask if algo["side"] == "BUY" else best_bid
        )
        self.fill(acct, order, qty, trigger + slip, False, now)
        algo["actualPrice"] = order["avgPrice"]

    # --- the clock -------------------------------------------------------------------------
    def tick(self) -> None:
        doc = self.ex.state.doc
        now = self.ex.now()
        last = int(doc.get("last_tick", now))
        if now <= last:
            return
        replay = self.ex.replay
        events: dict[int, list[tuple[str, float]]] = {}
        active = self._active_symbols()
        for sym in active:
            for t, rate in replay.funding_events(sym, last + 1, now + 1):
                events.setdefault(t, []).append((sym, rate))
        bounds = sorted(events) + ([now] if now not in events else [])
        t0 = last
        for t1 in bounds:
            self._segment(t0, t1, active)
            for sym, rate in events.get(t1, []):
                self._fund(sym, rate, t1)
            t0 = t1
        doc["last_tick"] = now
        if active or events or self._dirty:
            self.persist()

    def _active_symbols(self) -> set[str]:
        syms: set[str] = set()
        for acct in self.accounts.values():
            syms.update(s for s, p in acct["positions"].items() if p["amt"])
            syms.update(
                o["symbol"] for o in acct["orders"].values() if o["status"] in OPEN_STATUSES
            )
            syms.update(a["symbol"] for a in acct["algo"].values() if a["algoStatus"] == "NEW")
        return syms

    def _segment(self, t0: int, t1: int, active: set[str]) -> None:
        replay = self.ex.replay
        for sym in active:
            last_lo, last_hi, volume = replay.traded(sym, t0, t1)
            mark_lo, mark_hi = replay.extremes(sym, "mark", t0, t1)
            for acct in self.accounts.values():
                for algo in list(acct["algo"].values()):
                    if algo["symbol"] != sym or algo["algoStatus"] != "NEW":
                        continue
                    lo, hi = (
                        (mark_lo, mark_hi)
                        if algo["workingType"] == "MARK_PRICE"
                        else (last_lo, last_hi)
                    )
                    if m.stop_triggered(
                        algo["orderType"], algo["side"], float(algo["triggerPrice"]), lo, hi
                    ):
                        self._trigger_algo(acct, algo, t1)
                for order in list(acct["orders"].values()):
                    if (
                        order["symbol"] == sym
                        and order["status"] in OPEN_STATUSES
                        and order["type"] == "LIMIT"
                    ):
                        self._fill_resting(acct, order, last_lo, last_hi, volume, t1)
                self._check_liquidation(acct, sym, mark_lo, mark_hi, t1)

    def _fill_resting(
        self,
        acct: dict[str, Any],
        order: dict[str, Any],
        lo: float,
        hi: float,
        volume: float | None,
        now: int,
    ) -> None:
        """Fill a resting limit order the price traded through over [lo, hi], in slices
        sized by the replayed volume (all at once when a test set the price: no volume)."""
        side, price = order["side"], float(order["price"])
        if not m.limit_traded_through(side, price, lo, hi):
            return
        spec = SPECS[order["symbol"]]
        left = float(order["origQty"]) - float(order["executedQty"])
        if order["reduceOnly"]:
            amt = self.position(acct, order["symbol"])["amt"]
            if amt == 0 or (amt > 0) == (side == "BUY"):
                order["status"] = "EXPIRED"
                return
            left = min(left, abs(amt))
        qty = left
        if volume is not None:
            share = Decimal(repr(m.limit_fill_qty(side, price, lo, hi, volume)))
            qty = min(left, float(share.quantize(spec.step, rounding=ROUND_FLOOR)))
        if qty > 0:
            self.fill(acct, order, qty, price, True, now)

    def _check_liquidation(
        self, acct: dict[str, Any], sym: str, lo: float, hi: float, now: int
    ) -> None:
        p = self.position(acct, sym)
        if not p["amt"]:
            return
        lp = self.liq_price(acct, sym, now)
        if lp <= 0 or not (lo <= lp if p["amt"] > 0 else hi >= lp):
            return
        st = self.settings(acct, sym)
        qty = abs(p["amt"])
        side = "SELL" if p["amt"] > 0 else "BUY"
        margin_at_risk = p["iso_wallet"] if st["margin"] == "isolated" else 0.0
        q = {
            "type": "MARKET",
            "side": side,
            "reduceOnly": "true",
            "newClientOrderId": f"autoclose-{now}",
        }
        order = self.new_order_record(
            sym, q, Decimal(repr(qty)).quantize(SPECS[sym].step), 0.0, now
        )
        acct["orders"][str(order["orderId"])] = order
        wallet_before = acct["wallet"]
        entry, amt = p["entry"], p["amt"]
        self.fill(acct, order, qty, lp, False, now)
        # Binance keeps what is left of the position's margin as the liquidation clearance fee.
        if st["margin"] == "isolated":
            lost = wallet_before - acct["wallet"]
            clearance = max(margin_at_risk - lost, 0.0)
        else:
            clearance = fm.maintenance_margin(margin_brackets()[sym], amt * lp)
        clearance = min(clearance, max(acct["wallet"], 0.0))
        if clearance > 0:
            acct["wallet"] -= clearance
            self.add_income(
                acct,
                sym,
                "INSURANCE_CLEAR",
                -clearance,
                now,
                info=f"liquidation of {amt} @ {entry}",
            )

    def settle_funding_early(self, sym: str, event_time: int, rate: float) -> int:
        """Apply the funding event at `event_time` now; the regular settlement skips it."""
        early = self.ex.state.doc.setdefault("early_funding", {})
        if early.get(sym) == event_time:
            return 0
        early[sym] = event_time
        paid = self._fund(sym, rate, self.ex.now(), force=True)
        self.persist(force=True)
        return paid

    def _fund(self, sym: str, rate: float, t: int, force: bool = False) -> int:
        if not force and self.ex.state.doc.get("early_funding", {}).get(sym) == t:
            return 0  # already settled through /_control/funding
        mark = self.ex.replay.mark_price(sym, t)
        paid = 0
        for acct in self.accounts.values():
            p = acct["positions"].get(sym)
            if not p or not p["amt"]:
                continue
            pay = m.funding_payment(p["amt"], mark, rate)
            acct["wallet"] += pay
            if self.settings(acct, sym)["margin"] == "isolated":
                p["iso_wallet"] += pay
            self.add_income(acct, sym, "FUNDING_FEE", pay, t, info=f"rate {rate:.8f} mark {mark}")
            paid += 1
        return paid
