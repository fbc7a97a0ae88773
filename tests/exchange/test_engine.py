"""Matching engine with a settable clock: funding, liquidation, limit and stop fills, restart."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from replay_exchange import errors
from replay_exchange import margin as m
from replay_exchange.markets import brackets
from replay_exchange.server import Exchange
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
    expected = m.liquidation_price(1.0, pos["entry"], pos["iso_wallet"], brackets()["ETHUSDT"])
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


def test_cross_liquidation_uses_the_whole_cross_wallet(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    ex = make(tmp_path, clock)
    acct = ex.engine.account(KEY)
    acct["wallet"] = 200.0
    ex.engine.settings(acct, "BTCUSDT")["leverage"] = 50
    market(ex, "BTCUSDT", "SELL", "0.050")  # ~5.7k notional on a 200 USDT cross wallet
    pos = acct["positions"]["BTCUSDT"]
    lp = ex.engine.liq_price(acct, "BTCUSDT", clock.now_ms)
    expected = m.liquidation_price(-0.05, pos["entry"], acct["wallet"], brackets()["BTCUSDT"])
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
