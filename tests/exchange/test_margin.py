"""Matching-engine math on known cases (Binance's published formulas)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from futures_lib import margin as fm
from hypothesis import assume, given
from hypothesis import strategies as st
from replay_exchange import margin as m
from replay_exchange.markets import margin_brackets

BTC = margin_brackets()["BTCUSDT"]


def binance_isolated_lp(
    side: int, size: float, entry: float, wallet: float, mmr: float, cum: float
) -> float:
    # Binance: LP = (WB - TMM1 + UPNL1 + cumB - Side1*Pos1*EP1) / (Pos1*MMR1 - Side1*Pos1)
    return (wallet + cum - side * size * entry) / (size * mmr - side * size)


def test_isolated_long_liquidation_price_matches_formula_to_the_tick() -> None:
    # 0.01 BTC long at 114800.1, 5x isolated: wallet = 229.6002, bracket 1 (0.4 %, cum 0)
    size, entry = 0.01, 114800.1
    wallet = size * entry / 5
    lp = fm.liquidation_price(size, entry, wallet, BTC)
    expected = binance_isolated_lp(1, size, entry, wallet, 0.004, 0.0)
    tick = Decimal("0.10")
    assert m.round_to(lp, tick) == m.round_to(expected, tick) == Decimal("92208.90")


def test_isolated_short_liquidation_price_in_second_bracket() -> None:
    # 5 BTC short at 100000 (notional 500k: bracket 2, 0.5 %, cum 300), 10x isolated
    size, entry = 5.0, 100_000.0
    wallet = size * entry / 10
    lp = fm.liquidation_price(-size, entry, wallet, BTC)
    expected = binance_isolated_lp(-1, size, entry, wallet, 0.005, 300.0)
    assert 300_000 <= size * lp < 800_000  # the bracket that holds the notional at LP
    assert m.round_to(lp, Decimal("0.10")) == m.round_to(expected, Decimal("0.10"))
    # by hand: (50000 + 300 + 5 * 100000) / (5 * 0.005 + 5) = 109512.437...
    assert m.round_to(lp, Decimal("0.10")) == Decimal("109512.40")


def test_liquidation_price_loses_exactly_the_margin_minus_maintenance() -> None:
    size, entry, lev = 2.0, 3000.0, 20
    wallet = size * entry / lev
    eth = margin_brackets()["ETHUSDT"]
    lp = fm.liquidation_price(size, entry, wallet, eth)
    # At LP, margin balance equals maintenance margin: wallet + upnl == mm
    upnl = m.unrealized_pnl(size, entry, lp)
    assert wallet + upnl == pytest.approx(fm.maintenance_margin(eth, size * lp), rel=1e-9)


def test_cross_liquidation_uses_other_positions() -> None:
    alone = fm.liquidation_price(1.0, 100_000.0, 5_000.0, BTC)
    with_loss = fm.liquidation_price(
        1.0, 100_000.0, 5_000.0, BTC, other_maint=100, other_upnl=-1000
    )
    assert with_loss > alone  # other losses bring liquidation closer for a long


def test_bracket_selection_and_maintenance_amount() -> None:
    assert fm.bracket_for(BTC, 0) == BTC[0]
    assert fm.bracket_for(BTC, 300_000) == BTC[1]
    # 500k notional: 500000 * 0.005 - 300 = 2200
    assert fm.maintenance_margin(BTC, 500_000) == pytest.approx(2200.0)
    assert fm.bracket_for(BTC, 1_000_000).max_leverage == 75


def test_funding_payment_sign() -> None:
    assert m.funding_payment(0.5, 100_000, 0.0001) == pytest.approx(-5.0)  # long pays
    assert m.funding_payment(-0.5, 100_000, 0.0001) == pytest.approx(5.0)  # short receives
    assert m.funding_payment(0.5, 100_000, -0.0002) == pytest.approx(10.0)


def test_walk_book_slippage() -> None:
    levels = [(100.0, 1.0), (101.0, 1.0), (102.0, 10.0)]
    assert m.walk_book(levels, 0.5) == (100.0, 0.5)
    avg, filled = m.walk_book(levels, 2.5)
    assert filled == 2.5
    assert avg == pytest.approx((100 + 101 + 0.5 * 102) / 2.5)


@pytest.mark.parametrize(
    ("otype", "side", "lo", "hi", "fires"),
    [
        ("STOP_MARKET", "SELL", 95, 105, True),
        ("STOP_MARKET", "SELL", 101, 105, False),
        ("STOP_MARKET", "BUY", 95, 99, False),
        ("STOP_MARKET", "BUY", 95, 100, True),
        ("TAKE_PROFIT_MARKET", "SELL", 90, 99, False),
        ("TAKE_PROFIT_MARKET", "SELL", 90, 100, True),
        ("TAKE_PROFIT_MARKET", "BUY", 100, 110, True),
    ],
)
def test_stop_trigger_directions(otype: str, side: str, lo: float, hi: float, fires: bool) -> None:
    assert m.stop_triggered(otype, side, 100.0, lo, hi) is fires


def test_open_average() -> None:
    assert m.open_average(1.0, 100.0, 1.0, 110.0) == pytest.approx(105.0)
    assert m.open_average(-1.0, 100.0, -3.0, 120.0) == pytest.approx(115.0)


@given(
    sym=st.sampled_from(sorted(margin_brackets())),
    size=st.floats(0.001, 2000.0),
    entry=st.floats(0.1, 150_000.0),
    leverage=st.integers(1, 20),
    long=st.booleans(),
)
def test_isolated_liquidation_identity(
    sym: str, size: float, entry: float, leverage: int, long: bool
) -> None:
    """At the liquidation price, margin balance equals maintenance margin (Binance's
    definition), and the price lies on the losing side of the entry."""
    table = margin_brackets()[sym]
    # only positions the leverage allows can exist (Binance rejects larger ones with -2027)
    assume(size * entry < max(b.notional_cap or 0 for b in table if b.max_leverage >= leverage))
    amt = size if long else -size
    wallet = size * entry / leverage
    lp = fm.liquidation_price(amt, entry, wallet, table)
    if lp == 0.0:  # a long with margin below its maintenance never liquidates above 0
        return
    assert (lp < entry) if long else (lp > entry)
    balance = wallet + m.unrealized_pnl(amt, entry, lp)
    assert balance == pytest.approx(fm.maintenance_margin(table, size * lp), rel=1e-6, abs=1e-6)
