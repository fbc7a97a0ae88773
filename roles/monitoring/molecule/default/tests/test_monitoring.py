"""Testinfra checks of the monitoring role on Debian 12 and 13 systemd containers.

The bots are fake freqtrade APIs serving recorded dry-run responses and Telegram is the local
stand-in (converge.yml starts both as units). The end-to-end alert is split in two tests so
its real `for:` wait overlaps the other checks: the first moves beta's BTC long next to its
liquidation price, the last waits for the Telegram message.
"""

import json
import shlex
import socket
import time
from pathlib import Path

import pytest
import yaml

SCENARIO = Path(__file__).resolve().parents[1]
REPO = SCENARIO.parents[3]
VARS = yaml.safe_load((SCENARIO / "vars.yml").read_text())
TOKEN = VARS["molecule_telegram_token"]
CHAT = VARS["molecule_telegram_chat"]

SERVICES = ["prometheus", "prometheus-alertmanager", "prometheus-node-exporter", "risk-exporter"]
PORTS = {"prometheus": 9090, "alertmanager": 9093, "node-exporter": 9100, "risk-exporter": 9110}
FIXTURES = "/opt/monitoring-fixtures/bots"  # one folder per fake bot, named by its port
BOT_PORTS = {b["name"]: b["api_port"] for b in VARS["monitoring_bots"]}
# The recorded BTC long (5x) has its liquidation price at 93,337.3; 95,000 is 1.8 % above it,
# inside the 5 % threshold.
NEAR_LIQUIDATION = 95_000.0
# An alert's path: exporter poll (15 s) + scrape (15 s) + evaluation (15 s) + `for: 1m` +
# Alertmanager's critical group_wait (10 s); the deadline leaves room for a loaded machine.
ALERT_DEADLINE = 300
# The web login (role defaults): the password is made on the host, root only.
WEB_USER = "monitoring"
WEB_PASSWORD_FILE = "/etc/monitoring-auth/password"
MONITORING_PORTS = {9090, 9093, 9100, 9110}

# The minimal test image has no curl: one GET with the system Python, inside the container.
# With `login`, the web login read there as root from its file: never on a command line.
# Prints the status, a tab, the WWW-Authenticate challenge, a newline, then the body.
_GET = r"""
import base64, sys, urllib.error, urllib.request
req = urllib.request.Request(sys.argv[1])
if sys.argv[2]:
    password = open(sys.argv[3]).read().strip()
    token = base64.b64encode((sys.argv[2] + ":" + password).encode()).decode()
    req.add_header("Authorization", "Basic " + token)
try:
    with urllib.request.urlopen(req, timeout=10) as f:
        status, challenge, body = f.status, "", f.read()
except urllib.error.HTTPError as e:
    status, challenge, body = e.code, e.headers.get("WWW-Authenticate", ""), e.read()
print(f"{status}\t{challenge}")
sys.stdout.write(body.decode())
"""


def request(host, url, login=True, user=WEB_USER):
    """(status, WWW-Authenticate, body) of a GET made inside the container."""
    args = " ".join(shlex.quote(a) for a in (url, user if login else "", WEB_PASSWORD_FILE))
    with host.sudo():
        out = host.check_output(f"python3 -c {shlex.quote(_GET)} {args}")
    head, _, body = out.partition("\n")
    status, _, challenge = head.partition("\t")
    return int(status), challenge, body


def get(host, url):
    status, _, body = request(host, url)
    # The login goes only to the monitoring; the fixtures answer without one.
    assert status == 200, f"{url}: HTTP {status}"
    return body


def get_json(host, url):
    return json.loads(get(host, url))


def wait_for(check, timeout, what, every=3.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (AssertionError, RuntimeError, ValueError) as exc:
            last = exc
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last})")


def telegram_messages(host):
    status, _, body = request(host, "http://127.0.0.1:8443/_messages", login=False)
    assert status == 200, status
    return json.loads(body)


def liquidation_texts(host, bot, after=0):
    """Liquidation alerts about `bot` among the stand-in's messages after the first `after`."""
    out = []
    for msg in telegram_messages(host)[after:]:
        text = msg["message"]["text"]
        if text.startswith("🚨 Liquidation price approaching") and f"bot: {bot}" in text:
            out.append(text)
    return out


def set_btc_rate(host, bot, rate):
    script = (
        "import json, sys; p = sys.argv[1]; d = json.load(open(p)); "
        "[t.update(current_rate=float(sys.argv[2])) for t in d if t['pair'] == 'BTC/USDT:USDT']; "
        "json.dump(d, open(p, 'w'))"
    )
    port = BOT_PORTS[bot]
    host.check_output(f'python3 -c "{script}" {FIXTURES}/{port}/status.json {rate}')
    host.check_output(f"systemctl restart fake-freqtrade@{port}")


# Messages the stand-in held before the price moved, per host.
BASELINE: dict[str, int] = {}


def test_00_drive_beta_towards_liquidation(host):
    BASELINE[host.check_output("hostname")] = len(telegram_messages(host))
    # Nothing about beta's liquidation was sent while its positions were far from it.
    assert liquidation_texts(host, "beta") == []
    set_btc_rate(host, "beta", NEAR_LIQUIDATION)


@pytest.mark.parametrize("service", SERVICES)
def test_services_active_and_enabled(host, service):
    svc = host.service(service)
    assert svc.is_running
    assert svc.is_enabled


@pytest.mark.parametrize("name,port", PORTS.items())
def test_listens_on_loopback_only(host, name, port):
    listeners = host.check_output(f"ss -Htln 'sport = :{port}'").splitlines()
    assert listeners, f"{name}: nothing listens on {port}"
    for line in listeners:
        assert line.split()[3] == f"127.0.0.1:{port}", line


def test_nothing_but_ssh_listens_outside_loopback(host):
    # Alertmanager's cluster port is off, and no listener at all (whatever its port) is bound
    # to a wildcard or an external address, except sshd.
    assert host.check_output("ss -Htln 'sport = :9094'") == ""
    outside = set()
    for line in host.check_output("ss -Htln").splitlines():
        addr, port = line.split()[3].rsplit(":", 1)
        if addr not in ("127.0.0.1", "[::1]"):
            outside.add(int(port))
    assert outside <= {22}, outside


@pytest.mark.parametrize("port", PORTS.values())
def test_not_reachable_from_outside(host, port):
    address = host.interface("eth0").addresses[0]
    with socket.socket() as sock:
        sock.settimeout(5)
        assert sock.connect_ex((address, port)) != 0, f"{address}:{port} accepts connections"


def test_promtool_and_amtool_accept_installed_configs(host):
    prom = host.run("promtool check config /etc/prometheus/prometheus.yml")
    assert prom.rc == 0, prom.stdout + prom.stderr
    assert "2 rule files found" in prom.stdout + prom.stderr
    rules = host.run(
        "promtool check rules /etc/prometheus/rules/risk.yml /etc/prometheus/rules/host.yml"
    )
    assert rules.rc == 0, rules.stdout + rules.stderr
    am = host.run("amtool check-config /etc/prometheus/alertmanager.yml")
    assert am.rc == 0, am.stdout + am.stderr
    assert (
        "risk.telegram.message"
        in host.file("/etc/prometheus/alertmanager_templates/telegram.tmpl").content_string
    )


def test_alertmanager_config_holds_the_telegram_settings_privately(host):
    f = host.file("/etc/prometheus/alertmanager.yml")
    assert (f.user, f.group, f.mode) == ("root", "prometheus", 0o640)
    cfg = yaml.safe_load(f.content_string)
    configs = [tc for r in cfg["receivers"] for tc in r["telegram_configs"]]
    assert len(configs) == 2
    for tc in configs:
        assert tc["api_url"] == "http://127.0.0.1:8443"
        assert tc["bot_token"] == TOKEN
        assert tc["chat_id"] == CHAT
    # Everything else is the repository's file.
    source = yaml.safe_load((REPO / "monitoring/alertmanager/alertmanager.yml").read_text())
    assert cfg["route"] == source["route"]
    assert cfg["inhibit_rules"] == source["inhibit_rules"]


@pytest.mark.parametrize(
    "name", ["prometheus", "prometheus-alertmanager", "prometheus-node-exporter"]
)
def test_default_files_are_the_repositorys(host, name):
    f = host.file(f"/etc/default/{name}")
    assert f.user == "root" and f.mode == 0o644
    assert f.content_string == (REPO / "monitoring/defaults" / name).read_text()


def test_exporter_secrets_and_config(host):
    for bot in ("alpha", "beta"):
        pw = host.file(f"/etc/risk-exporter/{bot}.password")
        assert (pw.user, pw.group, pw.mode) == ("root", "risk-exporter", 0o640)
        assert pw.content_string.strip() == VARS["monitoring_api_password"]
    cfg = yaml.safe_load(host.file("/etc/risk-exporter/config.yml").content_string)
    assert cfg["listen_address"] == "127.0.0.1" and cfg["listen_port"] == 9110
    bots = {b["name"]: b for b in cfg["bots"]}
    assert bots["alpha"]["url"] == "http://127.0.0.1:8101"
    assert bots["alpha"]["max_open_trades"] == 3
    assert "stake_amount" not in bots["alpha"]
    assert bots["beta"]["backtest"] == {"expected_daily_return_ratio": 0.001}
    user = host.user("risk-exporter")
    assert user.shell == "/usr/sbin/nologin"
    props = host.check_output("systemctl show risk-exporter -p User -p MainPID")
    assert "User=risk-exporter" in props


def test_exporter_venv_holds_the_shipped_wheels(host):
    """The exporter and the futures library are installed from the wheels the role built on
    the control node, which the venv keeps with a record of their hashes; no source tree is
    left beside the venv."""
    venv = "/opt/risk-exporter/venv"
    record = host.file(f"{venv}/wheels/installed").content_string.split()
    names = record[1::2]
    assert sorted(n.split("-")[0] for n in names) == ["futures_lib", "risk_exporter"], record
    for digest, name in zip(record[0::2], names, strict=True):
        assert host.check_output(f"sha256sum {venv}/wheels/{name}").split()[0] == digest
    where = host.check_output(
        f"{venv}/bin/python -c 'import futures_lib.margin as m, risk_exporter as r; "
        "print(m.__file__, r.__file__)'"
    ).split()
    assert all(w.startswith(f"{venv}/lib/") for w in where), where
    assert not host.file("/opt/risk-exporter/src").exists


def test_leverage_tiers_read_through_the_current_release(host):
    cfg = yaml.safe_load(host.file("/etc/risk-exporter/config.yml").content_string)
    if host.file("/opt/freqtrade/current").exists:  # the bookworm platform
        path = cfg["leverage_tiers_file"]
        assert path.startswith("/opt/freqtrade/current/lib/python3"), path
        assert "BTC/USDT:USDT" in json.loads(host.file(path).content_string)
        # The exporter's user can read it where it is (no copy in /etc).
        host.run_expect([0], f"runuser -u risk-exporter -- test -r {path}")
    else:
        assert "leverage_tiers_file" not in cfg


WEB_URLS = {
    "prometheus": "http://127.0.0.1:9090/api/v1/targets",
    "alertmanager": "http://127.0.0.1:9093/api/v2/alerts",
    "node-exporter": "http://127.0.0.1:9100/metrics",
    "risk-exporter": "http://127.0.0.1:9110/metrics",
}


@pytest.mark.parametrize("name", WEB_URLS)
def test_web_login_is_required(host, name):
    url = WEB_URLS[name]
    status, challenge, body = request(host, url, login=False)
    assert status == 401, f"{name} answers without the login: {status}"
    assert challenge.lower().startswith("basic"), challenge
    assert "risk_" not in body and "node_" not in body and "activeTargets" not in body
    # Another user with the right password: refused too.
    assert request(host, url, user="admin")[0] == 401
    # Prometheus's and Alertmanager's readiness (the role's own check) too.
    if name in ("prometheus", "alertmanager"):
        ready = url.split("/api/")[0] + "/-/ready"
        assert request(host, ready, login=False)[0] == 401
        assert request(host, ready)[0] == 200
    status, _, body = request(host, url)
    assert status == 200, f"{name} refuses the login: {status}"


def test_web_login_files_are_private_and_in_no_config(host):
    with host.sudo():
        directory = host.file("/etc/monitoring-auth")
        assert (directory.user, directory.group, directory.mode) == ("root", "root", 0o700)
        master = host.file(WEB_PASSWORD_FILE)
        assert (master.user, master.group, master.mode) == ("root", "root", 0o600)
        password = master.content_string.strip()
        # Generated: 32 letters and digits.
        assert len(password) == 32 and password.isalnum(), len(password)
        copies = {
            "/etc/prometheus/web-auth.password": "prometheus",
            "/etc/risk-exporter/web.password": "risk-exporter",
        }
        for path, group in copies.items():
            f = host.file(path)
            assert (f.user, f.group, f.mode) == ("root", group, 0o640), path
            assert f.content_string.strip() == password, path
        web = host.file("/etc/prometheus/web.yml")
        assert (web.user, web.group, web.mode) == ("root", "prometheus", 0o640)
        users = yaml.safe_load(web.content_string)["basic_auth_users"]
        assert list(users) == [WEB_USER] and users[WEB_USER].startswith("$2b$10$")
        for path in (
            "/etc/prometheus/web.yml",
            "/etc/prometheus/prometheus.yml",
            "/etc/risk-exporter/config.yml",
            "/etc/default/prometheus",
        ):
            assert password not in host.file(path).content_string, path
        # Not in the journal (the role's tasks are no_log; the services never print it).
        journal = host.check_output("journalctl -q --no-pager -o cat")
        assert password not in journal
    prom = yaml.safe_load(host.file("/etc/prometheus/prometheus.yml").content_string)
    login = {"username": WEB_USER, "password_file": "/etc/prometheus/web-auth.password"}
    assert all(job["basic_auth"] == login for job in prom["scrape_configs"])
    assert prom["alerting"]["alertmanagers"][0]["basic_auth"] == login
    cfg = yaml.safe_load(host.file("/etc/risk-exporter/config.yml").content_string)
    assert cfg["web_auth"] == {
        "username": WEB_USER,
        "password_file": "/etc/risk-exporter/web.password",
    }


def test_web_login_is_on_no_command_line(host):
    with host.sudo():
        password = host.file(WEB_PASSWORD_FILE).content_string.strip()
        cmdlines = host.check_output("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' || true")
    assert password not in cmdlines
    assert "--web.config.file=/etc/prometheus/web.yml" in cmdlines


def test_exporter_reports_the_fake_bots_positions(host):
    def metrics():
        text = get(host, "http://127.0.0.1:9110/metrics")
        return text if 'risk_bot_up{bot="beta"} 1.0' in text else None

    text = wait_for(metrics, 60, "both bots up in the exporter")
    assert 'risk_bot_up{bot="alpha"} 1.0' in text
    for bot in ("alpha", "beta"):
        # The recorded bot holds four open positions, among them BTC long and ETH short.
        assert f'risk_bot_open_positions{{bot="{bot}"}} 4.0' in text
        assert (
            f'risk_position_liquidation_distance_ratio{{bot="{bot}",pair="BTC/USDT:USDT",side="long"}}'
            in text
        )
        assert f'risk_position_leverage{{bot="{bot}",pair="ETH/USDT:USDT",side="short"}}' in text


def test_prometheus_scrapes_every_target(host):
    def all_up():
        targets = get_json(host, "http://127.0.0.1:9090/api/v1/targets")["data"]["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in targets}
        return health if set(health.values()) == {"up"} else None

    health = wait_for(all_up, 90, "every Prometheus target up")
    assert set(health) == {"risk-exporter", "node", "prometheus", "alertmanager"}
    rules = get_json(host, "http://127.0.0.1:9090/api/v1/rules")["data"]["groups"]
    names = {r["name"] for g in rules for r in g["rules"]}
    assert {"LiquidationApproaching", "BotDown", "DiskSpaceLow"} <= names


def test_zz_liquidation_alert_reaches_telegram(host):
    try:
        after = BASELINE[host.check_output("hostname")]
        texts = wait_for(
            lambda: liquidation_texts(host, "beta", after),
            ALERT_DEADLINE,
            "the liquidation message",
        )
        text = texts[0]
        assert "🚨 Liquidation price approaching: $93,337" in text
        assert "beta long BTC/USDT:USDT" in text
        # Sent with the scenario's token to its chat, as Telegram would have received it.
        raw = host.file("/var/lib/telegram-standin/messages.jsonl").content_string
        sent = [json.loads(line) for line in raw.splitlines()][after:]
        sent = [m for m in sent if m["message"]["text"] in texts]
        assert sent
        for m in sent:
            assert m["message"]["chat"]["id"] == CHAT
            assert m["parse_mode"] == "HTML"
            assert m["sent_text"].startswith("<b>🚨 Liquidation price approaching")
        # alpha, untouched, stays quiet.
        assert liquidation_texts(host, "alpha") == []
    finally:
        set_btc_rate(host, "beta", _recorded_btc_rate())


def _recorded_btc_rate():
    status = json.loads((REPO / "tests/monitoring/fixtures/dryrun/status.json").read_text())
    return next(t["current_rate"] for t in status if t["pair"] == "BTC/USDT:USDT")
