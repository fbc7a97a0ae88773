"""Fault injection through /_control and Binance-like weight limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import ccxt
import pytest
import requests
from replay_exchange.testing import running_exchange
from rx_support import DATA_DIR, make_ccxt

KLINES = "/fapi/v1/klines?symbol=BTCUSDT&interval=1h&limit=5"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_exchange(DATA_DIR, tmp_path_factory.mktemp("faults")) as u:
        yield u


@pytest.fixture(autouse=True)
def clean(url: str) -> Iterator[None]:
    yield
    requests.delete(f"{url}/_control/faults", timeout=5)
    requests.post(f"{url}/_control/limits", json={"limit": 2400, "ban_after": 5, "ban_s": 120})


def fault(url: str, **spec: object) -> None:
    r = requests.post(f"{url}/_control/faults", json=spec, timeout=5)
    assert r.status_code == 200, r.text


def test_forced_429_has_retry_after_and_weight(url: str) -> None:
    fault(url, mode="429", duration_s=30, retry_after_s=7)
    r = requests.get(url + KLINES, timeout=5)
    assert r.status_code == 429 and r.json()["code"] == -1003
    assert r.headers["Retry-After"] == "7" and int(r.headers["X-MBX-USED-WEIGHT-1M"]) > 0
    with pytest.raises(ccxt.DDoSProtection):  # freqtrade backs off on this class
        make_ccxt(url, key=None).fetch_time()
    requests.delete(f"{url}/_control/faults", timeout=5)
    assert requests.get(url + KLINES, timeout=5).status_code == 200


def test_weight_limit_escalates_to_418_ban(url: str) -> None:
    requests.post(f"{url}/_control/limits", json={"limit": 10, "ban_after": 3, "ban_s": 60})
    codes = [requests.get(url + KLINES, timeout=5).status_code for _ in range(15)]
    assert codes[0] == 200 and 429 in codes and codes[-1] == 418
    assert codes.index(429) < codes.index(418)
    r = requests.get(url + KLINES, timeout=5)
    assert r.status_code == 418 and 0 < int(r.headers["Retry-After"]) <= 60
    with pytest.raises(ccxt.DDoSProtection):
        make_ccxt(url, key=None).fetch_time()


def test_5xx_burst_counts_down(url: str) -> None:
    fault(url, mode="5xx", status=502, count=2, duration_s=30)
    codes = [requests.get(url + KLINES, timeout=5).status_code for _ in range(3)]
    assert codes == [502, 502, 200]


def test_latency(url: str) -> None:
    fault(url, mode="latency", latency_ms=400, duration_s=30)
    t = time.monotonic()
    assert requests.get(url + KLINES, timeout=5).status_code == 200
    assert time.monotonic() - t >= 0.4


def test_dropped_connection(url: str) -> None:
    fault(url, mode="drop", count=1, duration_s=30)
    with pytest.raises(requests.ConnectionError):
        requests.get(url + KLINES, timeout=5)
    assert requests.get(url + KLINES, timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("mode", "raised"), [("late", ccxt.RequestTimeout), ("lost", ccxt.NetworkError)]
)
def test_order_executed_then_answer_lost(url: str, mode: str, raised: type[Exception]) -> None:
    """The order is placed, then the client times out or loses the connection: ccxt raises a
    network error (freqtrade: TemporaryError) although the order exists, once, under the
    client's own id."""
    api = make_ccxt(url)
    api.timeout = 1000  # ms; "late" answers after 3 s
    pair, cid = "ADA/USDT:USDT", f"after-{mode}"
    fault(url, mode=mode, latency_ms=3000, count=1, path="/fapi/v1/order", duration_s=30)
    with pytest.raises(raised):
        api.create_order(pair, "market", "buy", 20, params={"newClientOrderId": cid})
    api.timeout = 10_000
    mine = [o for o in api.fetch_orders(pair) if o["clientOrderId"] == cid]
    assert [(o["status"], o["filled"]) for o in mine] == [("closed", 20)]
    assert faulted(url)[mode] == {"POST /fapi/v1/order": 1}
    api.create_order(pair, "market", "sell", 20, params={"reduceOnly": True})


def faulted(url: str) -> dict[str, dict[str, int]]:
    state = requests.get(f"{url}/_control/state", timeout=5).json()
    return dict(state["faulted"])


def test_clock_fault_only_hits_signed_requests(url: str) -> None:
    fault(url, mode="clock", duration_s=30)
    api = make_ccxt(url)
    api.load_markets()
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        api.fetch_balance()
    assert requests.get(url + KLINES, timeout=5).status_code == 200


def test_maintenance(url: str) -> None:
    fault(url, mode="maintenance", duration_s=30)
    r = requests.get(url + KLINES, timeout=5)
    assert r.status_code == 503
    with pytest.raises((ccxt.OnMaintenance, ccxt.ExchangeNotAvailable)):
        make_ccxt(url, key=None).fetch_time()


def test_fault_expires_and_path_filter(url: str) -> None:
    fault(url, mode="5xx", duration_s=0.3, path="/fapi/v1/depth")
    assert requests.get(url + KLINES, timeout=5).status_code == 200
    assert requests.get(f"{url}/fapi/v1/depth?symbol=BTCUSDT&limit=5", timeout=5).status_code == 500
    time.sleep(0.4)
    assert requests.get(f"{url}/fapi/v1/depth?symbol=BTCUSDT&limit=5", timeout=5).status_code == 200


def test_control_price_and_state(url: str, tmp_path: Path) -> None:
    r = requests.post(
        f"{url}/_control/price", json={"symbol": "BTCUSDT", "price": 50000}, timeout=5
    )
    assert r.status_code == 200
    assert (
        requests.get(f"{url}/fapi/v1/ticker/price?symbol=BTCUSDT", timeout=5).json()["price"]
        == "50000.00"
    )
    state = requests.get(f"{url}/_control/state", timeout=5).json()
    assert state["prices"]["BTCUSDT"]["mark"] == 50000
    assert state["anchor"]["offset_ms"] % 86_400_000 == 0
    requests.delete(f"{url}/_control/price", timeout=5)
    assert (
        requests.get(f"{url}/fapi/v1/ticker/price?symbol=BTCUSDT", timeout=5).json()["price"]
        != "50000.00"
    )
    bad = requests.post(f"{url}/_control/faults", json={"mode": "nope"}, timeout=5)
    assert bad.status_code == 400
    spec = {"mode": "unknown", "code": -1005}
    bad = requests.post(f"{url}/_control/faults", json=spec, timeout=5)
    assert bad.status_code == 400 and "-1006" in bad.json()["error"]
