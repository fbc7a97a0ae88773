"""Trend following on 4h candles for Binance USDT-M perpetuals, long and short, sized and
halted by the shared risk manager.

Why this design (docs/strategies.md has the evidence, chosen on 2023-2024 data only):
time-series momentum is the best documented edge on crypto perpetuals, and a channel breakout
is its simplest causal form. On 4h candles a trade moves several percent, so the 0.1 % round
trip of taker fees costs about 0.04 R, where the earlier 15m pullback design paid most of its
edge in fees.

* Entry: the close breaks the highest high (long) or the lowest low (short) of the previous
  ``channel`` candles; funding must not be against the side (``funding_allows``).
* Exit: the close breaks the opposite ``exit_channel`` channel (a trailing exit that lets
  winners run), or the stop.
* Stop: ``stop_atr`` x ATR(14) from the entry, set through the leverage (futures_lib.manager):
  risk per trade is fixed in equity, the position size follows the volatility.

The "AI risk manager" is the portfolio governor and the sizing in futures_lib/manager.py, both
rule-based. A learned volatility forecast was tested as the stop's input and did not earn its
place (docs/strategies.md); no model ships.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import talib.abstract as ta
from freqtrade.strategy import BooleanParameter, DecimalParameter, IntParameter, IStrategy
from futures_lib import risk
from futures_lib.data import FuturesDataMixin
from futures_lib.manager import RiskManagedMixin
from pandas import DataFrame

if TYPE_CHECKING:
    from freqtrade.enums import CandleType


class FuturesAIRiskStrategy(
    RiskManagedMixin,
    FuturesDataMixin,
    IStrategy,  # type: ignore[misc]  # freqtrade ships no types: IStrategy is Any to mypy
):
    INTERFACE_VERSION = 3

    timeframe = "4h"
    can_short = True

    startup_candle_count = 200  # ATR(14) converges within 200 candles (recursive-analysis)
    process_only_new_candles = True

    # exits come from the channel and the stop; ROI never fires
    minimal_roi: ClassVar[dict[str, float]] = {"0": 100.0}
    # stake-relative: the stake lost at the stop. The leverage puts the stop stop_atr x ATR
    # away in price (L = 0.3 / distance), so liquidation lies about three times further away.
    stoploss = -0.30
    trailing_stop = False
    use_exit_signal = True

    channel = IntParameter(10, 60, default=20, space="buy")
    stop_atr = DecimalParameter(1.5, 4.0, decimals=1, default=3.0, space="buy")
    use_funding_filter = BooleanParameter(default=True, space="buy", optimize=False)
    exit_channel = IntParameter(5, 40, default=20, space="sell")

    def informative_pairs(self) -> list[tuple[str, str, CandleType]]:
        return self.futures_informative_pairs()

    def populate_indicators(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        dataframe["atr"] = ta.ATR(dataframe, timeperiod=14)
        dataframe["stop_dist"] = self.stop_atr.value * dataframe["atr"] / dataframe["close"]
        self.merge_futures_data(dataframe, metadata["pair"])
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        n = self.channel.value
        upper = dataframe["high"].rolling(n).max().shift(1)
        lower = dataframe["low"].rolling(n).min().shift(1)
        ok = (dataframe["volume"] > 0) & dataframe["stop_dist"].notna()
        long_fund = dataframe["funding_bias"] != risk.FundingBias.SHORT_FAVOURABLE.value
        short_fund = dataframe["funding_bias"] != risk.FundingBias.LONG_FAVOURABLE.value
        if not self.use_funding_filter.value:
            long_fund = short_fund = ok
        long_cond = ok & (dataframe["close"] > upper) & long_fund
        short_cond = ok & (dataframe["close"] < lower) & short_fund
        dataframe.loc[long_cond, ["enter_long", "enter_tag"]] = (1, "breakout_long")
        dataframe.loc[short_cond, ["enter_short", "enter_tag"]] = (1, "breakout_short")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        m = self.exit_channel.value
        exit_long = dataframe["close"] < dataframe["low"].rolling(m).min().shift(1)
        exit_short = dataframe["close"] > dataframe["high"].rolling(m).max().shift(1)
        dataframe.loc[exit_long & (dataframe["volume"] > 0), "exit_long"] = 1
        dataframe.loc[exit_short & (dataframe["volume"] > 0), "exit_short"] = 1
        return dataframe
