"""The stand-in's answers against Binance's own, from two sources (golden shapes).

- golden/binance_fapi_recorded.json: raw USDⓈ-M answers recorded from Binance (ccxt's
  static test fixtures), as shapes (keys and JSON types). Compared *closed*: ours has every
  recorded key and no key the recording lacks (unless EXTRA names it, with the reason); the
  type wherever the recording keeps one (number, boolean). Recorded strings prove no type:
  some recordings store numbers as strings (orderId is a number in the batchOrders recording
  and a string in the openOrder one).
- golden/binance_fapi_documented.json: the response models of Binance's SDK generated from
  its USDⓈ-M OpenAPI document: every field, each with its declared type (integer, number,
  boolean, string). Compared *open*: ours has every documented field with that type; extra
  fields are not flagged here, since a model may lag the API (the new-order model lacks the
  avgPrice Binance's recorded answer has).

Kline rows, recorded as bare lists and modelled as untyped arrays, are compared with the row
Binance's documentation describes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rx_support import make_ccxt

GOLDEN = Path(__file__).parent / "golden"
RECORDED = json.loads((GOLDEN / "binance_fapi_recorded.json").read_text())["answers"]
DOCUMENTED = json.loads((GOLDEN / "binance_fapi_documented.json").read_text())["answers"]

# Keys ours sends that the recording lacks, with the reason each is kept.
EXTRA = {
    # In Binance's v2 account model (AccountInformationV2Response); the recording predates it.
    ("GET /fapi/v2/account", "feeBurn"),
}

# Documented fields ours may leave out, with the reason (a model lists every field any
# answer of the endpoint may carry).
ABSENT_OK = {
    # Binance's documentation: returned only with TRAILING_STOP_MARKET orders, which the
    # stand-in refuses (freqtrade places none).
    "activatePrice": "trailing stops only",
    "priceRate": "trailing stops only",
    "callbackRate": "trailing stops only",
    # Not served: what a query answers in them before the order triggers is not documented.
    "actualType": "a known gap (docs/exchange.md)",
    "actualQty": "a known gap (docs/exchange.md)",
}
# Documented fields ours answers as null: Binance's documented algo-order answers carry
# "icebergQuantity": null for an order without an iceberg part.
NULLABLE = {"icebergQuantity"}

# GET /fapi/v1/klines, a row as Binance documents it: open time, open, high, low, close,
# volume, close time, quote volume, number of trades, taker buy base volume, taker buy quote
# volume, and an ignored field.
KLINE_ROW = [
    "integer",
    *["string"] * 5,
    "integer",
    "string",
    "integer",
    "string",
    "string",
    "string",
]


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    return {str: "string", list: "list", dict: "object"}[type(value)]


def type_matches(expected: str, value: Any) -> bool:
    """An integer is a number too; a recorded "number" may be either."""
    found = json_type(value)
    return found == expected or (expected == "number" and found == "integer")


def differences(
    endpoint: str, expected: Any, ours: Any, *, closed: bool, where: str = ""
) -> list[str]:
    """What differs between an expected shape and one of our answers, as readable lines.
    closed: extra keys count, and strings prove no type (recordings); open: documented
    fields only, every type compared (models)."""
    if isinstance(expected, dict):
        if not isinstance(ours, dict):
            return [f"{where or '.'}: an object in Binance's answer, {json_type(ours)} in ours"]
        out = [
            f"{where}.{k}: missing"
            for k in expected
            if k not in ours and (closed or k not in ABSENT_OK)
        ]
        if closed:
            out += [
                f"{where}.{k}: not in Binance's answer"
                for k in ours
                if k not in expected and (endpoint, k) not in EXTRA
            ]
        for k in [k for k in expected if k in ours]:
            out += differences(endpoint, expected[k], ours[k], closed=closed, where=f"{where}.{k}")
        return out
    if isinstance(expected, list):
        if not isinstance(ours, list):
            return [f"{where or '.'}: a list in Binance's answer, {json_type(ours)} in ours"]
        if not expected:  # recorded empty: nothing to compare
            return []
        if not ours:
            return [f"{where or '.'}: empty in ours, nothing to compare (test set-up?)"]
        return [
            line
            for i, item in enumerate(ours)
            for line in differences(
                endpoint, expected[0], item, closed=closed, where=f"{where}[{i}]"
            )
        ]
    if ours is None and not closed and where.rsplit(".", 1)[-1] in NULLABLE:
        return []
    if isinstance(ours, dict | list) or not (
        (closed and expected == "string") or type_matches(expected, ours)
    ):
        return [f"{where}: {expected} in Binance's answer, {json_type(ours)} in ours"]
    return []


@pytest.fixture(scope="module")
def answers(exchange_url: str) -> Iterator[dict[str, Any]]:
    """One answer of ours per endpoint, from an account holding a BTC position (market
    entry, so a trade and income), a resting limit order, a stop (algo) order, and a
    cancelled order and stop."""
    api = make_ccxt(exchange_url)
    api.load_markets()
    sym = "BTCUSDT"
    placed = api.fapiPrivatePostOrder(
        {"symbol": sym, "side": "BUY", "type": "MARKET", "quantity": "0.002"}
    )
    mark = float(api.fapiPublicGetPremiumIndex({"symbol": sym})["markPrice"])

    def limit(factor: float) -> dict[str, Any]:
        price = f"{round(mark * factor, 1)}"
        return dict(
            api.fapiPrivatePostOrder(
                {"symbol": sym, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                 "quantity": "0.002", "price": price}
            )
        )  # fmt: skip

    def stop(factor: float) -> dict[str, Any]:
        trigger = f"{round(mark * factor, 1)}"
        return dict(
            api.fapiPrivatePostAlgoOrder(
                {"algoType": "CONDITIONAL", "symbol": sym, "side": "SELL", "type": "STOP_MARKET",
                 "triggerPrice": trigger, "closePosition": "true", "workingType": "MARK_PRICE"}
            )
        )  # fmt: skip

    resting, cancelled = limit(0.97), limit(0.96)
    stop_placed, stop_cancelled = stop(0.9), stop(0.89)
    yield {
        "POST /fapi/v1/order": placed,
        # Binance documents the batch answer's items as the new-order answer.
        "POST /fapi/v1/batchOrders": [placed, resting],
        "GET /fapi/v1/order": api.fapiPrivateGetOrder(
            {"symbol": sym, "orderId": placed["orderId"]}
        ),
        "DELETE /fapi/v1/order": api.fapiPrivateDeleteOrder(
            {"symbol": sym, "orderId": cancelled["orderId"]}
        ),
        "GET /fapi/v1/openOrder": api.fapiPrivateGetOpenOrder(
            {"symbol": sym, "orderId": resting["orderId"]}
        ),
        "GET /fapi/v1/openOrders": api.fapiPrivateGetOpenOrders({"symbol": sym}),
        "POST /fapi/v1/algoOrder": stop_placed,
        "GET /fapi/v1/algoOrder": api.fapiPrivateGetAlgoOrder({"algoId": stop_placed["algoId"]}),
        "DELETE /fapi/v1/algoOrder": api.fapiPrivateDeleteAlgoOrder(
            {"algoId": stop_cancelled["algoId"]}
        ),
        "GET /fapi/v1/openAlgoOrders": api.fapiPrivateGetOpenAlgoOrders({"symbol": sym}),
        "GET /fapi/v3/positionRisk": api.fapiPrivateV3GetPositionRisk(),
        "GET /fapi/v2/positionRisk": api.fapiPrivateV2GetPositionRisk({"symbol": sym}),
        "GET /fapi/v3/account": api.fapiPrivateV3GetAccount(),
        "GET /fapi/v2/account": api.fapiPrivateV2GetAccount(),
        "GET /fapi/v2/balance": api.fapiPrivateV2GetBalance(),
        "GET /fapi/v3/balance": api.fapiPrivateV3GetBalance(),
        "GET /fapi/v1/userTrades": api.fapiPrivateGetUserTrades({"symbol": sym}),
        "GET /fapi/v1/income": api.fapiPrivateGetIncome({"symbol": sym}),
        "GET /fapi/v1/symbolConfig": api.fapiPrivateGetSymbolConfig({"symbol": sym}),
        "GET /fapi/v1/accountConfig": api.fapiPrivateGetAccountConfig(),
        "GET /fapi/v1/leverageBracket": api.fapiPrivateGetLeverageBracket(),
        "GET /fapi/v1/premiumIndex": api.fapiPublicGetPremiumIndex({"symbol": sym}),
        "GET /fapi/v1/fundingRate": api.fapiPublicGetFundingRate({"symbol": sym, "limit": 3}),
        "GET /fapi/v1/depth": api.fapiPublicGetDepth({"symbol": sym, "limit": 5}),
        "GET /fapi/v1/klines": api.fapiPublicGetKlines(
            {"symbol": sym, "interval": "1h", "limit": 3}
        ),
    }


@pytest.mark.parametrize("endpoint", sorted(RECORDED))
def test_answer_has_binance_recorded_shape(answers: dict[str, Any], endpoint: str) -> None:
    found = differences(endpoint, RECORDED[endpoint]["shape"], answers[endpoint], closed=True)
    assert not found, f"{endpoint} differs from Binance's recorded answer: {found}"


@pytest.mark.parametrize("endpoint", sorted(DOCUMENTED))
def test_answer_has_binance_documented_fields(answers: dict[str, Any], endpoint: str) -> None:
    found = differences(endpoint, DOCUMENTED[endpoint]["shape"], answers[endpoint], closed=False)
    model = DOCUMENTED[endpoint]["model"]
    assert not found, f"{endpoint} differs from Binance's {model}: {found}"


def test_kline_rows_as_binance_documents_them(answers: dict[str, Any]) -> None:
    rows = answers["GET /fapi/v1/klines"]
    assert len(rows) == 3
    assert all([json_type(v) for v in row] == KLINE_ROW for row in rows), rows[0]


def test_the_comparison_catches_a_drift() -> None:
    """The comparison itself: a missing key, an extra key and a wrong type each show."""
    shape = {"a": "integer", "b": [{"c": "boolean", "d": "string"}]}
    assert differences("X", shape, {"a": 1, "b": [{"c": True, "d": 5}]}, closed=True) == []
    assert differences("X", shape, {"a": 1, "b": [{"c": True, "d": 5}]}, closed=False) == [
        ".b[0].d: string in Binance's answer, integer in ours"
    ]
    assert differences("X", shape, {"a": "1", "b": [{"c": True, "d": "x"}]}, closed=True) == [
        ".a: integer in Binance's answer, string in ours"
    ]
    assert differences("X", shape, {"a": 1.5, "b": [{"d": "x", "e": 0}]}, closed=True) == [
        ".a: integer in Binance's answer, number in ours",
        ".b[0].c: missing",
        ".b[0].e: not in Binance's answer",
    ]
    assert (
        differences("X", shape, {"a": 1, "b": [{"c": True, "d": "x", "e": 0}]}, closed=False) == []
    )
