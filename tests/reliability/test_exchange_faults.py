"""Exchange faults through the local exchange's fault injection (/_control/faults).

For every mode: the fault is on for FAULT_S seconds while the bots keep polling the exchange
(each holds a resting limit entry, which freqtrade checks against the order book every loop).
Every bot must meet the fault, shown per bot and per route from the bot's own journal (the
exchange cannot tell the dry-run bots apart: same address, unsigned requests), and the
exchange's own count of requests the fault acted on must cover those routes; the risk
exporter's polls of premiumIndex count for neither. The bots stay up (same MainPID, or
restarted by systemd, never `failed`); when the fault stops, each bot completes a loop and
talks to the exchange again, still in the `running` state; no trade row is lost and no pair
gets a second open trade. The bots run dry-run, so they place no order on the exchange: its
order endpoint must see no request at all. The `clock` fault answers signed requests only,
which dry-run bots do not make: that case shows the fault met only the risk exporter's signed
reconciliation poll and the bots kept talking to the exchange through it, nothing more. The
monitor sees the episode: the risk exporter's risk_bot_exchange_errors_total grows for a bot
whose log shows exchange warnings.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import rel_stack as stack
from test_process_faults import record, same_rows

FAULT_S = float(os.environ.get("FT_RELIABILITY_FAULT_S", "20"))

MODES: dict[str, dict[str, Any]] = {
    "429": {"retry_after_s": 5},
    "418": {"retry_after_s": 10},
    "5xx": {"status": 502},
    "maintenance": {},
    # Every request waits 4 s: a bot whose loop makes several calls may complete no
    # order-book check in FAULT_S (seen once at 20 s), so this window is twice as long.
    "latency": {"latency_ms": 4000, "duration_s": 2 * FAULT_S},
    "drop": {},
    "clock": {},
}


def journal_errors(bot: str, since: float) -> int:
    out = stack.sh(
        f"journalctl -u freqtrade@{bot} --since @{int(since)} -o cat "
        "| grep -c -E ' - (WARNING|ERROR) - ' || true"
    )
    return int(out.strip() or 0)


def order_posts() -> int:
    requests = stack.exchange_state()["requests"]
    return sum(n for route, n in requests.items() if route.startswith("POST /fapi/v1/order"))


# Routes the risk exporter polls on its own (funding rates; the account's positions, signed,
# for the reconciliation, every 15 s): never evidence about a bot.
RECONCILE_ROUTE = "GET /fapi/v3/positionRisk"
MONITOR_POLL_S = 15  # monitoring_exporter_poll_interval_seconds
MONITOR_ROUTES = frozenset({"GET /fapi/v1/premiumIndex", RECONCILE_ROUTE})


def bot_requests() -> int:
    requests = stack.exchange_state()["requests"]
    return sum(n for route, n in requests.items() if route not in MONITOR_ROUTES)


Counts = dict[str, int]


def grown(before: Counts, after: Counts) -> Counts:
    return {r: n - before.get(r, 0) for r, n in after.items() if n > before.get(r, 0)}


# How a request failed by each fault reads in freqtrade's retrier warning,
# '<call>() returned exception: "<ccxt's text>". Retrying ...|Giving up.' (seen in the
# rehearsal's journals with freqtrade 2026.9 / ccxt 4.5). latency and clock fail nothing.
FAILED_BY = {
    "429": re.compile(r"binance 429 "),
    "418": re.compile(r"binance 418 "),
    "5xx": re.compile(rf"://\S+ {MODES['5xx']['status']} "),  # ccxt: "<url> 502 Bad Gateway"
    "maintenance": re.compile(r"OnMaintenance"),
    "drop": re.compile(r"Message: binance [A-Z]+ https?://\S+$"),  # a URL, and no answer
}
RETRIER = re.compile(r' - WARNING - (\w+)\(\) returned exception: "(.*)"\. (?:Retrying|Giving up)')
URL = re.compile(r"binance (GET|POST|PUT|DELETE) https?://[^/\s]+(/[^?\s\"]*)")
# ccxt words a 429, 418 or maintenance answer without the URL: the route of the call.
CALL_ROUTES = {"fetch_l2_order_book": "GET /fapi/v1/depth"}
# In dry-run these send nothing themselves: they repeat the failure of the order-book
# check inside them, which its own line already counts.
REPEATS = frozenset({"fetch_order", "fetch_stoploss_order", "fetch_order_or_stoploss_order"})
# Logged right after freqtrade fetched an open order, which for a dry-run limit entry is an
# order-book check (GET /fapi/v1/depth) answered without error.
ORDER_CHECK_ROUTE = "GET /fapi/v1/depth"


def failed_requests(bot: str, mode: str, since: float) -> Counts:
    """Per route, the bot's requests that failed with this fault's answer, from its journal:
    one retrier warning per failed attempt."""
    out: Counts = {}
    for _, text in stack.journal(f"freqtrade@{bot}", since):
        m = RETRIER.search(text)
        if not m or m[1] in REPEATS or not FAILED_BY[mode].search(m[2]):
            continue
        url = URL.search(m[2])
        route = f"{url[1]} {url[2]}" if url else CALL_ROUTES.get(m[1], f"{m[1]}()")
        out[route] = out.get(route, 0) + 1
    return out


def answered_checks(bot: str, trade_id: int, t_on: float, t_end: float) -> int:
    """Order-book checks of the bot's resting entry sent and answered while the fault was
    on. Each line follows an answer; the request behind the first line in the window may
    have left before the fault, so it is not counted: every later one was sent after the
    line before it."""
    mark = f"Found open order for Trade(id={trade_id},"
    lines = [at for at, text in stack.journal(f"freqtrade@{bot}", t_on) if mark in text]
    return max(0, len([at for at in lines if at <= t_end]) - 1)


# A resting entry sits this far below the market: it does not fill within a test.
RESTING_DISTANCE = 0.015


@pytest.fixture
def resting_orders() -> Iterator[dict[str, int]]:
    """One unfilled dry-run limit entry per bot, 1.5 % below the market. freqtrade checks an
    open order against the exchange's order book every loop (GET /fapi/v1/depth), so each bot
    talks to the exchange all through the fault, as a bot with open orders does; without one
    a dry-run bot between candles may not call the exchange at all. Removed afterwards."""
    prices = stack.exchange_state()["prices"]
    placed: dict[str, int] = {}
    for bot in stack.BOTS:
        busy = {t["pair"] for t in stack.bot_api(bot, "status").json()}
        free = [p for p in stack.bot_api(bot, "whitelist").json()["whitelist"] if p not in busy]
        assert free, f"{bot} holds a trade on every pair of its whitelist"
        pair = free[0]
        last = prices[pair.split("/")[0] + "USDT"]["last"]
        body = {"pair": pair, "side": "long", "ordertype": "limit"}
        body["price"] = round(last * (1 - RESTING_DISTANCE), 2)
        answer = stack.bot_api(bot, "forceenter", method="POST", body=json.dumps(body))
        assert answer.status == 200, f"{bot}: forceenter {body}: {answer}"
        placed[bot] = int(answer.json()["trade_id"])
    yield placed
    for bot, trade_id in placed.items():
        stack.bot_api(bot, f"trades/{trade_id}", method="DELETE")


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(MODES))
def test_exchange_fault(mode: str, no_faults: None, resting_orders: dict[str, int]) -> None:
    units = {b: stack.unit(f"freqtrade@{b}") for b in stack.BOTS}
    rows = {b: stack.trades(b) for b in stack.BOTS}
    posts = order_posts()
    faulted_before = stack.exchange_faulted().get(mode, {})
    monitored_before = stack.monitor_counter("risk_bot_exchange_errors_total")

    spec = {"mode": mode, "duration_s": FAULT_S, **MODES[mode]}
    fault_s = float(spec["duration_s"])
    sent = time.time()
    assert stack.exchange_fault(spec).status == 200
    start = time.time()  # on from here until it expires, fault_s after `sent` at the earliest
    t0 = time.monotonic()
    states: set[str] = set()
    while time.monotonic() - t0 < fault_s:
        states |= {stack.unit(f"freqtrade@{b}")["ActiveState"] for b in stack.BOTS}
        time.sleep(3)
    stack.exchange_fault(None)
    cleared = time.time()
    # Read after the fault is off, so that every request it acted on is in the count.
    faulted = grown(faulted_before, stack.exchange_faulted().get(mode, {}))
    errors_during = {b: journal_errors(b, start) for b in stack.BOTS}
    # Per bot and route: requests the fault failed (the bot's journal), or for latency and
    # clock, which fail nothing, order-book checks sent and answered inside the window.
    if mode in FAILED_BY:
        met = {b: failed_requests(b, mode, start) for b in stack.BOTS}
    else:
        end = sent + fault_s - 0.5
        checks = {b: answered_checks(b, resting_orders[b], start, end) for b in stack.BOTS}
        met = {b: {ORDER_CHECK_ROUTE: n} if n else {} for b, n in checks.items()}
    # The exporter's own polls are not the bots' (a bot's journal never names them anyway).
    met = {
        b: {r: n for r, n in routes.items() if r not in MONITOR_ROUTES} for b, routes in met.items()
    }
    # Routes named "METHOD /path"; a call whose failure names no URL and is not in
    # CALL_ROUTES stays in the record as "<call>()" but proves no route.
    bot_routes = sorted({r for routes in met.values() for r in routes if " /" in r})
    evidence = "failed requests" if mode in FAILED_BY else "answered order-book checks"
    requests_cleared = bot_requests()

    # Recovery: every bot completes a loop after the fault and talks to the exchange again
    # (answered normally: no fault is active any more).
    def recovered() -> bool:
        loops = all(stack.last_process(b) > cleared for b in stack.BOTS)
        return loops and bot_requests() - requests_cleared >= 5

    recovery_s = stack.wait_for(recovered, 180, 2)
    after = {b: stack.unit(f"freqtrade@{b}") for b in stack.BOTS}
    # The exporter reads each bot's log through its API every 15 s: give it two polls.
    loud = [b for b in stack.BOTS if errors_during[b] >= 3]

    def monitor_delta() -> dict[str, float]:
        now = stack.monitor_counter("risk_bot_exchange_errors_total")
        return {b: now.get(b, 0.0) - monitored_before.get(b, 0.0) for b in stack.BOTS}

    stack.wait_for(lambda: all(monitor_delta()[b] > 0 for b in loud), 45, 5)
    monitored = monitor_delta()
    record(
        f"exchange-{mode}",
        fault_s=fault_s,
        exchange_faulted_per_route=faulted,
        bots_met_fault=met,
        bot_evidence=evidence,
        bot_warnings_during_fault=errors_during,
        unit_states_during=sorted(states),
        recovered_after_s=None if recovery_s is None else round(recovery_s, 1),
        restarts={b: int(after[b]["NRestarts"]) - int(units[b]["NRestarts"]) for b in after},
        monitor_exchange_errors=monitored,
    )
    if mode == "clock":
        # It answers signed requests only; dry-run bots sign none, so it must have met none
        # of theirs. The exporter's signed reconciliation poll (every 15 s) meets it: the
        # fault was on. What this case shows: the bots kept talking to the exchange through it.
        on_bots = {r: n for r, n in faulted.items() if r not in MONITOR_ROUTES}
        assert on_bots == {}, f"the clock fault answered the bots' requests: {faulted}"
        if fault_s >= MONITOR_POLL_S + 3:  # a poll falls inside any window this long
            assert faulted.get(RECONCILE_ROUTE, 0) >= 1, f"clock met no signed poll: {faulted}"
    for bot in stack.BOTS:
        on_routes = sum(n for r, n in met[bot].items() if r in bot_routes)
        assert on_routes > 0, f"{bot}: no {evidence} on a bot route during {mode}: {met}"
    # The exchange's side: it applied the fault on each of those routes, at least as often
    # as the bots' journals together say (a journal cannot show more than it was answered).
    for route in bot_routes if mode != "clock" else []:
        claimed = sum(routes.get(route, 0) for routes in met.values())
        assert faulted.get(route, 0) >= claimed > 0, (
            f"the bots' journals show {claimed} {route} requests met by {mode}, "
            f"the exchange applied it to {faulted.get(route, 0)}: {faulted}"
        )
    assert "failed" not in states
    assert recovery_s is not None, f"the bots did not resume within 180 s after the {mode} fault"
    for bot in stack.BOTS:
        assert after[bot]["ActiveState"] == "active", f"{bot}: {after[bot]}"
        state = stack.bot_api(bot, "show_config").json()["state"]
        assert state == "running", f"{bot} is {state} after the {mode} fault"
        assert not same_rows(rows[bot], stack.trades(bot))
        open_pairs = [t["pair"] for t in stack.trades(bot) if t["is_open"]]
        assert len(open_pairs) == len(set(open_pairs)), f"{bot}: two open trades on one pair"
    assert order_posts() == posts, "a dry-run bot sent an order to the exchange"
    for bot in loud:
        assert monitored[bot] > 0, f"{bot} logged exchange warnings the monitor did not count"
