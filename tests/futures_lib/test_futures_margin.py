"""futures_lib.margin: one Bracket type and Binance's margin math, shared by the strategies,
the risk monitor and the exchange stand-in."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import freqtrade.exchange as fx
import pytest
from futures_lib import margin
from futures_lib.margin import Bracket
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
WIRE = json.loads((ROOT / "exchange/replay_exchange/data/brackets.json").read_text())
CCXT = json.loads((Path(fx.__file__).parent / "binance_leverage_tiers.json").read_text())
BTC = [Bracket.from_binance(b) for b in WIRE["BTCUSDT"]]


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "ADAUSDT"])
def test_binance_and_ccxt_tables_give_the_same_brackets(symbol):
    """The stand-in serves Binance's wire table, freqtrade reads ccxt's: the same brackets."""
    pair = f"{symbol.removesuffix('USDT')}/USDT:USDT"
    wire = [Bracket.from_binance(b) for b in WIRE[symbol]]
    ccxt = [Bracket.from_ccxt(t) for t in CCXT[pair]]
    assert wire == ccxt


def test_bracket_for_takes_floor_inclusive_cap_exclusive():
    assert margin.bracket_for(BTC, 0).notional_floor == 0
    assert margin.bracket_for(BTC, 299_999.99).notional_cap == 300_000
    assert margin.bracket_for(BTC, 300_000).notional_floor == 300_000
    assert margin.bracket_for(BTC, 1e15) == BTC[-1]
    with pytest.raises(ValueError, match="no leverage brackets"):
        margin.bracket_for([], 1.0)


def test_maintenance_margin_is_continuous_across_brackets():
    """cum is what makes the tiered formula continuous at each cap."""
    for below, above in itertools.pairwise(BTC):
        cap = below.notional_cap
        assert cap == above.notional_floor
        left = cap * below.mmr - below.maint_amount
        assert margin.maintenance_margin(BTC, cap) == pytest.approx(left, rel=1e-9)
        assert margin.maintenance_margin(BTC, -cap) == margin.maintenance_margin(BTC, cap)


@given(
    entry=st.floats(1.0, 200_000.0),
    leverage=st.integers(1, 50),
    size=st.floats(0.001, 5.0),
    short=st.booleans(),
)
def test_isolated_liquidation_is_where_the_margin_meets_the_maintenance(
    entry, leverage, size, short
):
    """At Binance's liquidation price the isolated wallet plus the unrealised PnL equals the
    maintenance margin there, and the general solver agrees with the isolated form."""
    amt = -size if short else size
    wallet = entry * size / leverage
    lp = margin.liquidation_price(amt, entry, wallet, BTC)
    if lp <= 0:
        return  # a long at low leverage is never liquidated
    balance = wallet + amt * (lp - entry)
    assert balance == pytest.approx(margin.maintenance_margin(BTC, size * lp), rel=1e-6, abs=1e-6)
    b = margin.bracket_for(BTC, size * lp)
    iso = margin.isolated_liquidation_price(entry, leverage, short, b.mmr, b.maint_amount, size)
    assert iso == pytest.approx(lp, rel=1e-9)
    assert (lp > entry) if short else (lp < entry)
