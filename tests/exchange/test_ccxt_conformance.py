"""Unmodified ccxt (binance, defaultType future) against the replay exchange."""

from __future__ import annotations

import itertools
import time
from typing import Any

import ccxt
import pytest
import requests
from rx_support import make_ccxt

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"


@pytest.fixture(scope="module")
def api(exchange_url: str) -> Any:
    ex = make_ccxt(exchange_url)
    ex.load_markets()
    return ex


def test_load_markets_has_the_five_perpetuals_with_filters(api: Any) -> None:
    assert set(api.markets) == {BTC, ETH, "SOL/USDT:USDT", "BNB/USDT:USDT", "ADA/USDT:USDT"}
    btc = api.markets[BTC]
    assert btc["swap"] and btc["linear"] and btc["settle"] == "USDT" and btc["active"]
    assert btc["precision"] == {"amount": 0.001, "price": 0.1, "base": 1e-08, "quote": 1e-08}
    assert btc["limits"]["cost"]["min"] == 100.0
    assert api.markets["ADA/USDT:USDT"]["precision"]["price"] == 0.0001


@pytest.mark.parametrize("price", [None, "mark", "index", "premiumIndex"])
def test_fetch_ohlcv_all_price_types(api: Any, price: str | None) -> None:
    params = {"price": price} if price else {}
    candles = api.fetch_ohlcv(BTC, "1h", limit=50, params=params)
    assert len(candles) == 50
    now = api.milliseconds()
    # fresh: the newest candle is the open one (one hour of slack if the hour just turned)
    assert candles[-1][0] <= now < candles[-1][0] + 2 * 3_600_000
    assert all(b[0] - a[0] == 3_600_000 for a, b in itertools.pairwise(candles))
    if price != "premiumIndex":
        assert all(c[3] <= min(c[1], c[4]) <= max(c[1], c[4]) <= c[2] for c in candles)
        assert 10_000 < candles[-1][4] < 1_000_000
    else:
        assert all(abs(c[4]) < 0.05 for c in candles)


def test_fetch_ohlcv_since_pages_forward(api: Any) -> None:
    since = api.milliseconds() - 10 * 86_400_000
    first = api.fetch_ohlcv(ETH, "15m", since=since, limit=100)
    assert len(first) == 100 and first[0][0] >= since
    second = api.fetch_ohlcv(ETH, "15m", since=first[-1][0] + 1, limit=100)
    assert second[0][0] == first[-1][0] + 900_000


def test_funding_rate_history_and_current(api: Any) -> None:
    hist = api.fetch_funding_rate_history(BTC, limit=30)
    assert len(hist) == 30
    assert all(h["timestamp"] % (8 * 3_600_000) == 0 for h in hist)
    assert all(abs(h["fundingRate"]) < 0.01 for h in hist)
    cur = api.fetch_funding_rate(BTC)
    assert cur["fundingTimestamp"] > api.milliseconds()
    assert cur["markPrice"] > 0


def test_tickers_bids_asks_order_book(api: Any) -> None:
    tickers = api.fetch_tickers()
    assert {BTC, ETH} <= set(tickers)
    assert tickers[BTC]["last"] > 0 and tickers[BTC]["quoteVolume"] > 0
    ba = api.fetch_bids_asks()
    assert ba[BTC]["bid"] < ba[BTC]["ask"]
    book = api.fetch_order_book(ETH, 20)
    assert len(book["bids"]) == 20 and len(book["asks"]) == 20
    assert book["bids"][0][0] < book["asks"][0][0]
    assert book["asks"][0][0] - book["bids"][0][0] == pytest.approx(0.01)


def test_trades_and_time(api: Any) -> None:
    trades = api.fetch_trades(BTC, limit=10)
    assert len(trades) == 10 and trades[-1]["price"] > 0
    assert abs(api.fetch_time() - api.milliseconds()) < 5_000


def test_balance_leverage_margin_mode_and_positions(api: Any) -> None:
    assert api.fetch_balance()["USDT"]["total"] == pytest.approx(10_000.0)
    assert api.set_leverage(3, "SOL/USDT:USDT")["leverage"] == 3
    assert api.set_margin_mode("isolated", "SOL/USDT:USDT")["code"] == 200
    # already isolated: Binance answers -4046 "No need to change margin type."
    with pytest.raises(ccxt.MarginModeAlreadySet, match="-4046"):
        api.set_margin_mode("isolated", "SOL/USDT:USDT")
    order = api.create_order("SOL/USDT:USDT", "market", "buy", 1)
    assert order["status"] == "closed" and order["filled"] == 1 and order["average"] > 0
    pos = api.fetch_positions(["SOL/USDT:USDT"])[0]
    assert pos["contracts"] == 1 and pos["side"] == "long" and pos["marginMode"] == "isolated"
    assert 0 < pos["liquidationPrice"] < pos["entryPrice"]
    with pytest.raises(ccxt.ExchangeError, match="-4048"):
        api.set_margin_mode("cross", "SOL/USDT:USDT")
    close = api.create_order("SOL/USDT:USDT", "market", "sell", 1, params={"reduceOnly": True})
    assert close["status"] == "closed"
    assert api.fetch_positions(["SOL/USDT:USDT"]) == []
    trades = api.fetch_my_trades("SOL/USDT:USDT")
    assert len(trades) == 2 and all(t["fee"]["cost"] > 0 for t in trades)
    bal = api.fetch_balance()["USDT"]["total"]
    assert bal < 10_000.0  # fees (and the spread) were paid


def test_limit_order_create_fetch_cancel(api: Any) -> None:
    price = round(api.fetch_order_book(BTC, 5)["bids"][0][0] * 0.97, 1)  # PERCENT_PRICE: ≥ 0.95
    order = api.create_order(BTC, "limit", "buy", 0.002, price)
    assert order["status"] == "open" and order["price"] == price
    assert api.fetch_order(order["id"], BTC)["status"] == "open"
    assert [o["id"] for o in api.fetch_open_orders(BTC)] == [order["id"]]
    assert api.cancel_order(order["id"], BTC)["status"] == "canceled"
    assert api.fetch_order(order["id"], BTC)["status"] == "canceled"
    assert any(o["id"] == order["id"] for o in api.fetch_orders(BTC))
    with pytest.raises(ccxt.OrderNotFound):
        api.cancel_order(order["id"], BTC)


def test_stop_market_goes_through_the_algo_api(api: Any) -> None:
    api.create_order(ETH, "market", "buy", 0.01)
    stop = round(api.fetch_order_book(ETH, 5)["bids"][0][0] * 0.9, 2)
    sl = api.create_order(
        ETH,
        "stop_market",
        "sell",
        0.01,
        params={"stopPrice": stop, "reduceOnly": True, "workingType": "MARK_PRICE"},
    )
    assert sl["status"] == "open" and sl["triggerPrice"] == stop
    assert sl["info"]["algoType"] == "CONDITIONAL" and sl["info"]["workingType"] == "MARK_PRICE"
    got = api.fetch_order(sl["id"], ETH, params={"stop": True})
    assert got["status"] == "open" and got["triggerPrice"] == stop
    assert api.fetch_open_orders(ETH, params={"stop": True})[0]["id"] == sl["id"]
    cancelled = api.cancel_order(sl["id"], ETH, params={"stop": True})
    assert cancelled["id"] == sl["id"]
    assert api.fetch_order(sl["id"], ETH, params={"stop": True})["status"] == "canceled"
    api.create_order(ETH, "market", "sell", 0.01, params={"reduceOnly": True})


def test_leverage_tiers_trading_fee_funding_history(api: Any) -> None:
    tiers = api.fetch_leverage_tiers([BTC])[BTC]
    assert tiers[0]["maxLeverage"] == 150 and tiers[0]["maintenanceMarginRate"] == 0.004
    fee = api.fetch_trading_fee(BTC)
    assert (fee["maker"], fee["taker"]) == (0.0002, 0.0005)
    assert api.fetch_funding_history(BTC) == []  # no position held across a funding time


def test_errors_carry_binance_codes(api: Any, exchange_url: str) -> None:
    # ccxt applies its futures-specific code table only to https://fapi.binance.com URLs;
    # elsewhere it falls back to the common table, so some codes map to ExchangeError.
    # test_error_classes.py asserts the class production raises for each of these answers.
    with pytest.raises(ccxt.ExchangeError, match="-4164"):
        api.create_order(ETH, "market", "buy", 0.001)  # ~4 USDT < 20 USDT min notional
    with pytest.raises(ccxt.BadSymbol, match="-1121"):
        api.fapiPublicGetKlines({"symbol": "DOGEUSDT", "interval": "1h"})
    with pytest.raises(ccxt.ExchangeError, match="-2019"):
        api.create_order(BTC, "market", "buy", 100)  # ~11M USDT with 10k
    bad = make_ccxt(exchange_url, secret="not-the-secret")
    bad.markets = api.markets
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        bad.fetch_balance()
    unknown = make_ccxt(exchange_url, key="unknownKey123")
    unknown.markets = api.markets
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        unknown.fetch_balance()
    stale = make_ccxt(exchange_url)
    stale.markets = api.markets
    stale.nonce = lambda: int(time.time() * 1000) - 60_000
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        stale.fetch_balance()
    r = requests.get(f"{exchange_url}/fapi/v3/account", headers={"X-MBX-APIKEY": "bad key!"})
    assert r.status_code == 401 and r.json()["code"] == -2014


def test_leverages_and_margin_modes(api: Any) -> None:
    api.set_leverage(7, "BNB/USDT:USDT")
    lev = api.fetch_leverages(["BNB/USDT:USDT"])["BNB/USDT:USDT"]
    assert lev["longLeverage"] == 7 and lev["marginMode"] == "cross"
    modes = api.fetch_margin_modes(["BNB/USDT:USDT"])
    assert modes["BNB/USDT:USDT"]["marginMode"] == "cross"


def test_order_count_headers(api: Any) -> None:
    api.create_order("ADA/USDT:USDT", "market", "buy", 10)
    headers = api.last_response_headers
    assert int(headers["X-MBX-ORDER-COUNT-1M"]) >= 1
    assert int(headers["X-MBX-ORDER-COUNT-10S"]) >= 1
    api.create_order("ADA/USDT:USDT", "market", "sell", 10, params={"reduceOnly": True})


def test_api_restrictions_endpoint(api: Any) -> None:
    r = api.sapiGetAccountApiRestrictions()
    assert r["enableWithdrawals"] is False and r["enableFutures"] is True


def test_used_weight_header(exchange_url: str) -> None:
    r = requests.get(
        f"{exchange_url}/fapi/v1/klines",
        params={"symbol": "BTCUSDT", "interval": "1m", "limit": 1000},
    )
    assert r.status_code == 200 and len(r.json()) == 1000
    assert int(r.headers["X-MBX-USED-WEIGHT-1M"]) >= 5
