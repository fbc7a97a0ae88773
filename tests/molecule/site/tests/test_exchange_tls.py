"""The rehearsal reaches its exchange as production reaches Binance: under Binance's host
names, over HTTPS, with a test CA that is name-constrained to those names, and with the
bots' ccxt configuration unchanged from production's. So ccxt applies Binance's USDⓈ-M
error table: a rejection arrives as the exception class a bot meets in production.

The client runs on the box with the current release's Python (unmodified ccxt), the
environment of the bots' unit (its CA bundle variables) and a bot's own ccxt_config."""

import json
import re
import shlex
import textwrap
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
NAMES = ("fapi.binance.com", "api.binance.com")
TLS_DIR = "/etc/replay-exchange/tls"
PYTHON = "/opt/freqtrade/current/bin/python"


def unit_env(host) -> str:
    """The bots' unit's CA variables, as `env` arguments."""
    line = host.check_output("systemctl show freqtrade@rossc -p Environment")
    pairs = [
        p
        for p in line.removeprefix("Environment=").split()
        if p.split("=")[0].endswith(("SSL_CERT_FILE", "CA_BUNDLE"))
    ]
    assert len(pairs) == 2, line
    return " ".join(shlex.quote(p) for p in pairs)


def run_ccxt(host, body: str) -> dict:
    """Run `body` with `ex`, a ccxt binance client built from the bot's config and the
    rehearsal's key; it prints one JSON document."""
    script = textwrap.dedent("""
        import json, ccxt
        cfg = json.load(open("/etc/freqtrade/rossc/config.json"))["exchange"]["ccxt_config"]
        (key, entry), *_ = json.load(open("/etc/replay-exchange/keys.json")).items()
        ex = ccxt.binance({**cfg, "apiKey": key, "secret": entry["secret"],
                           "options": {**cfg["options"], "defaultType": "future"}})
        """) + textwrap.dedent(body)
    out = host.check_output(f"env {unit_env(host)} {PYTHON} -c {shlex.quote(script)}")
    return json.loads(out)


def test_bots_use_production_ccxt_config(host):
    """No URLs, no other key: exactly the options every deployment uses."""
    role_vars = yaml.safe_load((REPO / "roles/freqtrade/vars/main.yml").read_text())
    for bot in ("rossc", "airisk"):
        cfg = json.loads(host.file(f"/etc/freqtrade/{bot}/config.json").content_string)["exchange"]
        assert cfg["ccxt_config"] == role_vars["freqtrade_ccxt_base_config"], bot
        assert cfg["ccxt_async_config"] == cfg["ccxt_config"], bot


@pytest.mark.parametrize("name", NAMES)
def test_binance_names_resolve_to_the_stand_in(host, name):
    assert host.check_output(f"getent ahostsv4 {name}").split()[0] == "127.0.0.3"


def test_test_ca_is_name_constrained(host):
    ext = host.check_output(f"openssl x509 -in {TLS_DIR}/ca.crt -noout -ext nameConstraints")
    assert "critical" in ext.splitlines()[0], ext
    permitted = {line.strip() for line in ext.splitlines() if line.strip().startswith("DNS:")}
    assert permitted == {f"DNS:{n}" for n in NAMES}, ext
    assert host.file(f"{TLS_DIR}/ca.key").mode == 0o600
    assert host.file(f"{TLS_DIR}/ca.key").user == "root"


def test_test_ca_signs_no_other_name(host):
    """Even with the CA's key, a certificate for another name does not verify; the
    stand-in's own certificate does, against the system bundle."""
    tmp = host.check_output("mktemp -d")
    try:
        host.check_output(
            f"cd {tmp} && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
            " -keyout o.key -out o.csr -subj /CN=example.com -addext subjectAltName=DNS:example.com"
            f" && openssl x509 -req -in o.csr -CA {TLS_DIR}/ca.crt -CAkey {TLS_DIR}/ca.key"
            " -CAcreateserial -days 1 -copy_extensions copyall -out o.crt"
        )
        other = host.run(f"openssl verify -CAfile {TLS_DIR}/ca.crt {tmp}/o.crt")
        assert other.rc != 0, other.stdout
        assert "permitted subtree violation" in other.stdout + other.stderr
    finally:
        host.run(f"rm -rf {tmp}")
    own = host.run(
        f"openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt {TLS_DIR}/server.crt"
    )
    assert own.rc == 0, own.stdout + own.stderr


def test_bot_config_reaches_the_stand_in(host):
    """Through the bot's own configuration, ccxt's markets are the stand-in's."""
    listed = {
        s["symbol"]
        for s in json.loads(
            host.check_output("curl -fsS http://127.0.0.1:8090/fapi/v1/exchangeInfo")
        )["symbols"]
    }
    got = run_ccxt(
        host,
        """
        markets = ex.load_markets()
        ids = sorted(m["id"] for m in markets.values())
        print(json.dumps({"url": ex.urls["api"]["fapiPublic"], "ids": ids}))
        """,
    )
    assert got["url"] == "https://fapi.binance.com/fapi/v1"
    assert set(got["ids"]) == listed


def test_rejections_raise_production_classes(host):
    """Binance's USDⓈ-M codes become ccxt's specific classes, not a generic ExchangeError
    (the case before the rehearsal used Binance's names). Nothing is placed: both orders
    are refused."""
    got = run_ccxt(
        host,
        """
        out = {}
        for case, args in {
            "margin": ("BTC/USDT:USDT", "market", "buy", 100),
            "notional": ("ETH/USDT:USDT", "market", "buy", 0.001),
        }.items():
            try:
                ex.create_order(*args)
                out[case] = "placed"
            except ccxt.BaseError as exc:
                out[case] = [type(exc).__name__, str(exc)[:200]]
        print(json.dumps(out))
        """,
    )
    assert got["margin"][0] == "InsufficientFunds", got
    assert re.search(r'"code": ?-2019\b', got["margin"][1]), got
    assert got["notional"][0] == "InvalidOrder", got
    assert re.search(r'"code": ?-4164\b', got["notional"][1]), got
