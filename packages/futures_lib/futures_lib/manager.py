"""The risk manager both strategies share: sizing, leverage, liquidation safety and the
portfolio governor, as freqtrade callbacks.

A thin adapter: every decision is a pure function of ``futures_lib.risk``; this class only reads
freqtrade's state (configuration, wallet, trades, analysed candles) through its public API and
hands it over. Strategies mix it in before ``IStrategy`` and provide a ``stop_dist`` column:
the stop's distance from the entry as a fraction of the price, known at the signal candle.

How the pieces fit (freqtrade futures semantics, docs/strategies.md):

* ``stoploss`` is fixed and stake-relative, so the stake lost at the stop is ``stake * |sl|``
  whatever the leverage;
* ``leverage()`` sets ``L = |sl| / stop_dist``: the stop then sits ``stop_dist`` away in price;
* ``custom_stake_amount()`` sizes the stake so that the loss at the stop, fees included, is the
  governor's budget (``risk_per_trade`` scaled down with the drawdown, never more than the room
  above the drawdown floor once every open trade has hit its stop);
* ``confirm_trade_entry()`` refuses entries while the governor halts.

Governor state comes from the trade database: the realised curve (closed trades in close
order, fees and funding included), the open trades at the last candle close, and the
mark-to-market peak and worst drawdown kept on each open trade's custom data. A restart,
release switch or rollback re-reads the same database and reaches the same state. A drawdown
halt stays until the operator re-arms it by setting ``futures_risk.rearm_at`` (an ISO time,
UTC) and restarting the bot: the governor then measures from that time on.
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

from freqtrade.enums import RunMode
from freqtrade.persistence import Trade
from freqtrade.strategy import stoploss_from_absolute

from futures_lib import margin, risk

logger = logging.getLogger(__name__)

FEE_RATE = 0.0005  # Binance USDT-M taker; entries and stops are market orders in the worst case
PEAK_KEY = "governor_equity_peak"
DD_KEY = "governor_worst_drawdown"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RiskManagedMixin:
    """Mixed into an IStrategy that sets ``stoploss`` and provides the ``stop_dist`` column."""

    config: dict[str, Any]
    dp: Any
    wallets: Any
    timeframe: str
    stoploss: float

    # custom_stoploss tightens the open stops when they would take equity below the floor.
    # True here, so that freqtrade's configuration enables moving stops (on the exchange too);
    # the governor then switches the call on only while the stops exceed the room, because
    # freqtrade deep-copies the trade for every call (a quarter of a backtest's time otherwise).
    use_custom_stoploss = True

    _governor_last: risk.GovernorState | None = None
    _governor_day: tuple[str, float] | None = None
    _memory: tuple[float, float] = (0.0, 0.0)  # recorded (peak, worst drawdown)
    # ((realised equity, since), curve, (close time, profit) events, worst drawdown)
    _curve_cache: (
        tuple[tuple[float, datetime | None], list[float], list[tuple[datetime, float]], float]
        | None
    ) = None
    _written: dict[int, tuple[float, float]]  # what each open trade's custom data holds
    _published: tuple[float, bool] | None = None  # (monotonic time, halted) of the last write
    _closes: dict[tuple[str, datetime], float | None] | None = None  # (pair, loop time) -> close
    _lsr_cache: dict[str, tuple[float, float | None]]

    # --- configuration ---------------------------------------------------------------------
    def _risk_cfg(self) -> dict[str, Any]:
        return dict(self.config.get("futures_risk", {}) or {})

    @property
    def risk_per_trade(self) -> float:
        value = self._risk_cfg().get("risk_per_trade", risk.RISK_PER_TRADE_DEFAULT)
        return risk.validate_risk_per_trade(float(value))

    @property
    def max_leverage_cfg(self) -> float:
        return risk.validate_max_leverage(float(self._risk_cfg().get("max_leverage", 10.0)))

    @property
    def max_drawdown(self) -> float:
        value = self._risk_cfg().get("max_drawdown", risk.MAX_DRAWDOWN_DEFAULT)
        return risk.validate_max_drawdown(value)

    @property
    def daily_loss_limit(self) -> float:
        value = self._risk_cfg().get("daily_loss_limit", risk.DAILY_LOSS_LIMIT_DEFAULT)
        return risk.validate_daily_loss_limit(value)

    @property
    def rearm_at(self) -> datetime | None:
        raw = self._risk_cfg().get("rearm_at")
        if raw in (None, ""):
            return None
        try:
            return _utc(datetime.fromisoformat(str(raw).replace("Z", "+00:00")))
        except ValueError as exc:
            raise ValueError(
                f"futures_risk.rearm_at must be an ISO 8601 time such as "
                f"2026-12-05T12:00:00Z, got {raw!r}"
            ) from exc

    def bot_start(self, **kwargs: Any) -> None:
        # fail at start-up, with a message naming the key, on an out-of-range configuration
        _ = (
            self.risk_per_trade,
            self.max_leverage_cfg,
            self.max_drawdown,
            self.daily_loss_limit,
            self.rearm_at,
        )
        self._lsr_cache = {}
        self._governor_last = None
        self._governor_day = None
        self._curve_cache = None
        self._memory = (0.0, 0.0)
        self._written = {}

    # --- equity and the governor ---------------------------------------------------------------
    def _last_close(self, pair: str, now: datetime) -> float | None:
        """The pair's last analysed close, read once per pair and loop (backtests call the
        callbacks many times per candle, and each read slices the frame)."""
        if self._closes is None or len(self._closes) > 64:
            self._closes = {}
        key = (pair, now)
        if key not in self._closes:
            df, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
            empty = df is None or df.empty
            self._closes[key] = None if empty else float(df["close"].iloc[-1])
        return self._closes[key]

    def _counted(self, trade: Trade, since: datetime | None) -> bool:
        return since is None or _utc(trade.open_date_utc) >= since

    def _recorded(self, trades: list[Trade]) -> tuple[float, float]:
        """The highest mark-to-market peak and worst drawdown kept on the trades' custom data."""
        peak = worst = 0.0
        for t in trades:
            peak = max(peak, float(t.get_custom_data(PEAK_KEY, default=0.0) or 0.0))
            worst = max(worst, float(t.get_custom_data(DD_KEY, default=0.0) or 0.0))
        return peak, worst

    def _realised(
        self, realised_now: float, since: datetime | None
    ) -> tuple[list[float], list[tuple[datetime, float]], float]:
        """The realised equity curve (opening balance, then after each closed trade), the
        (close time, profit) of each closed trade and the curve's worst drawdown. Recomputed
        only when the realised equity moved, that is when a trade closed."""
        key = (round(realised_now, 8), since)
        cached = self._curve_cache
        if cached is not None and cached[0] == key:
            return cached[1], cached[2], cached[3]
        closed = [
            t
            for t in Trade.get_trades_proxy(is_open=False)
            if t.close_date_utc is not None and self._counted(t, since)
        ]
        closed.sort(key=lambda t: _utc(t.close_date_utc))
        events = [(_utc(t.close_date_utc), float(t.close_profit_abs or 0.0)) for t in closed]
        curve = [realised_now - sum(p for _, p in events)]
        for _, p in events:
            curve.append(curve[-1] + p)
        if cached is None:  # first look since start-up: what earlier runs recorded
            self._memory = self._recorded(
                [t for t in Trade.get_trades_proxy() if self._counted(t, since)]
            )
        worst = risk.max_drawdown_of(curve)
        self._curve_cache = (key, curve, events, worst)
        return curve, events, worst

    def governor(self, current_time: datetime) -> risk.GovernorState:
        """The governor's state now; keeps the mark-to-market peak on the open trades."""
        now = _utc(current_time)
        since = self.rearm_at
        realised_now = float(self.wallets.get_total_stake_amount()) if self.wallets else 0.0
        curve, events, curve_worst = self._realised(realised_now, since)
        peak_seen, worst_seen = self._memory

        opens = [t for t in Trade.get_trades_proxy(is_open=True) if t.is_open]
        unrealised = 0.0
        for t in opens:
            rate = self._last_close(t.pair, now)
            if rate is not None:
                unrealised += float(t.calc_profit(rate))
        equity = realised_now + unrealised

        today = now.strftime("%Y-%m-%d")
        if self._governor_day is None or self._governor_day[0] != today:
            # first look this UTC day: the equity now; after a restart, the realised equity at
            # the day's start (the open positions' value at midnight is not kept)
            if self._governor_last is not None:
                day_open = equity
            else:
                day_start = datetime(now.year, now.month, now.day, tzinfo=UTC)
                day_open = realised_now - sum(p for at, p in events if at >= day_start)
            self._governor_day = (today, day_open)

        state = risk.governor_state(
            equity=equity,
            high_water=risk.high_water_mark(curve, [peak_seen]),
            day_open_equity=self._governor_day[1],
            risk_per_trade=self.risk_per_trade,
            max_drawdown=self.max_drawdown,
            daily_loss_limit=self.daily_loss_limit,
            latched=max(worst_seen, curve_worst) >= self.max_drawdown,
        )
        self._memory = (max(peak_seen, state.high_water), max(worst_seen, state.drawdown))
        self.use_custom_stoploss = self._stops_exceed_room(state, opens, now)
        # keep them on every open trade, so that a restart finds them in the database
        for t in opens:
            if self._counted(t, since) and self._written.get(t.id) != self._memory:
                t.set_custom_data(PEAK_KEY, self._memory[0])
                t.set_custom_data(DD_KEY, self._memory[1])
                self._written[t.id] = self._memory
        self._report(state)
        self._publish(state, now)
        return state

    def _open_risk(self, opens: list[Trade], now: datetime, price: dict[int, float]) -> float:
        """What the open trades lose from the last close (or ``price`` by trade id) to their
        stops, exit fees included."""
        positions = []
        for t in opens:
            rate = price.get(t.id) or self._last_close(t.pair, now) or float(t.open_rate)
            positions.append((float(t.amount), rate, float(t.stop_loss), bool(t.is_short)))
        return risk.open_risk(positions, FEE_RATE)

    def _stops_exceed_room(
        self, state: risk.GovernorState, opens: list[Trade], now: datetime
    ) -> bool:
        room = risk.floor_room(state.equity, state.high_water, self.max_drawdown)
        return bool(opens) and self._open_risk(opens, now, {}) > room

    def _publish(self, state: risk.GovernorState, now: datetime) -> None:
        """Write the state to ``futures_risk.status_file`` for the risk monitor (live and
        dry-run; at most every 10 s, at once when halting or resuming). Not secret: 0644."""
        path = self._risk_cfg().get("status_file")
        if not path or self.dp is None or self.dp.runmode not in (RunMode.LIVE, RunMode.DRY_RUN):
            return
        last = getattr(self, "_published", None)
        if last is not None and last[1] == state.halted and time.monotonic() - last[0] < 10:
            return
        doc = {
            "time": now.timestamp(),
            "equity": state.equity,
            "high_water": state.high_water,
            "drawdown": state.drawdown,
            "max_drawdown": self.max_drawdown,
            "daily_loss": state.daily_loss,
            "daily_loss_limit": self.daily_loss_limit,
            "risk_scale": state.risk_scale,
            "risk_per_trade": self.risk_per_trade,
            "halted": state.halted,
            "reason": state.reason,
            "rearm_at": self._risk_cfg().get("rearm_at"),
        }
        try:
            tmp = f"{path}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(doc, fh)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
            self._published = (time.monotonic(), state.halted)
        except OSError as exc:  # the bot trades on; the monitor shows the status as stale
            logger.warning("risk governor status not written to %s: %s", path, exc)

    def _report(self, state: risk.GovernorState) -> None:
        """Log and notify (Telegram in live and dry-run) when entries halt or resume."""
        last = self._governor_last
        self._governor_last = state
        if last is not None and last.halted == state.halted:
            return
        if state.halted:
            msg = (
                f"Risk governor: new entries halted - {state.reason}. Equity {state.equity:.2f}, "
                f"high-water mark {state.high_water:.2f}. Open trades keep their stops."
            )
            logger.warning(msg)
        elif last is not None:
            msg = f"Risk governor: entries allowed again (risk scale {state.risk_scale:.2f})."
            logger.warning(msg)
        else:
            return
        if self.dp is not None and self.dp.runmode in (RunMode.LIVE, RunMode.DRY_RUN):
            self.dp.send_msg(msg, always_send=True)

    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        # once per loop (per candle in backtesting): tracks the mark-to-market peak
        self.governor(current_time)

    # --- freqtrade callbacks -------------------------------------------------------------------
    def _brackets(self, pair: str) -> tuple[margin.Bracket, ...]:
        # freqtrade keeps the exchange's leverage tiers on a private attribute (checked against
        # 2026.9); without it the conservative default bracket applies
        ex = getattr(self.dp, "_exchange", None) if self.dp else None
        tiers = getattr(ex, "_leverage_tiers", {}).get(pair) if ex is not None else None
        if not tiers:
            return risk.DEFAULT_BRACKETS
        return tuple(margin.Bracket.from_ccxt(t) for t in tiers)

    def _stop_dist(self, pair: str) -> float:
        df, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        if df is None or df.empty or "stop_dist" not in df.columns:
            return float("nan")
        return float(df["stop_dist"].iloc[-1])

    def leverage(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_leverage: float,
        max_leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> float:
        return risk.leverage_for_stop(
            self._stop_dist(pair),
            stoploss=self.stoploss,
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
        **kwargs: Any,
    ) -> float:
        state = self.governor(current_time)
        if state.halted:
            logger.info("entry %s %s refused by the risk governor: %s", side, pair, state.reason)
            return 0.0
        opens = Trade.get_trades_proxy(is_open=True)
        budget = risk.risk_budget(
            state.equity,
            state.high_water,
            self.risk_per_trade,
            self.max_drawdown,
            self._open_risk(opens, current_time, {}),
        )
        stake = risk.stake_for_budget(budget, self.stoploss, leverage, FEE_RATE)
        total = sum(t.stake_amount * t.leverage for t in opens)
        in_pair = sum(t.stake_amount * t.leverage for t in opens if t.pair == pair)
        cfg = self._risk_cfg()
        return risk.clamp_stake(
            stake,
            leverage=leverage,
            equity=state.equity,
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
        **kwargs: Any,
    ) -> float | None:
        """Keep the loss of all open stops within the room above the drawdown floor."""
        state = self._governor_last or self.governor(current_time)
        room = risk.floor_room(state.equity, state.high_water, self.max_drawdown)
        opens = Trade.get_trades_proxy(is_open=True)
        at_stops = self._open_risk(opens, current_time, {trade.id: current_rate})
        if at_stops <= room:
            return None
        factor = max(room, 0.0) / at_stops
        new_stop = risk.tightened_stop(current_rate, float(trade.stop_loss), trade.is_short, factor)
        stop: float = stoploss_from_absolute(
            new_stop, current_rate, is_short=trade.is_short, leverage=trade.leverage
        )
        return stop

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
        **kwargs: Any,
    ) -> bool:
        state = self.governor(current_time)
        if state.halted:
            logger.info("entry %s %s refused by the risk governor: %s", side, pair, state.reason)
            return False
        extreme = float(self._risk_cfg().get("long_short_ratio_extreme", 3.0))
        return risk.long_short_ratio_allows(side, self._long_short_ratio(pair), extreme)

    # --- live-only long/short-ratio filter --------------------------------------------------------
    def _long_short_ratio(self, pair: str) -> float | None:
        """Binance global long/short account ratio (live/dry-run only; None otherwise)."""
        if self.dp is None or self.dp.runmode not in (RunMode.LIVE, RunMode.DRY_RUN):
            return None
        now = time.time()
        cache = getattr(self, "_lsr_cache", None)
        if cache is None:
            cache = self._lsr_cache = {}
        cached = cache.get(pair)
        if cached and now - cached[0] < 300:
            return cached[1]
        ratio: float | None = None
        try:
            # ccxt: GET /futures/data/globalLongShortAccountRatio (private freqtrade attribute)
            api = self.dp._exchange._api
            rows = api.fetch_long_short_ratio_history(pair, "5m", None, 1)
            if rows:
                ratio = float(rows[-1]["longShortRatio"])
        except Exception as exc:  # endpoint down or unsupported: neutral
            logger.info("long/short ratio unavailable for %s: %s", pair, exc)
        cache[pair] = (now, ratio)
        return ratio
