"""Testinfra checks of the bots and the local exchange on a host converged by site.yml."""

import ipaddress
import json
import shlex

import pytest

BOTS = {"rossc": 8101, "airisk": 8102}


@pytest.mark.parametrize("bot", BOTS)
def test_bot_active_with_watchdog(host, bot):
    unit = f"freqtrade@{bot}"
    assert host.service(unit).is_running
    assert host.service(unit).is_enabled
    props = host.check_output(f"systemctl show {unit} -p Type -p WatchdogUSec -p User -p Restart")
    assert "Type=notify" in props
    assert "WatchdogUSec=1min" in props
    assert "User=freqtrade" in props
    assert "Restart=always" in props


@pytest.mark.parametrize("bot,port", BOTS.items())
def test_api_answers_on_loopback_only(host, bot, port):
    pong = host.check_output(f"curl -fsS http://127.0.0.1:{port}/api/v1/ping")
    assert json.loads(pong) == {"status": "pong"}
    listeners = host.check_output(f"ss -Htln 'sport = :{port}'").splitlines()
    assert listeners, f"nothing listens on {port}"
    for line in listeners:
        assert "127.0.0.1:" in line, line


def test_only_public_ports_listen_outside(host):
    outside = set()
    for line in host.check_output("ss -Htln").splitlines():
        local = line.split()[3]
        addr, port = local.rsplit(":", 1)
        # Loopback is all of 127.0.0.0/8 (the Telegram stand-in has 127.0.0.2) and ::1.
        addr = addr.strip("[]").split("%", 1)[0]
        if addr in ("*", "0.0.0.0", "::") or not ipaddress.ip_address(addr).is_loopback:
            outside.add(int(port))
    assert outside <= {22, 80, 443}, outside


# Every secret freqtrade takes, as the environment variable that carries it and the
# configuration field it overrides.
SECRETS = {
    "FREQTRADE__API_SERVER__PASSWORD": ("api_server", "password"),
    "FREQTRADE__API_SERVER__JWT_SECRET_KEY": ("api_server", "jwt_secret_key"),
    "FREQTRADE__API_SERVER__WS_TOKEN": ("api_server", "ws_token"),
    "FREQTRADE__TELEGRAM__TOKEN": ("telegram", "token"),
}


@pytest.mark.parametrize("bot", BOTS)
def test_secrets_file_is_root_only(host, bot):
    env = host.file(f"/etc/freqtrade/{bot}.env")
    assert env.user == "root"
    assert env.group == "root"
    assert env.mode == 0o600
    values = dict(line.split("=", 1) for line in env.content_string.splitlines() if "=" in line)
    config = host.file(f"/etc/freqtrade/{bot}/config.json")
    assert config.mode == 0o640
    # No secret ever lands in the group-readable part of the configuration: each field is
    # empty there, and its value (from the environment file) appears nowhere in it.
    text = config.content_string
    cfg = json.loads(text)
    for variable, (section, field) in SECRETS.items():
        value = values.get(variable, "").strip("'\"")
        assert len(value) >= 16, f"{variable} missing or short in {bot}.env"
        assert cfg[section][field] == "", f"{section}.{field}"
        assert value not in text, f"{variable}'s value is in {bot}'s config.json"
    # A dry-run bot never holds the exchange key: it is written only in live mode.
    assert cfg["dry_run"] is True
    assert cfg["exchange"]["key"] == cfg["exchange"]["secret"] == ""
    assert not {"FREQTRADE__EXCHANGE__KEY", "FREQTRADE__EXCHANGE__SECRET"} & values.keys()


@pytest.mark.parametrize("bot", BOTS)
def test_bot_runs_dry_against_local_exchange(host, bot):
    cfg = json.loads(host.file(f"/etc/freqtrade/{bot}/config.json").content_string)
    assert cfg["dry_run"] is True
    assert cfg["trading_mode"] == "futures"
    assert cfg["margin_mode"] == "isolated"
    # Its ccxt configuration is production's (test_exchange_tls.py): Binance's names
    # resolve to the local exchange on the box.
    log = host.check_output(f"journalctl -u freqtrade@{bot} --no-pager -o cat")
    assert 'Using Exchange "Binance"' in log


def test_release_layout(host):
    current = host.file("/opt/freqtrade/current")
    assert current.is_symlink
    assert current.linked_to.startswith("/opt/freqtrade/releases/")
    assert host.file(f"{current.linked_to}/.complete").exists
    # User data lives outside the releases.
    assert host.file("/var/lib/freqtrade/bots/rossc").user == "freqtrade"


def test_local_exchange_serves_markets(host):
    info = json.loads(host.check_output("curl -fsS http://127.0.0.1:8090/fapi/v1/exchangeInfo"))
    symbols = {s["symbol"] for s in info["symbols"]}
    assert {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "ADAUSDT"} <= symbols


def status_with(host, port: int, env_file: str, how: str) -> str:
    """HTTP status of GET /api/v1/status on the bot at port, with the credentials of the bot
    whose env file is given: its password (how=password) or a login token it issued
    (how=token). Secrets go to curl in a config on stdin, never on a command line."""
    own_port = {f"/etc/freqtrade/{b}.env": p for b, p in BOTS.items()}[env_file]
    login = (
        f'printf \'user = "trader:%s"\\n\' "$FREQTRADE__API_SERVER__PASSWORD"'
        f" | curl -sS -K - -X POST http://127.0.0.1:{own_port}/api/v1/token/login"
        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    )
    auth = (
        'printf \'user = "trader:%s"\\n\' "$FREQTRADE__API_SERVER__PASSWORD"'
        if how == "password"
        else f'printf \'header = "Authorization: Bearer %s"\\n\' "$({login})"'
    )
    script = (
        f"set -a; . {env_file}; {auth}"
        f" | curl -sS -o /dev/null -w '%{{http_code}}' -K - http://127.0.0.1:{port}/api/v1/status"
    )
    with host.sudo():
        return host.check_output(f"sh -c {shlex.quote(script)}")


@pytest.mark.parametrize("how", ["password", "token"])
def test_a_bots_login_opens_that_bot_only(host, how):
    """Each bot has its own API password and signs its login tokens with its own secret:
    what logs in to one bot is refused by the other (401)."""
    (a, a_port), (b, b_port) = BOTS.items()
    for bot, port, other_port in ((a, a_port, b_port), (b, b_port, a_port)):
        env_file = f"/etc/freqtrade/{bot}.env"
        assert status_with(host, port, env_file, how) == "200", f"{bot}'s own {how}"
        assert status_with(host, other_port, env_file, how) == "401", f"{bot}'s {how} elsewhere"
