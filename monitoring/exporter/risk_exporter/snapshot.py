"""freqtrade REST responses → one immutable snapshot per bot. Pure: no I/O, `now` is passed."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from . import riskmath
from .config import BotConfig, Config


@dataclass(frozen=True)
class Position:
    trade_id: int
    pair: str
    side: str  # "long" | "short"
    leverage: float
    amount: float
    entry_price: float
    mark_price: float
    notional: float
    margin: float
    maintenance_margin: float
    margin_ratio: float
    liquidation_price: float
    liquidation_distance: float
    unrealized_pnl: float
    funding_paid: float
    open_timestamp: float
    stake_limit_ratio: float


@dataclass(frozen=True)
class BotSnapshot:
    taken_at: float
    stake_currency: str
    strategy: str
    trading_mode: str
    margin_mode: str
    dry_run: bool
    version: str
    state: str
    max_open_trades: float
    positions: tuple[Position, ...]
    starting_capital: float
    equity: float
    realized_pnl: float
    unrealized_pnl: float
    daily_realized_pnl: float
    open_funding_paid: float
    bot_start_timestamp: float
    last_process_timestamp: float
    live_daily_return: float
    expected_daily_return: float
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def notional(self) -> float:
        return sum(p.notional for p in self.positions)

    @property
    def net_notional(self) -> float:
        return sum(p.notional if p.side == "long" else -p.notional for p in self.positions)

    @property
    def margin(self) -> float:
        return sum(p.margin for p in self.positions)


def _f(value: Any, default: float = math.nan) -> float:
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def build_position(trade: dict[str, Any], cfg: Config, bot: BotConfig) -> Position:
    is_short = bool(trade.get("is_short"))
    amount = _f(trade.get("amount"), 0.0)
    mark = _f(trade.get("current_rate"), _f(trade.get("open_rate"), 0.0))
    pair = str(trade["pair"])
    notional = riskmath.notional(amount, mark)
    margin = _f(trade.get("stake_amount"), 0.0)
    upnl = _f(trade.get("profit_abs"), 0.0)
    mm = cfg.maintenance_margin(pair, notional)
    liq = _f(trade.get("liquidation_price"))
    return Position(
        trade_id=int(trade.get("trade_id", 0)),
        pair=pair,
        side="short" if is_short else "long",
        leverage=_f(trade.get("leverage"), 1.0),
        amount=amount,
        entry_price=_f(trade.get("open_rate")),
        mark_price=mark,
        notional=notional,
        margin=margin,
        maintenance_margin=mm,
        margin_ratio=riskmath.margin_ratio(mm, margin + upnl),
        liquidation_price=liq,
        liquidation_distance=riskmath.liquidation_distance(
            mark, None if math.isnan(liq) else liq, is_short
        ),
        unrealized_pnl=upnl,
        funding_paid=riskmath.funding_paid(trade.get("funding_fees")),
        open_timestamp=_f(trade.get("open_timestamp"), 0.0) / 1000.0,
        stake_limit_ratio=riskmath.ratio(margin, bot.max_stake_per_trade_usdt),
    )


def _today_abs_profit(daily: dict[str, Any] | None) -> float:
    rows = (daily or {}).get("data") or []
    # /daily lists the newest day first; with timescale=1 it is today (UTC).
    return _f(rows[0].get("abs_profit"), 0.0) if rows else 0.0


def build_snapshot(
    *,
    now: float,
    cfg: Config,
    bot: BotConfig,
    show_config: dict[str, Any],
    status: list[dict[str, Any]],
    balance: dict[str, Any],
    profit: dict[str, Any],
    daily: dict[str, Any] | None,
    health: dict[str, Any] | None,
) -> BotSnapshot:
    positions = tuple(build_position(t, cfg, bot) for t in status if t.get("is_open", True))
    starting = _f(balance.get("starting_capital"), 0.0)
    profit_all = _f(profit.get("profit_all_coin"), 0.0)
    realized = _f(profit.get("profit_closed_coin"), 0.0)
    # Equity as the bot sees it: its capital plus everything it made, open positions included.
    equity = starting + profit_all if starting > 0 else _f(balance.get("total"), 0.0)
    bot_start = _f(profit.get("bot_start_timestamp"), 0.0) / 1000.0
    if bot_start <= 0:
        bot_start = _f(profit.get("first_trade_timestamp"), 0.0) / 1000.0
    days = (now - bot_start) / 86400.0 if bot_start > 0 else 0.0
    expected = riskmath.expected_daily_return(
        profit_ratio=bot.backtest.profit_ratio,
        period_days=bot.backtest.period_days,
        daily_ratio=bot.backtest.expected_daily_return_ratio,
    )
    mot = bot.max_open_trades
    if mot is None:
        mot_raw = _f(show_config.get("max_open_trades"), math.inf)
        mot = None if math.isinf(mot_raw) or mot_raw < 0 else int(mot_raw)
    return BotSnapshot(
        taken_at=now,
        stake_currency=str(show_config.get("stake_currency", "")),
        strategy=str(show_config.get("strategy") or bot.strategy or ""),
        trading_mode=str(show_config.get("trading_mode", "")),
        margin_mode=str(show_config.get("margin_mode", "")),
        dry_run=bool(show_config.get("dry_run", False)),
        version=str(show_config.get("version", "")),
        state=str(show_config.get("state", "")),
        max_open_trades=math.nan if mot is None else float(mot),
        positions=positions,
        starting_capital=starting,
        equity=equity,
        realized_pnl=realized,
        unrealized_pnl=sum(p.unrealized_pnl for p in positions),
        daily_realized_pnl=_today_abs_profit(daily),
        open_funding_paid=sum(p.funding_paid for p in positions),
        bot_start_timestamp=bot_start,
        last_process_timestamp=_f((health or {}).get("last_process_ts"), math.nan),
        live_daily_return=riskmath.daily_return(realized, starting, days),
        expected_daily_return=expected,
    )


def count_exchange_errors(
    logs: dict[str, Any] | None, after_ms: float, patterns: tuple[str, ...]
) -> tuple[int, float]:
    """Count exchange error log records newer than `after_ms` (freqtrade's epoch in ms).

    A record counts when it is WARNING or worse and comes from freqtrade.exchange.* or names
    a ccxt/freqtrade exchange exception. Returns (count, newest epoch ms seen)."""
    newest = after_ms
    count = 0
    for rec in (logs or {}).get("logs") or []:
        # [formatted time, epoch ms, logger name, level, message]
        if len(rec) < 5:
            continue
        epoch = _f(rec[1], 0.0)
        newest = max(newest, epoch)
        if epoch <= after_ms or rec[3] not in ("WARNING", "ERROR", "CRITICAL"):
            continue
        name, msg = str(rec[2]), str(rec[4])
        if name.startswith("freqtrade.exchange") or any(p in msg for p in patterns):
            count += 1
    return count, newest
