"""The count of requests a fault acted on, per mode and route (`faulted` in /_control/state).

The reliability tests assert its growth instead of "some request arrived during the fault":
a request the fault did not touch (another path, an unsigned request under `clock`, one after
the fault's count ran out) must not be counted.
"""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest
import requests
from replay_exchange.faults import Faults
from rx_support import make_ccxt

KLINES = "/fapi/v1/klines?symbol=BTCUSDT&interval=1h&limit=5"
DEPTH = "/fapi/v1/depth?symbol=BTCUSDT&limit=5"

Counts = dict[str, dict[str, int]]


@pytest.fixture(autouse=True)
def clean(exchange_url: str) -> Iterator[None]:
    yield
    requests.delete(f"{exchange_url}/_control/faults", timeout=5)


def fault(url: str, **spec: object) -> None:
    r = requests.post(f"{url}/_control/faults", json=spec, timeout=5)
    assert r.status_code == 200, r.text


def faulted(url: str) -> Counts:
    counts: Counts = requests.get(f"{url}/_control/state", timeout=5).json()["faulted"]
    return counts


def growth(before: Counts, after: Counts) -> Counts:
    """The counts that grew, by how much (the server's counters are never reset)."""
    out: Counts = {}
    for mode, routes in after.items():
        for route, n in routes.items():
            d = n - before.get(mode, {}).get(route, 0)
            if d:
                out.setdefault(mode, {})[route] = d
    return out


def get(url: str, path: str) -> int:
    return requests.get(url + path, timeout=5).status_code


def test_counts_only_the_faulted_route(exchange_url: str) -> None:
    before = faulted(exchange_url)
    req_before = requests.get(f"{exchange_url}/_control/state", timeout=5).json()["requests"]
    fault(exchange_url, mode="5xx", duration_s=30, path="/fapi/v1/depth")
    assert get(exchange_url, KLINES) == 200
    assert [get(exchange_url, DEPTH) for _ in range(2)] == [500, 500]
    assert growth(before, faulted(exchange_url)) == {"5xx": {"GET /fapi/v1/depth": 2}}
    # The request counter saw the unfaulted klines request too: the two counters differ.
    req_after = requests.get(f"{exchange_url}/_control/state", timeout=5).json()["requests"]
    assert req_after["GET /fapi/v1/klines"] > req_before.get("GET /fapi/v1/klines", 0)


def test_nothing_counted_after_the_fault_is_spent_or_cleared(exchange_url: str) -> None:
    before = faulted(exchange_url)
    fault(exchange_url, mode="maintenance", duration_s=30, count=1)
    assert [get(exchange_url, KLINES) for _ in range(2)] == [503, 200]
    fault(exchange_url, mode="429", duration_s=30)
    assert get(exchange_url, KLINES) == 429
    requests.delete(f"{exchange_url}/_control/faults", timeout=5)
    assert get(exchange_url, KLINES) == 200
    assert growth(before, faulted(exchange_url)) == {
        "maintenance": {"GET /fapi/v1/klines": 1},
        "429": {"GET /fapi/v1/klines": 1},
    }


def test_latency_and_drop_are_counted(exchange_url: str) -> None:
    before = faulted(exchange_url)
    fault(exchange_url, mode="latency", latency_ms=50, duration_s=30, count=1)
    assert get(exchange_url, KLINES) == 200  # delayed, then answered: still met the fault
    fault(exchange_url, mode="drop", duration_s=30, count=1)
    with pytest.raises(requests.ConnectionError):
        get(exchange_url, DEPTH)
    assert growth(before, faulted(exchange_url)) == {
        "latency": {"GET /fapi/v1/klines": 1},
        "drop": {"GET /fapi/v1/depth": 1},
    }


def test_clock_counts_signed_requests_only(exchange_url: str) -> None:
    fault(exchange_url, mode="clock", duration_s=30, count=1)
    before = faulted(exchange_url)
    api = make_ccxt(exchange_url)
    api.load_markets()  # unsigned: neither answered by the fault nor spending its count
    assert [get(exchange_url, KLINES) for _ in range(3)] == [200, 200, 200]
    assert growth(before, faulted(exchange_url)) == {}
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        api.fetch_balance()
    grown = growth(before, faulted(exchange_url))
    assert list(grown) == ["clock"] and sum(grown["clock"].values()) == 1
    (route,) = grown["clock"]
    assert route.split("/")[-1] in ("account", "balance"), route  # ccxt's signed balance call
    api.fetch_balance()  # the one response was spent by the signed request


def test_apply_counts_per_mode_and_route() -> None:
    faults = Faults()
    five = faults.set({"mode": "5xx", "count": 2}, now_ms=0)
    slow = faults.set({"mode": "latency", "latency_ms": 10}, now_ms=0)
    for f in faults.match("/fapi/v1/depth", 1):
        faults.apply(f, "GET /fapi/v1/depth")
    faults.apply(five, "GET /fapi/v1/klines")
    assert faults.applied == {
        "5xx": {"GET /fapi/v1/depth": 1, "GET /fapi/v1/klines": 1},
        "latency": {"GET /fapi/v1/depth": 1},
    }
    assert five.count == 0 and slow.count is None
    assert [f.mode for f in faults.match("/fapi/v1/depth", 2)] == ["latency"]
