"""Static contract specifications of the replayed symbols.

Filter values follow Binance's public /fapi/v1/exchangeInfo for these perpetuals (2024-2025);
Binance changes price bounds now and then, tick/step sizes and min notionals rarely.
Leverage brackets are Binance's tables as bundled with freqtrade (binance_leverage_tiers.json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from futures_lib.margin import Bracket


@dataclass(frozen=True)
class SymbolSpec:
    symbol: str
    base: str
    price_precision: int
    quantity_precision: int
    tick_size: str
    min_price: str
    max_price: str
    step_size: str
    min_qty: str
    max_qty: str
    market_max_qty: str
    min_notional: str
    onboard_ms: int
    subtype: str

    @property
    def tick(self) -> Decimal:
        return Decimal(self.tick_size)

    @property
    def step(self) -> Decimal:
        return Decimal(self.step_size)


SPECS: dict[str, SymbolSpec] = {
    s.symbol: s
    for s in (
        SymbolSpec(
            "BTCUSDT",
            "BTC",
            2,
            3,
            "0.10",
            "261.10",
            "809484",
            "0.001",
            "0.001",
            "1000",
            "120",
            "100",
            1569398400000,
            "PoW",
        ),
        SymbolSpec(
            "ETHUSDT",
            "ETH",
            2,
            3,
            "0.01",
            "39.86",
            "306177",
            "0.001",
            "0.001",
            "10000",
            "2000",
            "20",
            1569398400000,
            "Layer-1",
        ),
        SymbolSpec(
            "SOLUSDT",
            "SOL",
            4,
            0,
            "0.0100",
            "0.4200",
            "6857",
            "1",
            "1",
            "1000000",
            "5000",
            "5",
            1600000000000,
            "Layer-1",
        ),
        SymbolSpec(
            "BNBUSDT",
            "BNB",
            3,
            2,
            "0.010",
            "6.600",
            "100000",
            "0.01",
            "0.01",
            "100000",
            "2000",
            "5",
            1581321600000,
            "CEX",
        ),
        SymbolSpec(
            "ADAUSDT",
            "ADA",
            5,
            0,
            "0.00010",
            "0.01740",
            "2000",
            "1",
            "1",
            "10000000",
            "3000000",
            "5",
            1580256000000,
            "Layer-1",
        ),
    )
}

ORDER_TYPES = [
    "LIMIT",
    "MARKET",
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
]

OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")  # an order still resting on the book
MAX_NUM_ORDERS = 200  # open orders per symbol (MAX_NUM_ORDERS filter)
MAX_NUM_ALGO_ORDERS = 10  # open conditional (algo) orders per symbol
PERCENT_PRICE_UP = "1.0500"  # limit price at most mark price * multiplierUp
PERCENT_PRICE_DOWN = "0.9500"  # and at least mark price * multiplierDown

RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
]


def pair_to_symbol(pair: str) -> str:
    """'BTC/USDT:USDT' or 'BTC_USDT_USDT' -> 'BTCUSDT'."""
    base = pair.replace("_", "/").split("/")[0]
    return f"{base}USDT"


@cache
def brackets() -> dict[str, list[dict[str, Any]]]:
    text = resources.files("replay_exchange").joinpath("data/brackets.json").read_text()
    table: dict[str, list[dict[str, Any]]] = json.loads(text)
    return table


@cache
def margin_brackets() -> dict[str, tuple[Bracket, ...]]:
    """The same tables as margin math takes them (futures_lib.margin)."""
    return {s: tuple(Bracket.from_binance(b) for b in table) for s, table in brackets().items()}


def symbol_info(spec: SymbolSpec) -> dict[str, Any]:
    return {
        "symbol": spec.symbol,
        "pair": spec.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": spec.onboard_ms,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": spec.base,
        "quoteAsset": "USDT",
        "marginAsset": "USDT",
        "pricePrecision": spec.price_precision,
        "quantityPrecision": spec.quantity_precision,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [spec.subtype],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": spec.min_price,
                "maxPrice": spec.max_price,
                "tickSize": spec.tick_size,
            },
            {
                "filterType": "LOT_SIZE",
                "stepSize": spec.step_size,
                "minQty": spec.min_qty,
                "maxQty": spec.max_qty,
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "stepSize": spec.step_size,
                "minQty": spec.min_qty,
                "maxQty": spec.market_max_qty,
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": MAX_NUM_ORDERS},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": MAX_NUM_ALGO_ORDERS},
            {"filterType": "MIN_NOTIONAL", "notional": spec.min_notional},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": PERCENT_PRICE_UP,
                "multiplierDown": PERCENT_PRICE_DOWN,
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": ORDER_TYPES,
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "permissionSets": ["GRID", "COPY"],
    }


def exchange_info(server_time_ms: int) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": RATE_LIMITS,
        "exchangeFilters": [],
        "assets": [
            {"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"},
            {"asset": "BNB", "marginAvailable": True, "autoAssetExchange": "-0.00100000"},
        ],
        "symbols": [symbol_info(s) for s in SPECS.values()],
    }
