"""The preflight's judgements (packages/ft_preflight) on the answers Binance gives, and its
run: every check in order, an exchange error failing that check only. The whole path
(site.yml --tags preflight against the exchange stand-in) is in the whole-site scenario."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import ccxt
import pytest
from ft_preflight import checks, cli

SOUND_KEY = {"enableWithdrawals": False, "enableFutures": True, "ipRestrict": True}


def test_markets_listed_names_the_missing_pairs():
    markets = {"BTC/USDT:USDT": {}, "ETH/USDT:USDT": {}}
    assert checks.markets_listed(markets, ["BTC/USDT:USDT"]).ok
    missing = checks.markets_listed(markets, ["BTC/USDT:USDT", "XRP/USDT:USDT"])
    assert not missing.ok and "XRP/USDT:USDT" in missing.detail and "BTC" not in missing.detail


def test_clock_offset_is_measured_from_the_middle_of_the_round_trip():
    # Request sent at 1000, answered at 1400: the exchange read its clock at about 1200.
    on_time = checks.clock_offset(1200, 1000, 1400, max_offset_ms=100)
    assert on_time.ok and on_time.values == {"offset_ms": 0, "round_trip_ms": 400}
    late = checks.clock_offset(2301, 1000, 1400, max_offset_ms=1100)
    assert not late.ok and late.values["offset_ms"] == 1101
    assert checks.clock_offset(99, 1000, 1400, max_offset_ms=1101).ok  # behind, within


@pytest.mark.parametrize(
    ("answer", "require_ip", "ok", "words"),
    [
        (SOUND_KEY, True, True, "no withdrawals, futures enabled, restricted"),
        ({**SOUND_KEY, "enableWithdrawals": True}, False, False, "withdrawal permission"),
        ({**SOUND_KEY, "enableWithdrawals": "true"}, False, False, "withdrawal permission"),
        ({**SOUND_KEY, "enableFutures": False}, True, False, "enableFutures: false"),
        ({**SOUND_KEY, "ipRestrict": False}, True, False, "freqtrade_preflight_require_ip"),
        ({**SOUND_KEY, "ipRestrict": False}, False, True, "not IP-restricted"),
    ],
)
def test_key_permissions(answer, require_ip, ok, words):
    result = checks.key_permissions(answer, require_ip)
    assert result.ok is ok and words in result.detail


def test_a_key_that_can_withdraw_is_refused_even_when_all_else_is_sound():
    result = checks.key_permissions({**SOUND_KEY, "enableWithdrawals": True}, False)
    assert not result.ok and result.values["enableWithdrawals"] is True


def test_modes_freqtrade_cannot_trade_in_are_refused():
    assert checks.position_mode({"dualSidePosition": False}).ok
    assert not checks.position_mode({"dualSidePosition": True}).ok
    assert checks.margin_mode({"multiAssetsMargin": False}).ok
    assert not checks.margin_mode({"multiAssetsMargin": "true"}).ok


def test_balance_against_the_minimum():
    balance = {"total": {"USDT": 250.0}, "free": {"USDT": 200.0}}
    assert checks.futures_balance(balance, "USDT", 100).ok
    short = checks.futures_balance(balance, "USDT", 300)
    assert not short.ok and "250.00 USDT" in short.detail and "minimum 300.00" in short.detail
    assert not checks.futures_balance({"total": {}}, "USDT", 1).ok


class FakeExchange:
    """Answers as ccxt's binance does, one call failing with the error it raises."""

    id = "binance"

    def __init__(self, failing: str = "") -> None:
        self.failing = failing

    def _answer(self, name: str, value: Any) -> Any:
        if name == self.failing:
            raise ccxt.AuthenticationError('binance {"code":-2015,"msg":"Invalid API-key"}')
        return value

    def load_markets(self) -> dict[str, Any]:
        return self._answer("load_markets", {"BTC/USDT:USDT": {}})

    def fetch_time(self) -> int:
        return self._answer("fetch_time", int(time.time() * 1000))

    def sapi_get_account_apirestrictions(self) -> dict[str, Any]:
        return self._answer("sapi_get_account_apirestrictions", SOUND_KEY)

    def fapiprivate_get_positionside_dual(self) -> dict[str, Any]:
        return self._answer("fapiprivate_get_positionside_dual", {"dualSidePosition": False})

    def fapiprivate_get_multiassetsmargin(self) -> dict[str, Any]:
        return self._answer("fapiprivate_get_multiassetsmargin", {"multiAssetsMargin": False})

    def fetch_balance(self) -> dict[str, Any]:
        return self._answer("fetch_balance", {"total": {"USDT": 500.0}, "free": {"USDT": 500.0}})


SETTINGS = {"pairs": ["BTC/USDT:USDT"], "min_balance": 100, "max_clock_offset_ms": 5000}
NAMES = [
    "exchange_reachable",
    "clock_offset",
    "api_key_permissions",
    "position_mode",
    "margin_mode",
    "futures_balance",
]


def test_run_reports_every_check_in_order():
    report = cli.run(FakeExchange(), SETTINGS)
    assert report["ok"] and report["failed"] == [] and report["exchange"] == "binance"
    assert [c["name"] for c in report["checks"]] == NAMES
    assert all(line.startswith("ok  ") for line in report["summary"])


def test_an_exchange_error_fails_that_check_only():
    report = cli.run(FakeExchange(failing="sapi_get_account_apirestrictions"), SETTINGS)
    assert report["failed"] == ["api_key_permissions"] and not report["ok"]
    failed = next(c for c in report["checks"] if c["name"] == "api_key_permissions")
    assert failed["detail"].startswith("AuthenticationError: ") and "-2015" in failed["detail"]
    assert [c["name"] for c in report["checks"]] == NAMES


def test_exchange_config_is_freqtrades_with_the_inventorys_over_it():
    config = cli.exchange_config(
        "k", "s", {"options": {"fetchMarkets": {"types": ["linear"]}}, "timeout": 5000}
    )
    assert config["options"] == {"defaultType": "future", "fetchMarkets": {"types": ["linear"]}}
    assert config["timeout"] == 5000 and config["apiKey"] == "k" and config["secret"] == "s"


def test_main_reads_the_request_on_stdin_and_exits_1_on_a_failed_check(monkeypatch, capsys):
    """The key reaches the exchange object from stdin; an unreachable exchange fails."""
    seen: dict[str, Any] = {}

    class Recording(FakeExchange):
        def __init__(self, config: dict[str, Any]) -> None:
            super().__init__(failing="load_markets")
            seen.update(config)

    monkeypatch.setattr(ccxt, "binance", Recording)
    request = {"key": "the-key", "secret": "the-secret", "settings": SETTINGS}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(request)))
    assert cli.main() == 1
    report = json.loads(capsys.readouterr().out)
    assert report["failed"] == ["exchange_reachable"]
    assert seen["apiKey"] == "the-key" and seen["secret"] == "the-secret"
