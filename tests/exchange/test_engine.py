"""Matching engine with a settable clock: funding, liquidation, limit and stop fills, restart."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
from futures_lib import margin as fm
from replay_exchange import errors
from replay_exchange import margin as m
from replay_exchange.core import Exchange
from replay_exchange.engine import account_id
from replay_exchange.markets import MAX_NUM_ALGO_ORDERS, MAX_NUM_ORDERS, margin_brackets
from replay_exchange.testing import TEST_API_KEY, TEST_KEYS
from rx_support import DATA_DIR, FakeClock

H = 3_600_000
T0 = 1_795_604_123_141  # 2026-11-25 10:55:23 UTC; next funding at 16:00 UTC
KEY = TEST_API_KEY


def make(tmp_path: Path, clock: FakeClock) -> Exchange:
    return Exchange(DATA_DIR, tmp_path / "state.json", keys=TEST_KEYS, clock=clock)


def market(ex: Exchange, sym: str, side: str, qty: str, **extra: str) -> dict:
    return ex.engine.place_order(
        KEY, sym, {"type": "MARKET", "side": side, "quantity": qty, **extra}
    )


def test_funding_applied_at_recorded_times_with_recorded_rates(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    ex = make(tmp_path, clock)
    market(ex, "BTCUSDT", "BUY", "0.010")
    clock.now_ms = T0 + 14 * H  # crosses 16:00 and 00:00 UTC
    ex.engine.tick()
    rows = [r for r in ex.engine.account(KEY)["income"] if r["incomeType"] == "FUNDING_FEE"]
    fr = pd.read_feather(DATA_DIR / "futures" / "BTC_USDT_USDT-8h-funding_rate.feather")
    rates = dict(zip(fr["date"].dt.as_unit("ms").astype("int64"), fr["open"], strict=True))
    assert [r["time"] for r in rows] == [T0 - T0 % (8 * H) + 8 * H, T0 - T0 % (8 * H) + 16 * H]
    for r in rows:
        rate = rates[ex.replay.clock.recorded(r["time"])]
        mark = ex.replay.mark_price("BTCUSDT", r["time"])
        assert float(r["income"]) == pytest.approx(m.funding_payment(0.01, mark, rate), abs=1e-8)


def test_isolated_liquidation_when_mark_crosses(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    ex = make(tmp_path, clock)
    acct = ex.engine.account(KEY)
    ex.engine.settings(acct, "ETHUSDT").update(leverage=50, margin="isolated")
    market(ex, "ETHUSDT", "BUY", "1.000")
    wallet_after_entry = acct["wallet"]
    pos = acct["positions"]["ETHUSDT"]
    lp = ex.engine.liq_price(acct, "ETHUSDT", clock.now_ms)
    expected = fm.liquidation_price(
        1.0, pos["entry"], pos["iso_wallet"], margin_brackets()["ETHUSDT"]
    )
    assert lp == pytest.approx(expected) and lp < pos["entry"]
    margin = pos["iso_wallet"]
    ex.replay.overrides["ETHUSDT"] = {"last": lp * 0.999, "mark": lp * 0.999}
    clock.now_ms += 1000
    ex.engine.tick()
    assert acct["positions"]["ETHUSDT"]["amt"] == 0
    # exactly the isolated margin is gone: realized loss + closing fee + clearance fee
    assert acct["wallet"] == pytest.approx(wallet_after_entry - margin, rel=1e-12)
    kinds = {r["incomeType"] for r in acct["income"]}
    assert "INSURANCE_CLEAR" in kinds
    assert any(o["clientOrderId"].startswith("autoclose-") for o in acct["orders"].values())


def test_limit_fills_only_when_price_crosses(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    ex = make(tmp_path, clock)
    last = ex.replay.last_price("SOLUSDT", T0)
    price = f"{round(last * 0.97, 2):.2f}"
    o = ex.engine.place_order(
        KEY,
        "SOLUSDT",
        {"type": "LIMIT", "side": "BUY", "quantity": "2", "price": price, "timeInForce": "GTC"},
    )
    assert o["status"] == "NEW"
    ex.replay.overrides["SOLUSDT"] = {"last": last * 0.98}
    clock.now_ms += 1000
    ex.engine.tick()
    assert o["status"] == "NEW"
    ex.replay.overrides["SOLUSDT"] = {"last": last * 0.96}
    clock.now_ms += 1000
    ex.engine.tick()
    assert o["status"] == "FILLED" and o["avgPrice"].startswith(price)
    trade = ex.engine.account(KEY)["trades"][-1]
    assert trade["maker"] is True
    assert float(trade["commission"]) == pytest.approx(2 * float(price) * m.MAKER_FEE)


def test_stop_market_triggers_on_mark_price_and_closes(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    ex = make(tmp_path, clock)
    market(ex, "BNBUSDT", "BUY", "1.00")
    mark = ex.replay.mark_price("BNBUSDT", T0)
    trigger = f"{mark * 0.95:.2f}"
    algo = ex.engine.place_algo(
        KEY,
        "BNBUSDT",
        {
            "algoType": "CONDITIONAL",
            "type": "STOP_MARKET",
            "side": "SELL",
            "triggerPrice": trigger,
            "closePosition": "true",
            "workingType": "MARK_PRICE",
        },
    )
    # the last price falling does not fire a MARK_PRICE stop
    ex.replay.overrides["BNBUSDT"] = {"last": mark * 0.9, "mark": mark * 0.99}
    clock.now_ms += 1000
    ex.engine.tick()
    assert algo["algoStatus"] == "NEW"
    ex.replay.overrides["BNBUSDT"] = {"last": mark * 0.9, "mark": mark * 0.94}
    clock.now_ms += 1000
    ex.engine.tick()
    assert algo["algoStatus"] == "FINISHED" and algo["actualOrderId"]
    order = ex.engine.account(KEY)["orders"][algo["actualOrderId"]]
    assert order["status"] == "FILLED" and order["origType"] == "STOP_MARKET"
    assert ex.engine.account(KEY)["positions"]["BNBUSDT"]["amt"] == 0


def test_immediate_trigger_reduce_only_and_min_notional(tmp_path: Path) -> None:
    ex = make(tmp_path, FakeClock(T0))
    last = ex.replay.last_price("ADAUSDT", T0)
    with pytest.raises(errors.BinanceError) as e:
        ex.engine.place_algo(
            KEY,
            "ADAUSDT",
            {
                "algoType": "CONDITIONAL",
                "type": "STOP_MARKET",
                "side": "SELL",
                "quantity": "100",
                "triggerPrice": f"{last * 1.05:.4f}",
            },
        )
    assert e.value.code == -2021
    with pytest.raises(errors.BinanceError) as e:
        market(ex, "ADAUSDT", "SELL", "100", reduceOnly="true")
    assert e.value.code == -2022
    with pytest.raises(errors.BinanceError) as e:
        market(ex, "ADAUSDT", "BUY", "1")
    assert e.value.code == -4164
    with pytest.raises(errors.BinanceError) as e:
        market(ex, "ADAUSDT", "BUY", "1.5")
    assert e.value.code == -1111


def test_state_survives_restart(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    ex = make(tmp_path, clock)
    market(ex, "BTCUSDT", "SELL", "0.005")
    ex.engine.persist(force=True)
    again = make(tmp_path, clock)
    pos = again.engine.account(KEY)["positions"]["BTCUSDT"]
    assert pos["amt"] == -0.005
    assert again.engine.account(KEY)["wallet"] == ex.engine.account(KEY)["wallet"]
    assert again.replay.clock.offset == ex.replay.clock.offset


def test_state_file_names_accounts_by_digest_not_key(tmp_path: Path) -> None:
    """The state file is readable by the exchange's service user: it names each account by
    a digest, never the key. A file from before is renamed on load, its account kept."""
    clock = FakeClock(T0)
    ex = make(tmp_path, clock)
    market(ex, "BTCUSDT", "SELL", "0.005")
    ex.engine.persist(force=True)
    text = (tmp_path / "state.json").read_text()
    assert KEY not in text and account_id(KEY) in text
    doc = json.loads(text)
    doc["accounts"] = {KEY: doc["accounts"].pop(account_id(KEY))}  # the old layout
    (tmp_path / "state.json").write_text(json.dumps(doc))
    again = make(tmp_path, clock)
    assert again.engine.account(KEY)["positions"]["BTCUSDT"]["amt"] == -0.005
    assert KEY not in (tmp_path / "state.json").read_text()
    # Both names (an old build wrote the key again after an upgrade): the newer account stays.
    doc = json.loads((tmp_path / "state.json").read_text())
    newer = doc["accounts"][account_id(KEY)]
    older = {**newer, "wallet": 1.0, "update_time": newer["update_time"] - 1}
    doc["accounts"][KEY] = older
    (tmp_path / "state.json").write_text(json.dumps(doc))
    assert make(tmp_path, clock).engine.account(KEY)["wallet"] == newer["wallet"]


def test_cross_liquidation_uses_the_whole_cross_wallet(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    ex = make(tmp_path, clock)
    acct = ex.engine.account(KEY)
    acct["wallet"] = 200.0
    ex.engine.settings(acct, "BTCUSDT")["leverage"] = 50
    market(ex, "BTCUSDT", "SELL", "0.050")  # ~5.7k notional on a 200 USDT cross wallet
    pos = acct["positions"]["BTCUSDT"]
    lp = ex.engine.liq_price(acct, "BTCUSDT", clock.now_ms)
    expected = fm.liquidation_price(
        -0.05, pos["entry"], acct["wallet"], margin_brackets()["BTCUSDT"]
    )
    assert lp == pytest.approx(expected) and lp > pos["entry"]
    ex.replay.overrides["BTCUSDT"] = {"last": lp * 0.999, "mark": lp * 0.999}
    clock.now_ms += 1000
    ex.engine.tick()
    assert pos["amt"] == -0.05  # not yet
    ex.replay.overrides["BTCUSDT"] = {"last": lp * 1.001, "mark": lp * 1.001}
    clock.now_ms += 1000
    ex.engine.tick()
    assert pos["amt"] == 0
    assert 0 <= acct["wallet"] < 200.0 * 0.2  # what is left after loss, fee and clearance


def limit_order(ex: Exchange, sym: str, side: str, qty: str, price: str) -> dict:
    q = {"type": "LIMIT", "side": side, "quantity": qty, "price": price, "timeInForce": "GTC"}
    return ex.engine.place_order(KEY, sym, q)


def code_of(fn: Callable[[], object]) -> tuple[int, str]:
    with pytest.raises(errors.BinanceError) as e:
        fn()
    return e.value.code, e.value.msg


def test_price_filter_and_percent_price(tmp_path: Path) -> None:
    ex = make(tmp_path, FakeClock(T0))
    ex.replay.overrides["BTCUSDT"] = {"last": 100_000.0, "mark": 100_003.0}
    buy = partial(limit_order, ex, "BTCUSDT", "BUY", "0.002")
    sell = partial(limit_order, ex, "BTCUSDT", "SELL", "0.002")
    # PRICE_FILTER: minPrice 261.10, maxPrice 809484, tickSize 0.10, pricePrecision 2
    assert code_of(lambda: buy("261.0")) == (-4013, "Price less than min price.")
    assert code_of(lambda: sell("809484.1")) == (-4002, "Price greater than max price.")
    assert code_of(lambda: buy("99000.05")) == (-4014, "Price not increased by tick size.")
    assert code_of(lambda: buy("99000.101"))[0] == -1111
    # PERCENT_PRICE around the mark price: cap 100003 * 1.05 = 105003.15 -> 105003.10 (down to
    # the tick), floor 100003 * 0.95 = 95002.85 -> 95002.90 (up to the tick)
    assert code_of(lambda: sell("105003.2")) == (
        -4016,
        "Limit price can't be higher than 105003.10.",
    )
    assert code_of(lambda: buy("95002.8")) == (-4024, "Limit price can't be lower than 95002.90.")
    assert sell("105003.1")["status"] == "NEW"
    assert buy("95002.9")["status"] == "NEW"
    # the trigger price of a conditional order is not bound by PERCENT_PRICE (stop-losses sit
    # further away than 5 %)
    algo = ex.engine.place_algo(
        KEY,
        "BTCUSDT",
        {
            "algoType": "CONDITIONAL",
            "type": "STOP_MARKET",
            "side": "SELL",
            "quantity": "0.002",
            "triggerPrice": "80000.0",
        },
    )
    assert algo["algoStatus"] == "NEW"


def test_max_num_orders_and_max_num_algo_orders(tmp_path: Path) -> None:
    ex = make(tmp_path, FakeClock(T0))
    ex.replay.overrides["ETHUSDT"] = {"last": 3000.0, "mark": 3000.0}
    for _ in range(MAX_NUM_ORDERS):
        assert limit_order(ex, "ETHUSDT", "BUY", "0.010", "2950.00")["status"] == "NEW"
    reject = (-2025, "Reach max open order limit.")
    assert code_of(lambda: limit_order(ex, "ETHUSDT", "BUY", "0.010", "2950.00")) == reject
    assert code_of(lambda: market(ex, "ETHUSDT", "BUY", "0.010")) == reject
    # per symbol; and a cancelled order frees its slot
    ex.replay.overrides["SOLUSDT"] = {"last": 150.0, "mark": 150.0}
    assert limit_order(ex, "SOLUSDT", "BUY", "1", "148.00")["status"] == "NEW"
    first = next(iter(ex.engine.account(KEY)["orders"].values()))
    first["status"] = "CANCELED"
    assert limit_order(ex, "ETHUSDT", "BUY", "0.010", "2950.00")["status"] == "NEW"

    stop = {"algoType": "CONDITIONAL", "type": "STOP_MARKET", "side": "SELL", "quantity": "0.010"}
    for _ in range(MAX_NUM_ALGO_ORDERS):
        ex.engine.place_algo(KEY, "ETHUSDT", {**stop, "triggerPrice": "2500.00"})
    got = code_of(lambda: ex.engine.place_algo(KEY, "ETHUSDT", {**stop, "triggerPrice": "2500.00"}))
    assert got == (-4045, "Reach max stop order limit.")
    assert ex.engine.place_algo(KEY, "SOLUSDT", {**stop, "quantity": "1", "triggerPrice": "120"})


def test_limit_fill_share_of_the_volume_traded_through() -> None:
    # a quarter of the range lies beyond the price: a tenth of that quarter of the volume
    assert m.limit_fill_qty("BUY", 99.0, 98.0, 102.0, 100.0) == pytest.approx(2.5)
    assert m.limit_fill_qty("SELL", 101.0, 98.0, 102.0, 100.0) == pytest.approx(2.5)
    assert m.limit_fill_qty("BUY", 98.0, 98.0, 102.0, 100.0) == 0.0  # a touch: still queued
    assert m.limit_fill_qty("SELL", 102.0, 98.0, 102.0, 100.0) == 0.0
    assert m.limit_fill_qty("BUY", 110.0, 98.0, 102.0, 100.0) == pytest.approx(10.0)


def test_resting_limit_fills_in_slices_sized_by_the_replayed_volume(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    ex = make(tmp_path, clock)
    sym, step_ms, qty = "ETHUSDT", 1000, 50.0
    last = ex.replay.last_price(sym, T0)
    low = ex.replay.traded(sym, T0, T0 + 2 * H)[0]
    assert low < last * 0.99, "the recorded path dips about 2 % in the next 2 h"
    price = f"{(last + low) / 2:.2f}"
    q = {"type": "LIMIT", "side": "BUY", "quantity": f"{qty:.3f}", "price": price}
    ex.engine.settings(ex.engine.account(KEY), sym)["leverage"] = 50
    o = ex.engine.place_order(KEY, sym, {**q, "timeInForce": "GTC"})
    assert o["status"] == "NEW"
    seen, t, filled_before = set(), T0, 0.0
    while o["status"] != "FILLED" and t < T0 + 2 * H:
        lo, _, volume = ex.replay.traded(sym, t, t + step_ms)
        t += step_ms
        clock.now_ms = t
        ex.engine.tick()
        filled = float(o["executedQty"])
        got = filled - filled_before
        assert volume is not None
        if lo >= float(price):
            assert got == 0, "filled without trading through the price"
        assert got <= m.FILL_SHARE * volume + 1e-9, "more than its share of the volume"
        filled_before = filled
        seen.add(o["status"])
    assert "PARTIALLY_FILLED" in seen and o["status"] == "FILLED", seen
    fills = [x for x in ex.engine.account(KEY)["trades"] if x["orderId"] == o["orderId"]]
    assert len(fills) > 1 and all(x["maker"] and x["price"].startswith(price) for x in fills)
    assert sum(float(x["qty"]) for x in fills) == pytest.approx(qty)
    assert ex.engine.position(ex.engine.account(KEY), sym)["amt"] == pytest.approx(qty)
