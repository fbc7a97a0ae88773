"""Malformed requests to the bots' REST API, on the bot's own port (127.0.0.1 only) and
through the web edge (nginx, the only way in from outside): each gets a 4xx (never a
file's content) and the bot still answers afterwards, under the same process. Fast."""

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


DOORS = ["bot", "edge"]
# 8 MiB of JSON: the API has no business accepting it.
OVERSIZED = json.dumps({"pair": "A" * (8 << 20), "side": "long"})


@pytest.mark.parametrize("door", DOORS)
def test_bad_json_is_rejected(door: str, same_process: object) -> None:
    body = '{"pair": "BTC/USDT:USDT",'
    answer = stack.bot_api(BOT, "forceenter", method="POST", body=body, door=door)
    assert 400 <= answer.status < 500, answer


@pytest.mark.parametrize("door", DOORS)
def test_wrong_types_are_rejected(door: str, same_process: object) -> None:
    body = json.dumps({"pair": ["x"], "side": 5, "stakeamount": "lots"})
    answer = stack.bot_api(BOT, "forceenter", method="POST", body=body, door=door)
    assert 400 <= answer.status < 500, answer


def test_oversized_body_is_refused_at_the_edge(same_process: object) -> None:
    """nginx's client_max_body_size answers 413 before the bot sees a byte."""
    answer = stack.bot_api(BOT, "forceenter", method="POST", body=OVERSIZED, door="edge")
    assert answer.status == 413, (answer.status, answer.body[:200])


def test_oversized_body_on_the_bots_own_port_opens_nothing(same_process: object) -> None:
    """freqtrade's API server has no body-size limit: on its own loopback port it reads and
    parses the body, then refuses the unknown symbol (502, docs/reliability.md). What must
    hold there: no trade opened, and the bot keeps running (same_process)."""
    before = len(stack.trades(BOT))
    answer = stack.bot_api(BOT, "forceenter", method="POST", body=OVERSIZED, timeout=60)
    assert answer.status != 200, (answer.status, answer.body[:200])
    assert len(stack.trades(BOT)) == before, "an oversized request opened a trade"


@pytest.mark.parametrize("door", DOORS)
def test_no_credentials_no_access(door: str, same_process: object) -> None:
    url = f"{stack.api_base(BOT, door)}/status"
    answer = stack.http(url)
    assert answer.status == 401, answer
    wrong = stack.http(url, user="trader:not-the-password")
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
@pytest.mark.parametrize("root", [BASE, f"https://127.0.0.1/{BOT}", "https://127.0.0.1"])
def test_path_traversal_in_the_url_gets_nothing(root: str, path: str, same_process: object) -> None:
    answer = stack.http(root + path, user=stack.api_user(BOT))
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
