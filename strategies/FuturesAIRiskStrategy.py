"""Trend-pullback strategy for Binance USDT-M perpetuals driven by the shared risk module.

The "AI risk manager" is rule-based and transparent (no model): every position is sized so
that the stop costs ``risk_per_trade`` of equity, leverage follows the 24 h volatility tier and
is lowered until the stop sits safely before the isolated liquidation price, and entries only
go with (or neutral to) the funding rate and the 8h mark-price trend.

Signals: trend = 4h EMA(20) vs EMA(50) (4h futures candles through the data provider) agreeing
with 15m EMA(50)/EMA(200); long when RSI(14) crosses back up through ``buy_rsi_long`` in an
uptrend, short when it crosses down through ``buy_rsi_short`` in a downtrend. Exit on RSI
exhaustion or when the 4h trend turns; break-even stop after ``breakeven_trigger``.
Funding-rate and mark candles come through the data provider (``informative_pairs``).
A Binance long/short-ratio filter is applied in live/dry-run only (neutral in backtests).

Config (optional, bot config key ``futures_risk``; defaults shown):
    {"risk_per_trade": 0.01, "max_leverage": 10, "max_pair_exposure": 1.5,
     "max_total_exposure": 4.0, "liquidation_buffer": 0.1, "long_short_ratio_extreme": 3.0}
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import talib.abstract as ta
from freqtrade.enums import CandleType, RunMode
from freqtrade.persistence import Trade
from freqtrade.strategy import (
    DecimalParameter,
    IntParameter,
    IStrategy,
    stoploss_from_open,
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

logger = logging.getLogger(__name__)


class FuturesAIRiskStrategy(FuturesDataMixin, IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "15m"
    can_short = True

    startup_candle_count = 300
    process_only_new_candles = True
    trend_timeframe = "4h"

    # trend following: let winners run (trailing in custom_stoploss); ROI only for outliers
    minimal_roi: ClassVar[dict[str, float]] = {"0": 0.60, "2880": 0.30}
    # stake-relative (freqtrade futures): the price moves |stoploss| / leverage to the stop,
    # i.e. 1.5 % at 10x, 3 % at 5x, 7.5 % at 2x. Sizing: stake = risk * equity / |stoploss|.
    stoploss = -0.15
    use_custom_stoploss = True
    trailing_stop = False
    use_exit_signal = True

    buy_rsi_long = IntParameter(30, 55, default=40, space="buy")
    buy_rsi_short = IntParameter(45, 70, default=60, space="buy")
    buy_mark_trend = DecimalParameter(-0.02, 0.03, decimals=3, default=0.0, space="buy")

    exit_rsi_long = IntParameter(60, 90, default=75, space="sell")
    exit_rsi_short = IntParameter(10, 40, default=25, space="sell")
    breakeven_trigger = DecimalParameter(0.03, 0.15, decimals=2, default=0.06, space="sell")
    breakeven_lock = DecimalParameter(0.0, 0.03, decimals=3, default=0.01, space="sell")
    trail_distance = DecimalParameter(0.04, 0.20, decimals=2, default=0.08, space="sell")

    _lsr_cache: dict[str, tuple[float, float | None]]

    # --- configuration ---------------------------------------------------------------------
    def _risk_cfg(self) -> dict[str, Any]:
        return dict(self.config.get("futures_risk", {}) or {})

    @property
    def risk_per_trade(self) -> float:
        return risk.validate_risk_per_trade(
            float(self._risk_cfg().get("risk_per_trade", risk.RISK_PER_TRADE_DEFAULT))
        )

    @property
    def max_leverage_cfg(self) -> float:
        return risk.validate_max_leverage(float(self._risk_cfg().get("max_leverage", 10.0)))

    def bot_start(self, **kwargs) -> None:
        # fail at start-up, with a clear message, on an out-of-range configuration
        _ = self.risk_per_trade, self.max_leverage_cfg
        self._lsr_cache = {}

    # --- data --------------------------------------------------------------------------------
    def informative_pairs(self):
        pairs = self.dp.current_whitelist() if self.dp else []
        trend = [(pair, self.trend_timeframe, CandleType.FUTURES) for pair in pairs]
        return self.futures_informative_pairs() + trend

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        dataframe["ema_fast"] = ta.EMA(dataframe, timeperiod=50)
        dataframe["ema_slow"] = ta.EMA(dataframe, timeperiod=200)
        dataframe["vol_24h"] = ff.daily_vol(dataframe["close"], risk.VOL_WINDOW_CANDLES)
        pair = metadata["pair"]
        htf = self.dp.get_pair_dataframe(pair, self.trend_timeframe, CandleType.FUTURES)
        if htf is not None and not htf.empty:
            htf = htf[["date", "close"]].copy()
            htf["ema_fast"] = htf["close"].ewm(span=20, adjust=False).mean()
            htf["ema_slow"] = htf["close"].ewm(span=50, adjust=False).mean()
        ff.merge_completed(
            dataframe, htf, self.trend_timeframe, {"ema_fast": "htf_fast", "ema_slow": "htf_slow"}
        )
        self.merge_futures_data(dataframe, pair)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        ok = (dataframe["volume"] > 0) & dataframe["vol_24h"].notna()
        rsi, rsi_prev = dataframe["rsi"], dataframe["rsi"].shift(1)
        trend = dataframe["mark_trend"]
        up = (
            (dataframe["htf_fast"] > dataframe["htf_slow"])
            & (dataframe["ema_fast"] > dataframe["ema_slow"])
            & (dataframe["close"] > dataframe["ema_slow"])
        )
        down = (
            (dataframe["htf_fast"] < dataframe["htf_slow"])
            & (dataframe["ema_fast"] < dataframe["ema_slow"])
            & (dataframe["close"] < dataframe["ema_slow"])
        )
        long_fund = dataframe["funding_bias"] != risk.FundingBias.SHORT_FAVOURABLE.value
        short_fund = dataframe["funding_bias"] != risk.FundingBias.LONG_FAVOURABLE.value
        th_l, th_s = self.buy_rsi_long.value, self.buy_rsi_short.value
        long_cond = (
            ok
            & up
            & (rsi_prev < th_l)
            & (rsi >= th_l)
            & long_fund
            & (trend > self.buy_mark_trend.value)
        )
        short_cond = (
            ok
            & down
            & (rsi_prev > th_s)
            & (rsi <= th_s)
            & short_fund
            & (trend < -self.buy_mark_trend.value)
        )
        dataframe.loc[long_cond, ["enter_long", "enter_tag"]] = (1, "pullback_long")
        dataframe.loc[short_cond, ["enter_short", "enter_tag"]] = (1, "pullback_short")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        # leave on exhaustion or when the 4h trend turns; stops and ROI do the rest
        exit_long = (dataframe["rsi"] > self.exit_rsi_long.value) | (
            dataframe["htf_fast"] < dataframe["htf_slow"]
        )
        exit_short = (dataframe["rsi"] < self.exit_rsi_short.value) | (
            dataframe["htf_fast"] > dataframe["htf_slow"]
        )
        dataframe.loc[exit_long & (dataframe["volume"] > 0), "exit_long"] = 1
        dataframe.loc[exit_short & (dataframe["volume"] > 0), "exit_short"] = 1
        return dataframe

    # --- risk callbacks ------------------------------------------------------------------------
    def _equity(self) -> float:
        return float(self.wallets.get_total_stake_amount()) if self.wallets else 0.0

    def _brackets(self, pair: str) -> tuple[risk.Bracket, ...]:
        ex = getattr(self.dp, "_exchange", None) if self.dp else None
        tiers = getattr(ex, "_leverage_tiers", {}).get(pair) if ex is not None else None
        if not tiers:
            return risk.DEFAULT_BRACKETS
        return tuple(
            risk.Bracket(
                notional_floor=float(t["minNotional"]),
                notional_cap=None if t.get("maxNotional") is None else float(t["maxNotional"]),
                max_leverage=float(t["maxLeverage"]),
                mmr=float(t["maintenanceMarginRate"]),
                maint_amount=float(t.get("maintAmt") or 0.0),
            )
            for t in tiers
        )

    def _last_vol(self, pair: str) -> float:
        df, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        if df is None or df.empty or "vol_24h" not in df.columns:
            return float("nan")
        return float(df["vol_24h"].iloc[-1])

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
        stake = risk.risk_stake(self._equity(), self.risk_per_trade, self.stoploss)
        return risk.choose_leverage(
            self._last_vol(pair),
            stoploss=self.stoploss,
            stake=stake,
            max_leverage=self.max_leverage_cfg,
            exchange_max_leverage=max_leverage,
            brackets=self._brackets(pair),
            is_short=side == "short",
            liquidation_buffer=float(self._risk_cfg().get("liquidation_buffer", 0.1)),
        )

    def custom_stake_amount(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_stake: float,
        min_stake: float | None,
        max_stake: float,
        leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs,
    ) -> float:
        equity = self._equity()
        stake = risk.risk_stake(equity, self.risk_per_trade, self.stoploss)
        open_trades = Trade.get_trades_proxy(is_open=True)
        total = sum(t.stake_amount * t.leverage for t in open_trades)
        in_pair = sum(t.stake_amount * t.leverage for t in open_trades if t.pair == pair)
        cfg = self._risk_cfg()
        return risk.clamp_stake(
            stake,
            leverage=leverage,
            equity=equity,
            min_stake=min_stake,
            max_stake=max_stake,
            pair_notional_open=in_pair,
            total_notional_open=total,
            max_pair_exposure=float(cfg.get("max_pair_exposure", 1.5)),
            max_total_exposure=float(cfg.get("max_total_exposure", 4.0)),
        )

    def custom_stoploss(
        self,
        pair: str,
        trade: Trade,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        after_fill: bool,
        **kwargs,
    ) -> float | None:
        # current_profit and the returned value are stake-relative (leverage included):
        # break-even (+lock) after the trigger, then trail ``trail_distance`` behind the profit
        if current_profit >= self.breakeven_trigger.value:
            lock = max(self.breakeven_lock.value, current_profit - self.trail_distance.value)
            return stoploss_from_open(
                lock, current_profit, is_short=trade.is_short, leverage=trade.leverage
            )
        return None

    # --- live-only long/short-ratio filter --------------------------------------------------------
    def _long_short_ratio(self, pair: str) -> float | None:
        """Binance global long/short account ratio (live/dry-run only; None otherwise)."""
        if self.dp is None or self.dp.runmode not in (RunMode.LIVE, RunMode.DRY_RUN):
            return None
        now = time.time()
        cached = getattr(self, "_lsr_cache", {}).get(pair)
        if cached and now - cached[0] < 300:
            return cached[1]
        ratio: float | None = None
        try:
            api = self.dp._exchange._api  # ccxt: GET /futures/data/globalLongShortAccountRatio
            rows = api.fetch_long_short_ratio_history(pair, "5m", None, 1)
            if rows:
                ratio = float(rows[-1]["longShortRatio"])
        except Exception as exc:  # endpoint down or unsupported: neutral
            logger.info("long/short ratio unavailable for %s: %s", pair, exc)
        self._lsr_cache = getattr(self, "_lsr_cache", {})
        self._lsr_cache[pair] = (now, ratio)
        return ratio

    def confirm_trade_entry(
        self,
        pair: str,
        order_type: str,
        amount: float,
        rate: float,
        time_in_force: str,
        current_time: datetime,
        entry_tag: str | None,
        side: str,
        **kwargs,
    ) -> bool:
        extreme = float(self._risk_cfg().get("long_short_ratio_extreme", 3.0))
        return risk.long_short_ratio_allows(side, self._long_short_ratio(pair), extreme)
