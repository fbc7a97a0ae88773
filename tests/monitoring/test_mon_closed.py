"""Closed trades by leverage: bucketing, accumulation over pages and polls (one paging pass
that also sums funding), committed vs provisional trades when trades close out of id order or
between /status and /trades, a failed page adding nothing, and the metrics the collector renders.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_freqtrade import FakeFreqtrade
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from risk_exporter.client import BotApiError, make_client
from risk_exporter.closed import (
    LEVERAGE_BOUNDS,
    ClosedTrades,
    LeverageReturns,
    Totals,
    closed_since,
    leverage_bucket,
    leverage_label,
    open_trade_ids,
)
from risk_exporter.collector import RiskCollector
from risk_exporter.config import parse_config
from risk_exporter.poller import BotState, poll_once
from risk_exporter.state import PeakStore

NOW = 1795604410.0
COUNT = "risk_bot_closed_trades_by_leverage"
PROFIT = "risk_bot_closed_profit_by_leverage_usdt"
RATIO = "risk_bot_closed_profit_ratio_sum_by_leverage"
# An open trade with a higher id than every closed one: all closed trades are final at once.
OPEN_ABOVE = frozenset({10_000})


def trade(i: int, leverage: Any, profit: float, ratio: float, funding: float = 0.0) -> dict:
    """A closed trade as /api/v1/trades lists it (the fields the exporter reads)."""
    return {
        "trade_id": i,
        "is_open": False,
        "leverage": leverage,
        "profit_abs": profit,
        "close_profit_abs": profit,
        "profit_ratio": ratio,
        "funding_fees": funding,
    }


class ListApi:
    """/trades over an in-memory list: closed trades by id, `limit` from `offset`."""

    def __init__(self, trades: list[dict]) -> None:
        self.rows = trades
        self.offsets: list[int] = []
        self.fail_at: int | None = None

    def trades(self, limit: int | None = None, offset: int | None = None) -> Any:
        offset = offset or 0
        self.offsets.append(offset)
        if offset == self.fail_at:
            return None  # what FtRestClient returns when the connection fails
        rows = self.rows[offset : offset + (limit or 500)]
        return {"trades": rows, "trades_count": len(rows), "offset": offset}


# -- bucketing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leverage", "label"),
    [
        (None, "1x"),
        (math.nan, "1x"),
        (0.5, "1x"),
        (1, "1x"),
        (1.0, "1x"),
        (1.5, "2x"),
        (2, "2x"),
        (2.0001, "3x"),
        (3, "3x"),
        (3.0001, "5x"),
        (4, "5x"),
        (5, "5x"),
        (7, "10x"),
        (10, "10x"),
        (10.5, "20x"),
        (20, "20x"),
        (21, "50x"),
        (50, "50x"),
        (75, "125x"),
        (125, "125x"),
        (200, "125x"),  # not allowed by Binance; still bounded
    ],
)
def test_leverage_bucket_edges(leverage: float | None, label: str) -> None:
    assert leverage_label(leverage_bucket(leverage)) == label


def test_bucket_labels_are_a_fixed_set() -> None:
    assert [leverage_label(b) for b in LEVERAGE_BOUNDS] == [
        "1x", "2x", "3x", "5x", "10x", "20x", "50x", "125x",
    ]  # fmt: skip


# -- accumulation ---------------------------------------------------------------------------


def test_fold_sums_per_bucket_and_funding() -> None:
    trades = [
        trade(1, 3.0, 2.5, 0.05, funding=-0.25),  # paid 0.25
        trade(2, None, -1.0, -0.02),  # missing leverage → 1x
        trade(3, 2.5, 4.0, 0.125, funding=0.5),  # received 0.5
        trade(4, 3.0, -0.5, -0.01, funding=-1.0),
        {"trade_id": 5, "profit_abs": 1.0, "profit_ratio": 0.5},  # no leverage key
    ]
    got = Totals().fold(trades)
    assert got.funding_paid == pytest.approx(0.25 - 0.5 + 1.0)
    assert list(got.by_leverage) == [1, 3]
    assert got.by_leverage[1] == LeverageReturns(2, 0.0, 0.48)
    r3 = got.by_leverage[3]
    assert r3.trades == 3
    assert r3.profit_usdt == pytest.approx(6.0)
    assert r3.profit_ratio_sum == pytest.approx(0.165)
    assert Totals().fold([]) == Totals()
    assert Totals().fold(trades[:4]) + Totals().fold(trades[4:]) == got


def test_non_numeric_profit_fails_rather_than_counting_zero() -> None:
    with pytest.raises(ValueError):
        Totals().fold([trade(1, 2, "n/a", 0.1)])  # type: ignore[arg-type]


def test_pages_and_polls_count_each_trade_once() -> None:
    # An open trade above them all: every closed trade is final (committed) on first sight.
    rows = [trade(i, [1, 2, 5, 10, 125][i % 5], profit=i * 0.5, ratio=i * 0.01) for i in range(7)]
    api = ListApi(rows)
    first = closed_since(api, ClosedTrades(), OPEN_ABOVE, page=3)
    assert api.offsets == [0, 3, 6]  # the short third page ends the pass
    assert first.offset == 7
    assert first.committed == Totals().fold(rows)
    assert first.provisional == Totals()
    assert first.by_leverage[1] == LeverageReturns(2, 2.5, 0.05)  # trades 0 and 5

    # Nothing new: one request, same totals.
    api.offsets.clear()
    assert closed_since(api, first, OPEN_ABOVE, page=3) == first
    assert api.offsets == [7]

    # Two more trades closed: the next poll pages on from 7 and adds only those.
    rows += [trade(7, 1.0, 10.0, 0.25), trade(8, 20, -4.0, -0.5, funding=-2.0)]
    api.offsets.clear()
    second = closed_since(api, first, OPEN_ABOVE, page=3)
    assert api.offsets == [7]
    assert second.offset == 9
    assert second.committed == Totals().fold(rows)
    assert second.by_leverage[1] == LeverageReturns(3, 12.5, 0.3)
    assert second.by_leverage[20] == LeverageReturns(1, -4.0, -0.5)
    assert second.funding_paid == 2.0

    # A pass that ends exactly on a page boundary asks once more and gets an empty page.
    rows.append(trade(9, 3, 1.0, 0.01))
    api.offsets.clear()
    third = closed_since(api, second, OPEN_ABOVE, page=1)
    assert api.offsets == [9, 10]
    assert third.offset == 10
    assert third.by_leverage[3] == LeverageReturns(1, 1.0, 0.01)


def test_a_failed_page_adds_nothing() -> None:
    rows = [trade(i, 5, 1.0, 0.01) for i in range(5)]
    api = ListApi(rows)
    api.fail_at = 2  # the second page
    with pytest.raises(BotApiError):
        closed_since(api, ClosedTrades(), OPEN_ABOVE, page=2)
    assert api.offsets == [0, 2]
    api.fail_at = None
    got = closed_since(api, ClosedTrades(), OPEN_ABOVE, page=2)
    assert got.by_leverage == {5: LeverageReturns(5, 5.0, 0.05)}


@pytest.mark.parametrize(
    "payload", [[], {"detail": "Unauthorized"}, {"trades": {"a": 1}}, {"trades": [1, 2]}]
)
def test_unexpected_trades_payload_is_an_error(payload: Any) -> None:
    class Odd:
        def trades(self, limit: int | None = None, offset: int | None = None) -> Any:
            return payload

    with pytest.raises(BotApiError):
        closed_since(Odd(), ClosedTrades(), frozenset())


# -- trades closing out of id order --------------------------------------------------------


class SimBot:
    """A bot's trade table: `/status` lists the open trades, `/trades` the closed ones by id
    (freqtrade's order_by_id), `limit` from `offset`. `before_page[offset]` runs once just
    before that page is answered: a trade closing in the middle of a pass."""

    def __init__(self) -> None:
        self.rows: dict[int, dict] = {}
        self.offsets: list[int] = []
        self.before_page: dict[int, Callable[[], None]] = {}

    def open(self, i: int, leverage: Any, profit: float, ratio: float, funding: float) -> None:
        self.rows[i] = {**trade(i, leverage, profit, ratio, funding), "is_open": True}

    def close(self, *ids: int) -> None:
        for i in ids:
            self.rows[i]["is_open"] = False

    def status(self) -> list[dict]:
        return [dict(t) for _, t in sorted(self.rows.items()) if t["is_open"]]

    def trades(self, limit: int | None = None, offset: int | None = None) -> Any:
        offset = offset or 0
        self.offsets.append(offset)
        if (event := self.before_page.pop(offset, None)) is not None:
            event()
        closed = [dict(t) for _, t in sorted(self.rows.items()) if not t["is_open"]]
        rows = closed[offset : offset + (limit or 500)]
        return {"trades": rows, "trades_count": len(rows), "offset": offset}

    def totals(self, *ids: int) -> Totals:
        """What the totals over these trades must be (each counted once)."""
        return Totals().fold(self.rows[i] for i in sorted(ids))


def poll(
    bot: SimBot,
    closed: ClosedTrades,
    page: int = 500,
    after_status: Callable[[], None] | None = None,
) -> ClosedTrades:
    """One poll as poll_once makes it: /status first, then the /trades pass."""
    open_ids = open_trade_ids(bot.status())
    if after_status is not None:
        after_status()
    bot.offsets.clear()
    return closed_since(bot, closed, open_ids, page=page)


# Profits, ratios and funding are binary fractions below: sums are exact in any order.


def test_trade_closing_before_a_lower_id_one_is_counted_once() -> None:
    bot = SimBot()
    bot.open(1, 3, profit=-2.0, ratio=-0.25, funding=-0.25)
    bot.open(2, 3, profit=1.0, ratio=0.125, funding=-0.5)
    bot.open(3, 10, profit=4.0, ratio=0.5, funding=0.75)  # receives funding
    c = poll(bot, ClosedTrades())
    assert c.total == Totals()

    # 2 closes first: listed, but 1 (lower id) may still close in front of it: provisional.
    bot.close(2)
    for _ in range(2):
        c = poll(bot, c)
        assert bot.offsets == [0]
        assert (c.offset, c.committed) == (0, Totals())
        assert c.total == bot.totals(2)
        assert c.by_leverage == {3: LeverageReturns(1, 1.0, 0.125)}
        assert c.funding_paid == 0.5

    # 1 closes and lands before 2 in the list: both now below the lowest open id (3): final.
    bot.close(1)
    for _ in range(2):
        c = poll(bot, c)
        assert c.offset == 2
        assert c.committed == bot.totals(1, 2)
        assert c.provisional == Totals()
        assert c.by_leverage == {3: LeverageReturns(2, -1.0, -0.125)}
        assert c.funding_paid == 0.75
    assert bot.offsets == [2]  # committed trades are not read again

    # 3 closes (nothing open any more): committed on the poll after it was first seen.
    bot.close(3)
    c = poll(bot, c)
    assert (c.offset, c.total) == (3, bot.totals(1, 2, 3))
    assert c.by_leverage == {3: LeverageReturns(2, -1.0, -0.125), 10: LeverageReturns(1, 4.0, 0.5)}
    assert c.funding_paid == 0.0
    assert poll(bot, c) == c


def test_trade_closing_between_status_and_trades_is_counted_once() -> None:
    bot = SimBot()
    bot.open(1, 2, profit=1.0, ratio=0.125, funding=-0.5)
    bot.open(2, 5, profit=-1.5, ratio=-0.25, funding=-1.0)
    # /status still lists 2 as open (with its funding); by the first /trades page it closed.
    c = poll(bot, ClosedTrades(), after_status=lambda: bot.close(2))
    assert c.total == Totals()  # counted as open by this poll, not also as closed
    c = poll(bot, c)
    assert (c.offset, c.total) == (0, bot.totals(2))  # 1 still open: provisional

    # The same for 1, the lowest open id: listed in front of 2, still nothing committed.
    c = poll(bot, c, after_status=lambda: bot.close(1))
    assert (c.offset, c.total) == (0, bot.totals(2))
    for _ in range(2):
        c = poll(bot, c)
        assert (c.offset, c.committed, c.provisional) == (2, bot.totals(1, 2), Totals())
        assert c.funding_paid == 1.5


def test_no_open_trades_at_status_commits_nothing_opened_since() -> None:
    bot = SimBot()
    bot.open(1, 1, profit=1.0, ratio=0.125, funding=0.0)
    bot.close(1)
    c = poll(bot, ClosedTrades())
    assert (c.offset, c.provisional) == (0, bot.totals(1))  # nothing seen before: provisional
    c = poll(bot, c)
    assert (c.offset, c.committed, c.seen_id) == (1, bot.totals(1), 1)

    # Nothing open at /status. Then 2 opens, 3 opens and closes before the pass: 3 must stay
    # provisional, since 2 will close in front of it.
    def race() -> None:
        bot.open(2, 5, profit=-1.0, ratio=-0.125, funding=-0.5)
        bot.open(3, 5, profit=3.0, ratio=0.375, funding=-0.25)
        bot.close(3)

    c = poll(bot, c, after_status=race)
    assert (c.offset, c.provisional) == (1, bot.totals(3))
    bot.close(2)
    c = poll(bot, c)
    assert (c.offset, c.committed, c.provisional) == (3, bot.totals(1, 2, 3), Totals())
    assert c.by_leverage[5] == LeverageReturns(2, 2.0, 0.25)
    assert c.funding_paid == 0.75


def test_many_provisional_trades_over_pages_then_all_committed() -> None:
    bot = SimBot()
    bot.open(1, 10, profit=-3.0, ratio=-0.5, funding=-1.0)  # stays open a long time
    later = range(2, 14)
    for i in later:
        bot.open(i, [1, 2, 3][i % 3], profit=i * 0.25, ratio=i / 64, funding=-i / 16)
    bot.close(*later)
    c = ClosedTrades()
    for _ in range(3):  # each poll recounts them, from the committed offset 0
        c = poll(bot, c, page=5)
        assert bot.offsets == [0, 5, 10]
        assert (c.offset, c.committed) == (0, Totals())
        assert c.total == bot.totals(*later)
    before = c.total

    bot.close(1)  # lands first in the list; 2..13 stay behind it
    for _ in range(3):
        c = poll(bot, c, page=5)
        assert c.offset == 13
        assert c.provisional == Totals()
        assert c.total == bot.totals(1, *later)
        assert c.total == before + bot.totals(1)
    assert bot.offsets == [13]  # committed trades are not read again


def test_a_trade_closing_mid_pass_is_neither_doubled_nor_lost() -> None:
    bot = SimBot()
    for i in range(1, 10):
        bot.open(i, 2, profit=i * 0.5, ratio=i / 32, funding=-i / 8)
    bot.close(2, 4, 5, 6, 7, 8)  # 1, 3 and 9 open
    # 3 closes after the first page [2, 4, 5] was read: the list shifts, and the second page
    # starts with 5 again.
    bot.before_page[3] = lambda: bot.close(3)
    c = poll(bot, ClosedTrades(), page=3)
    assert bot.offsets == [0, 3, 6]
    assert (c.offset, c.committed) == (0, Totals())
    assert c.total == bot.totals(2, 4, 5, 6, 7, 8)  # 5 once; 3 is left to the next poll
    c = poll(bot, c, page=3)
    assert c.total == bot.totals(2, 3, 4, 5, 6, 7, 8)
    bot.close(1, 9)
    c = poll(bot, c, page=3)
    # Nothing open, and the last poll saw id 9 (open then): 1..9 are final.
    assert (c.offset, c.committed) == (9, bot.totals(*range(1, 10)))


@pytest.mark.parametrize("seed", range(5))
def test_random_opens_and_closes_racing_the_polls(seed: int) -> None:
    """Trades open and close in random order, also between /status and /trades and between
    pages. Every poll counts each closed trade at most once, counts never fall, the committed
    part is the id-ordered list's first `offset` trades, and a poll with nothing racing it
    counts every closed trade exactly once."""
    rng = random.Random(seed)
    bot = SimBot()
    next_id = 1

    def churn() -> None:
        nonlocal next_id
        for _ in range(rng.randint(0, 3)):
            open_ids = [i for i, t in bot.rows.items() if t["is_open"]]
            if open_ids and rng.random() < 0.5:
                bot.close(rng.choice(open_ids))
            else:
                lev = rng.choice([1, 2, 3, 5, 10, 20, 50, 125])
                bot.open(next_id, lev, rng.randint(-8, 8) / 4, rng.randint(-8, 8) / 64,
                         rng.randint(-8, 8) / 16)  # fmt: skip
                next_id += 1

    c, counted = ClosedTrades(), 0
    for _ in range(60):
        churn()
        for offset in range(0, 40, 3):
            if rng.random() < 0.2:
                bot.before_page[offset] = churn
        c = poll(bot, c, page=3, after_status=churn if rng.random() < 0.5 else None)
        bot.before_page.clear()
        closed = sorted(i for i, t in bot.rows.items() if not t["is_open"])
        n = sum(r.trades for r in c.by_leverage.values())
        assert counted <= n <= len(closed)
        assert c.committed == bot.totals(*closed[: c.offset])
        counted = n
        if rng.random() < 0.3:
            c = poll(bot, c, page=3)  # nothing racing it
            assert c.total == bot.totals(*closed)
            counted = len(closed)


# -- through the poller and the collector ---------------------------------------------------


class FlakyTrades:
    """The real client, whose /trades answers None (connection failed) at one offset."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.fail_at: int | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    def trades(self, limit: int | None = None, offset: int | None = None) -> Any:
        if (offset or 0) == self.fail_at:
            return None
        return self.api.trades(limit=limit, offset=offset)


def scrape(states: list[BotState], cfg: Any) -> dict[tuple[str, frozenset], float]:
    reg = CollectorRegistry()
    reg.register(RiskCollector(cfg, states, clock=lambda: NOW))
    out = {}
    for fam in text_string_to_metric_families(generate_latest(reg).decode()):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def by_leverage(samples: dict, name: str, bot: str) -> dict[str, float]:
    return {
        dict(labels)["leverage"]: v
        for (n, labels), v in samples.items()
        if n == name and dict(labels)["bot"] == bot
    }


def test_poller_and_collector_by_leverage(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("monitor-pw")
    # 1100 trades: three pages of 500 per poll. 2x: profit 0.5, ratio 0.01 (with 0.25
    # funding paid each); 10x: profit -1.0, ratio -0.02.
    many = [
        trade(100 + i, 2.0, 0.5, 0.01, funding=-0.25) if i % 2 else trade(100 + i, 10, -1.0, -0.02)
        for i in range(1100)
    ]
    with FakeFreqtrade() as fake:
        recorded = fake.data["trades"]["trades"]  # SOL long 10x, closed at -0.36195 USDT
        assert [(t["leverage"], t["profit_abs"]) for t in recorded] == [(10.0, -0.36195)]
        cfg = parse_config(
            {
                "bots": [
                    {"name": "a", "url": fake.url, "username": "monitor", "password_file": str(pw)}
                ]
            }
        )
        api = FlakyTrades(make_client(cfg.bots[0], 30))
        st = BotState(bot=cfg.bots[0], started_at=NOW)
        peaks = PeakStore(None)
        assert poll_once(st, api, cfg, peaks, NOW, lambda: 0.0)
        s = scrape([st], cfg)
        assert by_leverage(s, COUNT, "a") == {"10x": 1}
        assert by_leverage(s, PROFIT, "a") == {"10x": -0.36195}
        assert by_leverage(s, RATIO, "a") == {"10x": recorded[0]["profit_ratio"]}

        # A second poll with nothing new counts nothing twice.
        assert poll_once(st, api, cfg, peaks, NOW + 15, lambda: 0.0)
        assert by_leverage(scrape([st], cfg), COUNT, "a") == {"10x": 1}

        # 1100 more trades close; the poll fails on its second page: nothing is added. (The
        # recording's trade 2 is open: every closed trade is provisional, paged from 0.)
        fake.data["trades"]["trades"] = recorded + many
        before = st.closed
        api.fail_at = 500
        assert not poll_once(st, api, cfg, peaks, NOW + 30, lambda: 0.0)
        assert st.closed is before
        s = scrape([st], cfg)
        assert s[("risk_bot_up", frozenset({("bot", "a")}))] == 0
        assert by_leverage(s, COUNT, "a") == {"10x": 1}  # still emitted while down

        # The next polls page them all again, counting each once.
        api.fail_at = None
        assert poll_once(st, api, cfg, peaks, NOW + 45, lambda: 0.0)
        assert poll_once(st, api, cfg, peaks, NOW + 60, lambda: 0.0)
    assert (st.closed.offset, st.closed.committed) == (0, Totals())
    s = scrape([st], cfg)
    assert by_leverage(s, COUNT, "a") == {"2x": 550, "10x": 551}
    profit = by_leverage(s, PROFIT, "a")
    assert profit["2x"] == pytest.approx(275.0)
    assert profit["10x"] == pytest.approx(-550.0 - 0.36195)
    ratio = by_leverage(s, RATIO, "a")
    assert ratio["2x"] == pytest.approx(5.5)
    assert ratio["10x"] == pytest.approx(-11.0 + recorded[0]["profit_ratio"])
    # Mean return per trade, as PromQL would divide it.
    assert ratio["2x"] / by_leverage(s, COUNT, "a")["2x"] == pytest.approx(0.01)
    # The same pass summed the funding: closed 550 x 0.25 paid + the open positions'.
    open_paid = st.snapshot.open_funding_paid if st.snapshot else math.nan
    assert s[("risk_bot_funding_fees_paid_usdt", frozenset({("bot", "a")}))] == pytest.approx(
        137.5 + open_paid
    )


class ClosesAfterStatus:
    """The real client; `event` runs once right after /status answered: a trade closing
    between the /status and /trades requests of one poll."""

    def __init__(self, api: Any, event: Callable[[], None]) -> None:
        self.api = api
        self.event: Callable[[], None] | None = event

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    def status(self) -> Any:
        out = self.api.status()
        if self.event is not None:
            self.event()
            self.event = None
        return out


def test_funding_of_a_trade_closing_mid_poll_is_counted_once(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("monitor-pw")
    with FakeFreqtrade() as fake:
        bot = {"name": "a", "url": fake.url, "username": "monitor", "password_file": str(pw)}
        cfg = parse_config({"bots": [bot]})
        fake.update_position("ADA/USDT:USDT", funding_fees=-1.5)  # trade 6, 2x: paid 1.5
        ada = next(t for t in fake.data["status"] if t["trade_id"] == 6)

        def close_ada() -> None:
            with fake.lock:
                fake.data["status"].remove(ada)
                closed = {**ada, "is_open": False, "funding_fees": -1.75, "profit_abs": 2.0}
                fake.data["trades"]["trades"].append(closed)  # after trade 4: id order

        api = ClosesAfterStatus(make_client(cfg.bots[0], 2), close_ada)
        st = BotState(bot=cfg.bots[0], started_at=NOW)
        peaks = PeakStore(None)
        funding = ("risk_bot_funding_fees_paid_usdt", frozenset({("bot", "a")}))

        # /status saw ADA open (1.5 paid), /trades already lists it closed: counted as open.
        assert poll_once(st, api, cfg, peaks, NOW, lambda: 0.0)
        assert st.snapshot is not None and st.snapshot.open_funding_paid == 1.5
        s = scrape([st], cfg)
        assert s[funding] == 1.5
        assert by_leverage(s, COUNT, "a") == {"10x": 1}

        # From the next poll on: closed (1.75 paid), no longer open; provisional, as trade 2
        # is still open.
        for t in (NOW + 15, NOW + 30):
            assert poll_once(st, api, cfg, peaks, t, lambda: 0.0)
            assert st.snapshot is not None and st.snapshot.open_funding_paid == 0.0
            s = scrape([st], cfg)
            assert s[funding] == 1.75
            assert by_leverage(s, COUNT, "a") == {"2x": 1, "10x": 1}
            assert by_leverage(s, PROFIT, "a") == {"2x": 2.0, "10x": -0.36195}
    assert st.closed.offset == 0


def test_collector_help_and_label_names(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("x")
    cfg = parse_config(
        {"bots": [{"name": n, "url": "http://127.0.0.1:9", "password_file": str(pw)} for n in "ab"]}
    )
    a, b = (BotState(bot=bot, started_at=NOW) for bot in cfg.bots)
    # Rendered: committed + provisional.
    a.closed = ClosedTrades(
        offset=1,
        committed=Totals().fold([trade(1, 125, 3.0, 0.3)]),
        provisional=Totals().fold([trade(3, 1, -1.0, -0.1)]),
    )
    reg = CollectorRegistry()
    reg.register(RiskCollector(cfg, [a, b], clock=lambda: NOW))
    fams = {f.name: f for f in text_string_to_metric_families(generate_latest(reg).decode())}
    for name in (COUNT, PROFIT, RATIO):
        fam = fams[name]
        assert fam.type == "gauge"
        assert "leverage" in fam.documentation
        # Bucket order, only buckets with trades, only the bot that has them.
        assert [(s.labels["bot"], s.labels["leverage"]) for s in fam.samples] == [
            ("a", "1x"),
            ("a", "125x"),
        ]
    assert [s.value for s in fams[PROFIT].samples] == [-1.0, 3.0]
    assert [s.value for s in fams[RATIO].samples] == [-0.1, 0.3]
    assert [s.value for s in fams[COUNT].samples] == [1.0, 1.0]
