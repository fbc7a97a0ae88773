"""Exchange faults through the local exchange's fault injection (/_control/faults).

For every mode: the fault is on for FAULT_S seconds while the bots keep polling the exchange
(each holds a resting limit entry, which freqtrade checks against the order book every loop);
they stay up (same MainPID, or restarted by systemd, never `failed`); when the fault stops,
each bot completes a loop and talks to the exchange again, still in the `running` state; no
trade row is lost and no pair gets a second open trade. The bots run dry-run, so they place
no order on the exchange: its order endpoint must see no request at all. The `clock` fault
answers signed requests only, which dry-run bots do not make: that case shows the bots
survive it, nothing more. The monitor sees the episode: the risk exporter's
risk_bot_exchange_errors_total grows for a bot whose log shows exchange warnings.
"""

from __future__ import annotations

import json
import os
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
    "latency": {"latency_ms": 4000},
    "drop": {},
    "clock": {},
}


def last_process(bot: str) -> float:
    """Unix time of the bot's last completed loop (/api/v1/health)."""
    return float(stack.bot_api(bot, "health").json()["last_process_ts"])


def journal_errors(bot: str, since: float) -> int:
    out = stack.sh(
        f"journalctl -u freqtrade@{bot} --since @{int(since)} -o cat "
        "| grep -c -E ' - (WARNING|ERROR) - ' || true"
    )
    return int(out.strip() or 0)


def order_posts() -> int:
    requests = stack.exchange_state()["requests"]
    return sum(n for route, n in requests.items() if route.startswith("POST /fapi/v1/order"))


def bot_requests() -> int:
    return sum(stack.exchange_state()["requests"].values())


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
    requests_before = bot_requests()
    monitored_before = stack.monitor_counter("risk_bot_exchange_errors_total")

    spec = {"mode": mode, "duration_s": FAULT_S, **MODES[mode]}
    assert stack.exchange_fault(spec).status == 200
    start = time.time()
    t0 = time.monotonic()
    states: set[str] = set()
    while time.monotonic() - t0 < FAULT_S:
        states |= {stack.unit(f"freqtrade@{b}")["ActiveState"] for b in stack.BOTS}
        time.sleep(3)
    hit = bot_requests() - requests_before
    errors_during = {b: journal_errors(b, start) for b in stack.BOTS}
    stack.exchange_fault(None)
    cleared = time.time()
    requests_cleared = bot_requests()

    # Recovery: every bot completes a loop after the fault and talks to the exchange again
    # (answered normally: no fault is active any more).
    def recovered() -> bool:
        loops = all(last_process(b) > cleared for b in stack.BOTS)
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
        fault_s=FAULT_S,
        requests_during_fault=hit,
        bot_warnings_during_fault=errors_during,
        unit_states_during=sorted(states),
        recovered_after_s=None if recovery_s is None else round(recovery_s, 1),
        restarts={b: int(after[b]["NRestarts"]) - int(units[b]["NRestarts"]) for b in after},
        monitor_exchange_errors=monitored,
    )
    assert hit > 0, "no request reached the exchange during the fault: nothing was tested"
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
