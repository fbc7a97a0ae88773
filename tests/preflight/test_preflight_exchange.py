"""The preflight (packages/ft_preflight) against the exchange stand-in through real ccxt, one
account per state: each unsound setting is found by the check that names it, as Binance
would answer. The key's permissions come from the stand-in's key file, the wallet from its control
API and the account modes from its engine (it refuses to switch them, as it trades one-way
and single-asset only)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ccxt
import pytest
from ft_preflight import cli
from replay_exchange.testing import ccxt_config, running_exchange

DATA_DIR = Path(__file__).resolve().parents[2] / "files" / "data" / "binance"
SECRET = "s" * 64
ACCOUNTS: dict[str, dict[str, Any]] = {
    "sound": {"ipRestrict": True},
    "withdraw": {"ipRestrict": True, "canWithdraw": True},
    "no_ip": {"ipRestrict": False},
    "hedge": {"ipRestrict": True},
    "multi": {"ipRestrict": True},
    "poor": {"ipRestrict": True},
}
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]
SETTINGS = {"pairs": PAIRS, "min_balance": 100, "max_clock_offset_ms": 1000}


def key_of(name: str) -> str:
    """A Binance-shaped key (64 alphanumerics) per account."""
    return f"{name.replace('_', ''):0<64}"[:64]


def client(url: str, name: str) -> Any:
    return ccxt.binance(cli.exchange_config(key_of(name), SECRET, ccxt_config(url)))


@pytest.fixture(scope="module")
def exchange_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    keys = {key_of(n): {"secret": SECRET, "enableFutures": True, **a} for n, a in ACCOUNTS.items()}
    with running_exchange(DATA_DIR, tmp_path_factory.mktemp("rx"), keys=keys) as url:
        # The stand-in trades one-way, single-asset only and refuses the switches Binance
        # offers: the account modes are set on its engine, as the site test's spare does
        # in its state file.
        engine = running_exchange.last.engine  # type: ignore[attr-defined]
        engine.account(key_of("hedge"))["dual"] = True
        engine.account(key_of("multi"))["multi_assets"] = True
        request = urllib.request.Request(
            f"{url}/_control/account",
            data=json.dumps({"apiKey": key_of("poor"), "balance": 50}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert json.load(answer)["wallet"] == 50
        yield url


@pytest.mark.parametrize(
    ("account", "failed", "words"),
    [
        ("sound", [], "no withdrawals, futures enabled, restricted to trusted IPs"),
        ("withdraw", ["api_key_permissions"], "withdrawal permission is enabled"),
        ("no_ip", ["api_key_permissions"], "not restricted to trusted IPs"),
        ("hedge", ["position_mode"], "hedge mode is on"),
        ("multi", ["margin_mode"], "multi-assets mode is on"),
        ("poor", ["futures_balance"], "50.00 USDT in the futures wallet"),
    ],
)
def test_each_account_state_is_found_by_its_check(exchange_url, account, failed, words):
    report = cli.run(client(exchange_url, account), SETTINGS)
    assert report["failed"] == failed, report["summary"]
    assert any(words in line for line in report["summary"]), report["summary"]


def test_an_unrestricted_key_passes_when_accepted(exchange_url):
    report = cli.run(client(exchange_url, "no_ip"), {**SETTINGS, "require_ip_restriction": False})
    assert report["ok"], report["summary"]
    assert "not IP-restricted" in " ".join(report["summary"])


def test_a_pair_the_exchange_does_not_list_fails_the_first_check(exchange_url):
    report = cli.run(client(exchange_url, "sound"), {**SETTINGS, "pairs": ["NOPE/USDT:USDT"]})
    assert report["failed"] == ["exchange_reachable"]


def test_a_key_the_exchange_does_not_know_fails_every_private_check(exchange_url):
    report = cli.run(client(exchange_url, "unknown"), SETTINGS)
    assert report["failed"] == [
        "api_key_permissions",
        "position_mode",
        "margin_mode",
        "futures_balance",
    ]
    assert all("-2015" in c["detail"] or "Invalid API-key" in c["detail"]
               for c in report["checks"] if not c["ok"]), report["summary"]  # fmt: skip
