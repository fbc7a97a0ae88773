"""Malformed requests to the bots' REST API: each gets a 4xx (never a 5xx or a file's
content) and the bot still answers afterwards, under the same process. Fast (seconds)."""

from __future__ import annotations

import json

import pytest
import rel_stack as stack

BOT = "rossc"
BASE = f"http://127.0.0.1:{stack.BOTS[BOT]}"


def main_pid() -> str:
    return stack.unit(f"freqtrade@{BOT}")["MainPID"]


@pytest.fixture()
def same_process() -> object:
    pid = main_pid()
    yield None
    assert stack.ping(BOT), "the bot stopped answering"
    assert main_pid() == pid, "the bot was restarted by the request"


def test_bad_json_is_rejected(same_process: object) -> None:
    answer = stack.bot_api(BOT, "forceenter", method="POST", body='{"pair": "BTC/USDT:USDT",')
    assert 400 <= answer.status < 500, answer


def test_wrong_types_are_rejected(same_process: object) -> None:
    body = json.dumps({"pair": ["x"], "side": 5, "stakeamount": "lots"})
    answer = stack.bot_api(BOT, "forceenter", method="POST", body=body)
    assert 400 <= answer.status < 500, answer


def test_oversized_body_is_rejected(same_process: object) -> None:
    # 8 MiB of JSON: the API has no business accepting it.
    body = json.dumps({"pair": "A" * (8 << 20), "side": "long"})
    answer = stack.bot_api(BOT, "forceenter", method="POST", body=body, timeout=60)
    assert 400 <= answer.status < 500, (answer.status, answer.body[:200])


def test_no_credentials_no_access(same_process: object) -> None:
    answer = stack.http(f"{BASE}/api/v1/status")
    assert answer.status == 401, answer
    wrong = stack.http(f"{BASE}/api/v1/status", user="trader:not-the-password")
    assert wrong.status == 401, wrong


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2f..%2fetc%2fpasswd",
        "/api/v1/strategy/..%2f..%2f..%2fetc%2fpasswd",
        "/api/v1/trade/..%2f..%2fetc",
        "/assets/..%2f..%2f..%2f..%2fetc%2fpasswd",
    ],
)
def test_path_traversal_in_the_url_gets_nothing(path: str, same_process: object) -> None:
    answer = stack.http(BASE + path, user=stack.api_user())
    assert "root:x:0:0" not in answer.body, f"{path} served /etc/passwd"
    # The UI's catch-all may answer 200 with its own page; anything else must be a 4xx.
    if answer.status == 200:
        assert "passwd" not in answer.body, answer.body[:200]
    else:
        assert 400 <= answer.status < 500, (path, answer.status, answer.body[:200])


@pytest.mark.parametrize("pair", ["../../../../etc/passwd", "..%2F..%2Fetc%2Fpasswd"])
def test_path_traversal_in_a_pair_reads_no_file(pair: str, same_process: object) -> None:
    """A pair name is looked up in memory, never opened: an empty answer, no file."""
    answer = stack.bot_api(BOT, f"pair_candles?pair={pair}&timeframe=5m")
    assert "root:x:0:0" not in answer.body
    assert answer.status < 500, (answer.status, answer.body[:200])
    if answer.status == 200:
        assert answer.json()["data"] == [], "candles for a pair that does not exist"
