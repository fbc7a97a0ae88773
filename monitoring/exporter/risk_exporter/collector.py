"""Prometheus collector: renders the in-memory bot states at scrape time (no API call on scrape;
the backup and governor status files are small local reads)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from . import __version__, riskmath
from .closed import LEVERAGE_BOUNDS, leverage_label
from .config import Config
from .governor import governor_metrics
from .poller import BotState, FundingRates
from .reconcile import Reconciliation
from .textfile import read_textfile

BOT = ["bot"]
POS = ["bot", "pair", "side"]
LEV = ["bot", "leverage"]

# name, help, attribute of Position
POSITION_GAUGES: tuple[tuple[str, str, str], ...] = (
    ("risk_position_leverage", "Leverage of the open position.", "leverage"),
    ("risk_position_notional_usdt", "Position size at mark price, in quote currency.", "notional"),
    ("risk_position_margin_usdt", "Collateral of the position (freqtrade stake).", "margin"),
    (
        "risk_position_maintenance_margin_usdt",
        "Notional x maintenance margin rate.",
        "maintenance_margin",
    ),
    (
        "risk_position_margin_ratio",
        "Maintenance margin / (margin + unrealised PnL); liquidation at 1.",
        "margin_ratio",
    ),
    (
        "risk_position_liquidation_price_usdt",
        "Liquidation price reported by freqtrade.",
        "liquidation_price",
    ),
    (
        "risk_position_liquidation_distance_ratio",
        "Adverse move left before liquidation, as a fraction of the mark price.",
        "liquidation_distance",
    ),
    ("risk_position_mark_price_usdt", "Current rate used by freqtrade.", "mark_price"),
    ("risk_position_entry_price_usdt", "Average entry price.", "entry_price"),
    (
        "risk_position_unrealized_pnl_usdt",
        "Unrealised PnL (freqtrade profit_abs).",
        "unrealized_pnl",
    ),
    (
        "risk_position_funding_fees_paid_usdt",
        "Funding paid by this position so far (negative: received).",
        "funding_paid",
    ),
    ("risk_position_open_timestamp_seconds", "When the position was opened.", "open_timestamp"),
    (
        "risk_position_stake_limit_ratio",
        "Margin / configured max_stake_per_trade_usdt.",
        "stake_limit_ratio",
    ),
)


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class RiskCollector(Collector):
    def __init__(
        self,
        cfg: Config,
        states: Sequence[BotState],
        funding: FundingRates | None = None,
        clock: Callable[[], float] = time.time,
        reconciliation: Reconciliation | None = None,
    ) -> None:
        self.cfg = cfg
        self.states = states
        self.funding = funding
        self.reconciliation = reconciliation
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        yield from self._exporter_metrics()
        yield from self._bot_metrics(now)
        yield from self._closed_metrics()
        yield from self._position_metrics()
        if self.funding is not None:
            yield from self._funding_metrics()
        if self.reconciliation is not None:
            yield from self._reconcile_metrics()
        files = {b.name: b.governor_status_file for b in self.cfg.bots if b.governor_status_file}
        if files:
            yield from governor_metrics(files, now)
        if self.cfg.backup_status_file is not None:
            ok = GaugeMetricFamily(
                "risk_backup_status_file_readable",
                "1 if the configured backup status textfile could be read.",
            )
            ok.add_metric([], 1.0 if self.cfg.backup_status_file.is_file() else 0.0)
            yield ok
            yield from read_textfile(self.cfg.backup_status_file)

    def _exporter_metrics(self) -> Iterator[Metric]:
        info = InfoMetricFamily("risk_exporter_build", "Risk exporter version.")
        info.add_metric([], {"version": __version__})
        yield info
        interval = _gauge("risk_exporter_poll_interval_seconds", "Configured poll interval.", [])
        interval.add_metric([], self.cfg.poll_interval_seconds)
        yield interval

    def _bot_metrics(self, now: float) -> Iterator[Metric]:
        g = {
            name: _gauge(name, doc, BOT)
            for name, doc in (
                ("risk_bot_up", "1 if the last poll of the bot's REST API succeeded."),
                ("risk_bot_last_success_timestamp_seconds", "Time of the last successful poll."),
                ("risk_bot_staleness_seconds", "Age of the values shown for this bot."),
                ("risk_bot_poll_duration_seconds", "Duration of the last poll."),
                ("risk_bot_running", "1 if freqtrade reports state 'running'."),
                ("risk_bot_last_process_timestamp_seconds", "freqtrade /health last_process."),
                ("risk_bot_equity_usdt", "Starting capital + all profit incl. open positions."),
                ("risk_bot_peak_equity_usdt", "Highest equity seen (persisted across restarts)."),
                ("risk_bot_drawdown_ratio", "(peak equity - equity) / peak equity."),
                ("risk_bot_starting_capital_usdt", "freqtrade's starting capital."),
                ("risk_bot_realized_pnl_usdt", "Profit of closed trades."),
                ("risk_bot_unrealized_pnl_usdt", "Sum of open positions' unrealised PnL."),
                ("risk_bot_daily_realized_pnl_usdt", "Realised profit of the current UTC day."),
                ("risk_bot_funding_fees_paid_usdt", "Cumulative funding paid, open + closed."),
                ("risk_bot_open_positions", "Number of open positions."),
                ("risk_bot_max_open_trades", "Configured limit of open positions."),
                ("risk_bot_open_positions_ratio", "Open positions / max_open_trades."),
                ("risk_bot_notional_usdt", "Gross exposure: sum of |notional|."),
                ("risk_bot_net_notional_usdt", "Net exposure: long minus short notional."),
                ("risk_bot_margin_usdt", "Sum of position margins."),
                ("risk_bot_margin_ratio", "Sum of maintenance margins / equity (cross view)."),
                ("risk_bot_exposure_limit_usdt", "Configured max_total_notional_usdt."),
                ("risk_bot_exposure_ratio", "Gross notional / max_total_notional_usdt."),
                ("risk_bot_max_stake_per_trade_usdt", "Configured max_stake_per_trade_usdt."),
                (
                    "risk_bot_liquidation_distance_threshold_ratio",
                    "Configured minimum liquidation distance (alert threshold).",
                ),
                ("risk_bot_live_daily_return_ratio", "Realised profit / capital / days live."),
                ("risk_bot_backtest_daily_return_ratio", "Backtest expectation per day."),
                ("risk_bot_live_vs_backtest_ratio", "Live daily return / backtest daily return."),
                ("risk_bot_start_timestamp_seconds", "When the bot started trading."),
            )
        }
        polls = CounterMetricFamily("risk_bot_polls", "Polls attempted.", labels=BOT)
        errors = CounterMetricFamily("risk_bot_poll_errors", "Polls that failed.", labels=BOT)
        exch = CounterMetricFamily(
            "risk_bot_exchange_errors",
            "Exchange error log records seen in freqtrade's /logs since exporter start.",
            labels=BOT,
        )
        info = InfoMetricFamily(
            "risk_bot",
            "Static facts about the bot.",
            labels=BOT,
        )
        for st in self.states:
            name = st.bot.name
            lbl = [name]
            with st.lock:
                snap = st.snapshot
                up, last, peak, drawdown = st.up, st.last_success, st.peak_equity, st.drawdown
                staleness, duration = st.staleness(now), st.poll_duration
                n_polls, n_err, n_exch = st.polls, st.poll_errors, st.exchange_errors
                closed_funding = st.closed.funding_paid
            g["risk_bot_up"].add_metric(lbl, 1.0 if up else 0.0)
            g["risk_bot_staleness_seconds"].add_metric(lbl, staleness)
            g["risk_bot_poll_duration_seconds"].add_metric(lbl, duration)
            g["risk_bot_liquidation_distance_threshold_ratio"].add_metric(
                lbl, self.cfg.liq_threshold(st.bot)
            )
            g["risk_bot_exposure_limit_usdt"].add_metric(
                lbl, st.bot.max_total_notional_usdt or math.nan
            )
            g["risk_bot_max_stake_per_trade_usdt"].add_metric(
                lbl, st.bot.max_stake_per_trade_usdt or math.nan
            )
            polls.add_metric(lbl, n_polls)
            errors.add_metric(lbl, n_err)
            exch.add_metric(lbl, n_exch)
            if last is not None:
                g["risk_bot_last_success_timestamp_seconds"].add_metric(lbl, last)
            if snap is None:
                continue
            info.add_metric(
                lbl,
                {
                    "strategy": snap.strategy,
                    "stake_currency": snap.stake_currency,
                    "trading_mode": snap.trading_mode,
                    "margin_mode": snap.margin_mode,
                    "dry_run": str(snap.dry_run).lower(),
                    "version": snap.version,
                },
            )
            mms = [p.maintenance_margin for p in snap.positions]
            values = {
                "risk_bot_running": 1.0 if snap.state == "running" else 0.0,
                "risk_bot_last_process_timestamp_seconds": snap.last_process_timestamp,
                "risk_bot_equity_usdt": snap.equity,
                "risk_bot_peak_equity_usdt": math.nan if peak is None else peak,
                "risk_bot_drawdown_ratio": drawdown,
                "risk_bot_starting_capital_usdt": snap.starting_capital,
                "risk_bot_realized_pnl_usdt": snap.realized_pnl,
                "risk_bot_unrealized_pnl_usdt": snap.unrealized_pnl,
                "risk_bot_daily_realized_pnl_usdt": snap.daily_realized_pnl,
                "risk_bot_funding_fees_paid_usdt": snap.open_funding_paid + closed_funding,
                "risk_bot_open_positions": float(len(snap.positions)),
                "risk_bot_max_open_trades": snap.max_open_trades,
                "risk_bot_open_positions_ratio": riskmath.ratio(
                    len(snap.positions), snap.max_open_trades
                ),
                "risk_bot_notional_usdt": snap.notional,
                "risk_bot_net_notional_usdt": snap.net_notional,
                "risk_bot_margin_usdt": snap.margin,
                "risk_bot_margin_ratio": riskmath.account_margin_ratio(mms, snap.equity),
                "risk_bot_exposure_ratio": riskmath.ratio(
                    snap.notional, st.bot.max_total_notional_usdt
                ),
                "risk_bot_live_daily_return_ratio": snap.live_daily_return,
                "risk_bot_backtest_daily_return_ratio": snap.expected_daily_return,
                "risk_bot_live_vs_backtest_ratio": riskmath.live_vs_backtest(
                    snap.live_daily_return, snap.expected_daily_return
                ),
                "risk_bot_start_timestamp_seconds": snap.bot_start_timestamp,
            }
            for key, value in values.items():
                g[key].add_metric(lbl, value)
        yield info
        yield from g.values()
        yield polls
        yield errors
        yield exch

    def _closed_metrics(self) -> Iterator[Metric]:
        """Returns of closed trades per leverage bucket; a bucket appears with its first trade
        and stays (the totals only grow)."""
        count = _gauge(
            "risk_bot_closed_trades_by_leverage",
            "Closed trades, by leverage bucket (smallest of "
            + ",".join(map(str, LEVERAGE_BOUNDS))
            + "x >= leverage).",
            LEV,
        )
        profit = _gauge(
            "risk_bot_closed_profit_by_leverage_usdt",
            "Realised profit of closed trades (sum of profit_abs), by leverage bucket.",
            LEV,
        )
        ratio = _gauge(
            "risk_bot_closed_profit_ratio_sum_by_leverage",
            "Sum of closed trades' profit ratios (fees included), by leverage bucket; "
            "divide by risk_bot_closed_trades_by_leverage for the mean return per trade.",
            LEV,
        )
        for st in self.states:
            with st.lock:
                closed = st.closed
            for bound, r in closed.by_leverage.items():
                lbl = [st.bot.name, leverage_label(bound)]
                count.add_metric(lbl, float(r.trades))
                profit.add_metric(lbl, r.profit_usdt)
                ratio.add_metric(lbl, r.profit_ratio_sum)
        yield count
        yield profit
        yield ratio

    def _position_metrics(self) -> Iterator[Metric]:
        fams = [(_gauge(n, d, POS), attr) for n, d, attr in POSITION_GAUGES]
        for st in self.states:
            with st.lock:
                snap = st.snapshot
            if snap is None:
                continue
            for p in snap.positions:
                lbl = [st.bot.name, p.pair, p.side]
                for fam, attr in fams:
                    value = getattr(p, attr)
                    # An unknown liquidation price is absent, not NaN: keeps rules simple.
                    if isinstance(value, float) and math.isnan(value) and "liquidation" in attr:
                        continue
                    fam.add_metric(lbl, value)
        for fam, _ in fams:
            yield fam

    def _reconcile_metrics(self) -> Iterator[Metric]:
        assert self.reconciliation is not None
        rec = self.reconciliation
        with rec.lock:
            up, found, errors, last = rec.up, dict(rec.mismatches), rec.errors, rec.last_success
            closed, close_errors = dict(rec.closed), rec.close_errors
        g_up = _gauge(
            "risk_exchange_reconcile_up",
            "1 if the last reconciliation read the account and every bot's trades.",
            [],
        )
        g_up.add_metric([], 1.0 if up else 0.0)
        yield g_up
        count = _gauge(
            "risk_exchange_mismatched_symbols",
            "Symbols where the account's position differs from the live bots' open trades.",
            [],
        )
        count.add_metric([], float(len(found)))
        yield count
        diff = _gauge(
            "risk_exchange_position_mismatch",
            "Account position minus the live bots' open amount (base units, long > 0): > 0 a "
            "position no bot knows (it may have no stop), < 0 a trade without a position.",
            ["symbol"],
        )
        for symbol, amount in sorted(found.items()):
            diff.add_metric([symbol], amount)
        yield diff
        fails = CounterMetricFamily(
            "risk_exchange_reconcile_errors", "Reconciliations that could not read the account."
        )
        fails.add_metric([], float(errors))
        yield fails
        if rec.closer is not None:
            done = CounterMetricFamily(
                "risk_exchange_orphans_closed",
                "Positions no live bot knew, closed by a reduce-only market order.",
                labels=["symbol"],
            )
            for symbol, n in sorted(closed.items()):
                done.add_metric([symbol], float(n))
            yield done
            refused = CounterMetricFamily(
                "risk_exchange_orphan_close_errors", "Closes of such positions that failed."
            )
            refused.add_metric([], float(close_errors))
            yield refused
        if last is not None:
            ts = _gauge(
                "risk_exchange_reconcile_last_success_timestamp_seconds",
                "Time of the last complete reconciliation.",
                [],
            )
            ts.add_metric([], last)
            yield ts

    def _funding_metrics(self) -> Iterator[Metric]:
        assert self.funding is not None
        rate = _gauge(
            "risk_funding_rate_ratio",
            "Funding rate of the current period for pairs with open positions.",
            ["pair"],
        )
        nxt = _gauge(
            "risk_funding_next_timestamp_seconds", "Next funding settlement time.", ["pair"]
        )
        side = _gauge(
            "risk_position_funding_rate_cost_ratio",
            "Funding rate signed as cost for this position: positive means it pays.",
            POS,
        )
        pairs: set[str] = set()
        for st in self.states:
            with st.lock:
                snap = st.snapshot
            for p in snap.positions if snap else ():
                fr = self.funding.for_pair(p.pair)
                if fr is None:
                    continue
                # Longs pay a positive rate, shorts receive it.
                side.add_metric(
                    [st.bot.name, p.pair, p.side], fr[0] if p.side == "long" else -fr[0]
                )
                if p.pair not in pairs:
                    pairs.add(p.pair)
                    rate.add_metric([p.pair], fr[0])
                    nxt.add_metric([p.pair], fr[1])
        yield rate
        yield nxt
        yield side
