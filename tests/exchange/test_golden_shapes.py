"""The stand-in's answers against Binance's recorded USDⓈ-M answers (golden shapes).

golden/binance_fapi_recorded.json holds, per endpoint, the shape (keys and JSON types) of a
raw answer recorded from Binance, taken from ccxt's static test fixtures. For each, the test
gets the same answer from the stand-in through unmodified ccxt's raw methods and compares:

- the keys, at every level (a list by its first item): ours has every recorded key, and no
  key the recording lacks unless EXTRA names it with the reason;
- the JSON type wherever the recording keeps one (number, boolean). Recorded strings are not
  compared: some recordings store numbers as strings (orderId is a number in the batchOrders
  recording and a string in the openOrder one), so a recorded string proves no type.

A kline, recorded as a bare list, is compared with Binance's documented row instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rx_support import make_ccxt

RECORDED = json.loads((Path(__file__).parent / "golden" / "binance_fapi_recorded.json").read_text())
ANSWERS: dict[str, dict[str, Any]] = RECORDED["answers"]

# Keys ours sends that the recording lacks, with the reason each is kept.
EXTRA = {
    # Binance's GET /fapi/v2/account documentation lists feeBurn (the BNB fee discount
    # switch); the recording predates it.
    ("GET /fapi/v2/account", "feeBurn"),
}
# Types where Binance's own documentation and the recording disagree: ours follows the
# documentation. GET /fapi/v1/symbolConfig documents "isAutoAddMargin": "false" (a string).
DOCUMENTED_TYPE = {("GET /fapi/v1/symbolConfig", "isAutoAddMargin"): "string"}

# GET /fapi/v1/klines, a row as Binance documents it: open time, open, high, low, close,
# volume, close time, quote volume, number of trades, taker buy base volume, taker buy quote
# volume, and an ignored field.
KLINE_ROW = ["number", *["string"] * 5, "number", "string", "number", "string", "string", "string"]


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return {str: "string", list: "list", dict: "object"}[type(value)]


def differences(endpoint: str, recorded: Any, ours: Any, where: str = "") -> list[str]:
    """What differs between a recorded shape and one of our answers, as readable lines."""
    if isinstance(recorded, dict):
        if not isinstance(ours, dict):
            return [f"{where or '.'}: an object in Binance's answer, {json_type(ours)} in ours"]
        out = [f"{where}.{k}: missing" for k in recorded if k not in ours]
        out += [
            f"{where}.{k}: not in Binance's answer"
            for k in ours
            if k not in recorded and (endpoint, k) not in EXTRA
        ]
        for k in recorded.keys() & ours.keys():
            out += differences(endpoint, recorded[k], ours[k], f"{where}.{k}")
        return out
    if isinstance(recorded, list):
        if not isinstance(ours, list):
            return [f"{where or '.'}: a list in Binance's answer, {json_type(ours)} in ours"]
        if not recorded or not ours:  # nothing recorded to compare, or nothing of ours
            return [] if not recorded else [f"{where or '.'}: empty in ours (test set-up?)"]
        return differences(endpoint, recorded[0], ours[0], f"{where}[0]")
    key = where.rsplit(".", 1)[-1]
    expected = DOCUMENTED_TYPE.get((endpoint, key), recorded)
    if isinstance(ours, dict | list):
        return [f"{where}: {recorded} in Binance's answer, {json_type(ours)} in ours"]
    typed = expected != "string" or (endpoint, key) in DOCUMENTED_TYPE
    if typed and json_type(ours) != expected:
        return [f"{where}: {expected} in Binance's answer, {json_type(ours)} in ours"]
    return []


@pytest.fixture(scope="module")
def answers(exchange_url: str) -> Iterator[dict[str, Any]]:
    """One answer of ours per recorded endpoint, from an account holding a BTC position
    (market entry), a resting limit order and so a trade."""
    api = make_ccxt(exchange_url)
    api.load_markets()
    sym = "BTCUSDT"
    placed = api.fapiPrivatePostOrder(
        {"symbol": sym, "side": "BUY", "type": "MARKET", "quantity": "0.002"}
    )
    mark = float(api.fapiPublicGetPremiumIndex({"symbol": sym})["markPrice"])
    resting = api.fapiPrivatePostOrder(
        {
            "symbol": sym,
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.002",
            "price": f"{round(mark * 0.97, 1)}",
        }
    )
    yield {
        # Binance documents the batch answer's items as the new-order answer.
        "POST /fapi/v1/batchOrders": [placed, resting],
        "GET /fapi/v1/openOrder": api.fapiPrivateGetOpenOrder(
            {"symbol": sym, "orderId": resting["orderId"]}
        ),
        "GET /fapi/v3/positionRisk": api.fapiPrivateV3GetPositionRisk(),
        "GET /fapi/v3/account": api.fapiPrivateV3GetAccount(),
        "GET /fapi/v2/account": api.fapiPrivateV2GetAccount(),
        "GET /fapi/v1/userTrades": api.fapiPrivateGetUserTrades({"symbol": sym}),
        "GET /fapi/v1/depth": api.fapiPublicGetDepth({"symbol": sym, "limit": 5}),
        "GET /fapi/v1/symbolConfig": api.fapiPrivateGetSymbolConfig({"symbol": sym}),
        "GET /fapi/v1/klines": api.fapiPublicGetKlines(
            {"symbol": sym, "interval": "1h", "limit": 3}
        ),
    }


@pytest.mark.parametrize("endpoint", sorted(ANSWERS))
def test_answer_has_binance_recorded_shape(answers: dict[str, Any], endpoint: str) -> None:
    recorded = ANSWERS[endpoint]["shape"]
    ours = answers[endpoint]
    found = differences(endpoint, recorded, ours)
    if isinstance(ours, list):  # every item, not only the first
        for item in ours[1:]:
            found += differences(endpoint, recorded[0], item, "[i]")
    assert not found, f"{endpoint} differs from Binance's recorded answer: {found}"


def test_kline_rows_as_binance_documents_them(answers: dict[str, Any]) -> None:
    rows = answers["GET /fapi/v1/klines"]
    assert len(rows) == 3
    assert all([json_type(v) for v in row] == KLINE_ROW for row in rows), rows[0]


def test_the_comparison_catches_a_drift() -> None:
    """The comparison itself: a missing key, an extra key and a wrong type each show."""
    recorded = {"a": "number", "b": [{"c": "boolean", "d": "string"}]}
    assert differences("X", recorded, {"a": 1, "b": [{"c": True, "d": 5}]}) == []
    assert differences("X", recorded, {"a": "1", "b": [{"c": True, "d": "x"}]}) == [
        ".a: number in Binance's answer, string in ours"
    ]
    assert differences("X", recorded, {"a": 1, "b": [{"d": "x", "e": 0}]}) == [
        ".b[0].c: missing",
        ".b[0].e: not in Binance's answer",
    ]
