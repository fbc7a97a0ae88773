"""Exchange faults through the local exchange's fault injection (/_control/faults).

For every mode: the fault is on for FAULT_S seconds while a forced entry is attempted through
it; the bots stay up (same MainPID, or restarted by systemd, never `failed`); when the fault
stops, a forced entry and exit through the exchange succeed again; no trade row is lost and
no pair gets a second open trade. The bots run dry-run, so they place no order on the
exchange: the exchange's order endpoint must see no request at all.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
import rel_stack as stack
from test_process_faults import PAIRS, record, same_rows

FAULT_S = float(os.environ.get("FT_RELIABILITY_FAULT_S", "30"))
PROBE_BOT = "rossc"

MODES: dict[str, dict[str, Any]] = {
    "429": {"retry_after_s": 5},
    "418": {"retry_after_s": 10},
    "5xx": {"status": 502},
    "maintenance": {},
    "latency": {"latency_ms": 4000},
    "drop": {},
    "clock": {},
}


def free_slot(bot: str) -> str:
    """A whitelisted pair without an open trade, exiting the newest trade when the bot is at
    max_open_trades (a dry-run test server: this only frees a slot for the probe)."""
    limit = stack.bot_api(bot, "show_config").json()["max_open_trades"]
    open_trades = [t for t in stack.trades(bot) if t["is_open"]]
    if len(open_trades) >= limit:
        exit_trade(bot, open_trades[-1]["id"])
    open_pairs = {t["pair"] for t in stack.trades(bot) if t["is_open"]}
    return next(p for p in PAIRS if p not in open_pairs)


def enter(bot: str, pair: str) -> stack.Answer:
    body = json.dumps({"pair": pair, "side": "long"})
    return stack.bot_api(bot, "forceenter", method="POST", body=body, timeout=60)


def exit_trade(bot: str, trade_id: int) -> None:
    body = json.dumps({"tradeid": str(trade_id), "ordertype": "market"})
    answer = stack.bot_api(bot, "forceexit", method="POST", body=body, timeout=60)
    assert answer.status == 200, f"forceexit {trade_id}: {answer.status} {answer.body[:200]}"
    closed = stack.wait_for(
        lambda: not next(t for t in stack.trades(bot) if t["id"] == trade_id)["is_open"], 90, 2
    )
    assert closed is not None, f"trade {trade_id} did not close after forceexit"


def order_posts() -> int:
    requests = stack.exchange_state()["requests"]
    return sum(n for route, n in requests.items() if route.startswith("POST /fapi/v1/order"))


def bot_requests() -> int:
    return sum(stack.exchange_state()["requests"].values())


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(MODES))
def test_exchange_fault(mode: str, no_faults: None) -> None:
    units = {b: stack.unit(f"freqtrade@{b}") for b in stack.BOTS}
    rows = {b: stack.trades(b) for b in stack.BOTS}
    posts = order_posts()
    pair = free_slot(PROBE_BOT)
    requests_before = bot_requests()

    spec = {"mode": mode, "duration_s": FAULT_S, **MODES[mode]}
    assert stack.exchange_fault(spec).status == 200
    t0 = time.monotonic()
    during = enter(PROBE_BOT, pair)
    states: set[str] = set()
    while time.monotonic() - t0 < FAULT_S:
        states |= {stack.unit(f"freqtrade@{b}")["ActiveState"] for b in stack.BOTS}
        time.sleep(3)
    hit = bot_requests() - requests_before
    stack.exchange_fault(None)

    # Recovery: a fresh entry and exit through the exchange work again.
    t1 = time.monotonic()
    entered: dict[str, Any] = {}

    def probe() -> bool:
        open_pairs = {t["pair"] for t in stack.trades(PROBE_BOT) if t["is_open"]}
        if pair in open_pairs:  # the entry during the fault went through (latency)
            entered.update(next(t for t in stack.trades(PROBE_BOT) if t["pair"] == pair))
            return True
        answer = enter(PROBE_BOT, pair)
        if answer.status == 200:
            entered["id"] = answer.json()["trade_id"]
            return True
        return False

    recovered = stack.wait_for(probe, 180, 5)
    recovery_s = time.monotonic() - t1
    if entered:
        exit_trade(PROBE_BOT, entered["id"])
    after = {b: stack.unit(f"freqtrade@{b}") for b in stack.BOTS}
    record(
        f"exchange-{mode}",
        fault_s=FAULT_S,
        requests_during_fault=hit,
        entry_during_fault=during.status,
        unit_states_during=sorted(states),
        recovered_after_s=round(recovery_s, 1),
        restarts={b: int(after[b]["NRestarts"]) - int(units[b]["NRestarts"]) for b in after},
    )
    assert hit > 0, "no request reached the exchange during the fault: nothing was tested"
    assert "failed" not in states
    assert recovered is not None, f"no successful entry within 180 s after the {mode} fault"
    for bot in stack.BOTS:
        assert after[bot]["ActiveState"] == "active", f"{bot}: {after[bot]}"
        state = stack.bot_api(bot, "show_config").json()["state"]
        assert state == "running", f"{bot} is {state} after the {mode} fault"
        assert not same_rows(rows[bot], stack.trades(bot))
        open_pairs = [t["pair"] for t in stack.trades(bot) if t["is_open"]]
        assert len(open_pairs) == len(set(open_pairs)), f"{bot}: two open trades on one pair"
    assert order_posts() == posts, "a dry-run bot sent an order to the exchange"
