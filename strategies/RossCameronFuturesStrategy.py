"""RSI(14) + Bollinger Bands(20, 2) reversal for Binance USDT-M perpetuals, long and short.

Long: RSI below ``buy_rsi`` and close near or below the lower band (%B <= ``buy_pb``), funding
not against the long (classified by the shared risk module: negative or neutral funding
allows longs), and the weekly 8h mark-price trend not in free fall.
Short: mirrored (RSI above ``short_rsi``, %B >= ``short_pb``, positive or neutral funding).
Funding-rate and mark candles arrive through the data provider (``informative_pairs``), in
backtesting and live alike. See docs/strategies.md.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import talib.abstract as ta
from freqtrade.strategy import (
    BooleanParameter,
    DecimalParameter,
    IntParameter,
    IStrategy,
)
from pandas import DataFrame

# freqtrade loads strategies by path; make the shared modules next to this file importable
# (also in hyperopt worker processes).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.append(_HERE)

import futures_features as ff  # noqa: E402
import futures_risk as risk  # noqa: E402
from futures_data import FuturesDataMixin  # noqa: E402


class RossCameronFuturesStrategy(FuturesDataMixin, IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "15m"
    can_short = True

    startup_candle_count = 200
    process_only_new_candles = True

    minimal_roi: ClassVar[dict[str, float]] = {"0": 0.10, "120": 0.05, "360": 0.02, "720": 0.0}
    # stake-relative (freqtrade futures): the price moves |stoploss| / leverage to the stop
    stoploss = -0.10
    trailing_stop = False
    use_exit_signal = True
    exit_profit_only = False

    # entry (buy space holds long and short entry parameters)
    buy_rsi = IntParameter(15, 40, default=30, space="buy")
    buy_pb = DecimalParameter(-0.2, 0.3, decimals=2, default=0.05, space="buy")
    short_rsi = IntParameter(60, 85, default=70, space="buy")
    short_pb = DecimalParameter(0.7, 1.2, decimals=2, default=0.95, space="buy")
    mark_guard = DecimalParameter(0.02, 0.20, decimals=2, default=0.10, space="buy")
    use_funding_filter = BooleanParameter(default=True, space="buy", optimize=False)

    # exit
    exit_long_pb = DecimalParameter(0.4, 1.1, decimals=2, default=0.9, space="sell")
    exit_long_rsi = IntParameter(50, 80, default=65, space="sell")
    exit_short_pb = DecimalParameter(-0.1, 0.6, decimals=2, default=0.1, space="sell")
    exit_short_rsi = IntParameter(20, 50, default=35, space="sell")

    # fixed leverage, made liquidation-safe by the risk module
    base_leverage = 3.0

    def informative_pairs(self):
        return self.futures_informative_pairs()

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        bb = ta.BBANDS(dataframe, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0)
        dataframe["bb_lower"] = bb["lowerband"]
        dataframe["bb_middle"] = bb["middleband"]
        dataframe["bb_upper"] = bb["upperband"]
        width = dataframe["bb_upper"] - dataframe["bb_lower"]
        dataframe["bb_pb"] = (dataframe["close"] - dataframe["bb_lower"]) / width.where(width > 0)
        dataframe["vol_24h"] = ff.daily_vol(dataframe["close"])

        pair = metadata["pair"]
        self.merge_futures_data(dataframe, pair)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        ok = (dataframe["volume"] > 0) & dataframe["bb_pb"].notna()
        trend = dataframe["mark_trend"].fillna(0.0)
        long_fund = dataframe["funding_bias"] != risk.FundingBias.SHORT_FAVOURABLE.value
        short_fund = dataframe["funding_bias"] != risk.FundingBias.LONG_FAVOURABLE.value
        if not self.use_funding_filter.value:
            long_fund = short_fund = ok
        long_cond = (
            ok
            & (dataframe["rsi"] < self.buy_rsi.value)
            & (dataframe["bb_pb"] <= self.buy_pb.value)
            & long_fund
            & (trend > -self.mark_guard.value)
        )
        short_cond = (
            ok
            & (dataframe["rsi"] > self.short_rsi.value)
            & (dataframe["bb_pb"] >= self.short_pb.value)
            & short_fund
            & (trend < self.mark_guard.value)
        )
        dataframe.loc[long_cond, ["enter_long", "enter_tag"]] = (1, "rsi_bb_long")
        dataframe.loc[short_cond, ["enter_short", "enter_tag"]] = (1, "rsi_bb_short")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        exit_long = (dataframe["bb_pb"] >= self.exit_long_pb.value) | (
            dataframe["rsi"] > self.exit_long_rsi.value
        )
        exit_short = (dataframe["bb_pb"] <= self.exit_short_pb.value) | (
            dataframe["rsi"] < self.exit_short_rsi.value
        )
        dataframe.loc[exit_long & (dataframe["volume"] > 0), "exit_long"] = 1
        dataframe.loc[exit_short & (dataframe["volume"] > 0), "exit_short"] = 1
        return dataframe

    def leverage(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_leverage: float,
        max_leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs,
    ) -> float:
        lev = min(self.base_leverage, max_leverage)
        # fixed leverage (vol 0 -> low tier, so only the caps and the liquidation check apply)
        return risk.choose_leverage(
            0.0,
            stoploss=self.stoploss,
            stake=0.0,
            max_leverage=max(1.0, min(lev, risk.MAX_LEVERAGE_MAX)),
            exchange_max_leverage=max_leverage,
            is_short=side == "short",
        )
