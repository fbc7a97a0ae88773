"""Helpers to drive the converged test server (a systemd container) from the control machine.

Everything goes through `docker exec`, so the same helpers work against the reliability
container, the rehearsal or a Molecule instance: the name comes from FT_RELIABILITY_CONTAINER.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TOP = Path(__file__).resolve().parents[2]
CONTAINER = os.environ.get("FT_RELIABILITY_CONTAINER", "ft-reliability")
BOTS: dict[str, int] = {"rossc": 8101, "airisk": 8102}
EXCHANGE = "http://127.0.0.1:8090"
MONITOR = "http://127.0.0.1:9110/metrics"  # the risk exporter (roles/monitoring)
EXCHANGE_UNIT = "replay-exchange"
DATA_DIR = "/var/lib/freqtrade/bots"


def run(
    cmd: list[str], *, stdin: str | None = None, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, timeout=timeout, check=check
    )


def sh(script: str, *, stdin: str | None = None, timeout: float = 120, check: bool = True) -> str:
    """Run a shell script as root inside the server; its stdout."""
    cmd = ["docker", "exec", "-i", CONTAINER, "bash", "-c", script]
    return run(cmd, stdin=stdin, timeout=timeout, check=check).stdout


def vault() -> dict[str, Any]:
    """The decrypted per-machine test vault (.cache/vault)."""
    out = run(
        [
            str(TOP / ".venv/bin/ansible-vault"),
            "view",
            "--vault-password-file",
            str(TOP / ".cache/vault/pass"),
            str(TOP / ".cache/vault/vault.yml"),
        ]
    ).stdout
    data = yaml.safe_load(out)
    assert isinstance(data, dict), "the vault is not a mapping"
    return data


@dataclass(frozen=True)
class Answer:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


# Runs inside the server: one HTTP request described by a JSON document on stdin, so that
# credentials and bodies never appear on a command line (`ps`, the journal).
_CLIENT = r"""
import base64, json, ssl, sys, urllib.error, urllib.request
r = json.load(sys.stdin)
# The rehearsal's web edge has a self-signed certificate (TLS is tested by testssl).
tls = ssl._create_unverified_context()
req = urllib.request.Request(r["url"], method=r["method"])
if r["body"] is not None:
    req.data = r["body"].encode()
    req.add_header("Content-Type", r["ctype"])
if r["user"]:
    req.add_header("Authorization", "Basic " + base64.b64encode(r["user"].encode()).decode())
try:
    with urllib.request.urlopen(req, timeout=r["timeout"], context=tls) as f:
        status, body = f.status, f.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
except Exception as e:
    status, body = 0, repr(e).encode()
print(json.dumps({"status": status, "body": body.decode("utf-8", "replace")}))
"""


def http(
    url: str,
    *,
    method: str = "GET",
    body: str | None = None,
    user: str | None = None,
    ctype: str = "application/json",
    timeout: float = 20,
) -> Answer:
    """One HTTP request made inside the server (status 0: no answer, connection failed)."""
    request = {"url": url, "method": method, "body": body, "user": user, "ctype": ctype}
    request["timeout"] = timeout
    out = sh(f"python3 -c {shlex.quote(_CLIENT)}", stdin=json.dumps(request), timeout=timeout + 30)
    answer = json.loads(out)
    return Answer(int(answer["status"]), str(answer["body"]))


def api_user(bot: str) -> str:
    """The bot's own API login (a bot not in vault_api_server_passwords has the shared one)."""
    own = vault().get("vault_api_server_passwords") or {}
    return f"trader:{own.get(bot, vault()['vault_api_server_password'])}"


def api_base(bot: str, door: str = "bot") -> str:
    """The bot's API root: on its own port (127.0.0.1 only), or through the web edge (nginx,
    the only way in from outside), where each bot has its own path."""
    if door == "edge":
        return f"https://127.0.0.1/{bot}/api/v1"
    return f"http://127.0.0.1:{BOTS[bot]}/api/v1"


def bot_api(bot: str, path: str, *, door: str = "bot", **kw: Any) -> Answer:
    return http(f"{api_base(bot, door)}/{path}", user=api_user(bot), **kw)


def ping(bot: str) -> bool:
    answer = http(f"http://127.0.0.1:{BOTS[bot]}/api/v1/ping", timeout=5)
    return answer.status == 200 and '"pong"' in answer.body


def unit(name: str) -> dict[str, str]:
    """systemctl show of a unit as a dict."""
    props = "ActiveState,SubState,MainPID,NRestarts,Result,RestartUSec,WatchdogUSec,Type"
    out = sh(f"systemctl show {name} -p {props}")
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def wait_for(check: Any, timeout: float, step: float = 1.0) -> float | None:
    """Seconds until check() is true, or None after timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if check():
                return time.monotonic() - t0
        except (subprocess.SubprocessError, ValueError):
            pass
        time.sleep(step)
    return None


def healthy(bot: str) -> bool:
    return unit(f"freqtrade@{bot}")["ActiveState"] == "active" and ping(bot)


def last_process(bot: str) -> float:
    """Unix time of the bot's last completed loop (/api/v1/health)."""
    return float(bot_api(bot, "health").json()["last_process_ts"])


def trades(bot: str) -> list[dict[str, Any]]:
    """Every trade row of the bot's SQLite database (read-only, concurrent-safe)."""
    query = (
        "select id, pair, is_open, open_date, open_rate, amount, stake_amount, exit_reason "
        "from trades "
        "order by id"
    )
    return _sql(bot, query)


def orders(bot: str) -> list[dict[str, Any]]:
    return _sql(bot, "select id, ft_trade_id, order_id, ft_order_side, status from orders")


def _sql(bot: str, query: str) -> list[dict[str, Any]]:
    db = f"{DATA_DIR}/{bot}/tradesv3.sqlite"
    code = (
        "import json, sqlite3, sys\n"
        f"c = sqlite3.connect('file:{db}?mode=ro', uri=True)\n"
        "c.row_factory = sqlite3.Row\n"
        "print(json.dumps([dict(r) for r in c.execute(sys.stdin.read())]))\n"
    )
    return json.loads(sh(f"python3 -c {shlex.quote(code)}", stdin=query))


def exchange_state() -> dict[str, Any]:
    return http(f"{EXCHANGE}/_control/state").json()


def exchange_faulted() -> dict[str, dict[str, int]]:
    """Requests a fault acted on, {mode: {"METHOD /path": n}}, counted by the exchange since
    it started (never reset: compare two readings)."""
    faulted: dict[str, dict[str, int]] = exchange_state()["faulted"]
    return faulted


# A log record starts with its own timestamp; freqtrade wraps long records over several lines.
_RECORD_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - ")


def journal(name: str, since: float) -> list[tuple[float, str]]:
    """A unit's log records since a Unix time: (time the journal received it, text), the
    wrapped continuation lines (same time, no timestamp of their own) joined back on."""
    out = sh(f"journalctl -u {shlex.quote(name)} --since @{since:.3f} -o short-unix --no-pager")
    records: list[tuple[float, str]] = []
    for line in out.splitlines():
        stamp, _, rest = line.partition(" ")  # "<unix time> <host> <ident>[<pid>]: <text>"
        try:
            at = float(stamp)
        except ValueError:
            continue  # "-- No entries --"
        text = rest.split(": ", 1)[1] if ": " in rest else ""
        if records and records[-1][0] == at and not _RECORD_START.match(text):
            records[-1] = (records[-1][0], f"{records[-1][1]} {text}")
        else:
            records.append((at, text))
    return records


def exchange_fault(spec: dict[str, Any] | None) -> Answer:
    """Switch a fault on (spec) or every fault off (None)."""
    if spec is None:
        return http(f"{EXCHANGE}/_control/faults", method="DELETE")
    return http(f"{EXCHANGE}/_control/faults", method="POST", body=json.dumps(spec))


# The monitoring's web login (roles/monitoring): the role's default user name, and the
# password the role made on the server (root only); read there, sent on stdin by http().
MONITOR_USER = "monitoring"
MONITOR_PASSWORD_FILE = "/etc/monitoring-auth/password"


def monitor_user() -> str:
    """user:password of the monitoring's web login, for http(user=...)."""
    return f"{MONITOR_USER}:{sh(f'cat {MONITOR_PASSWORD_FILE}').strip()}"


def monitor_http(url: str, **kw: Any) -> Answer:
    """A request to Prometheus, Alertmanager, node-exporter or the risk exporter."""
    return http(url, user=monitor_user(), **kw)


def monitor_counter(name: str) -> dict[str, float]:
    """A per-bot series of the risk exporter's /metrics, {bot: value}."""
    answer = monitor_http(MONITOR)
    assert answer.status == 200, f"the risk exporter does not answer: {answer}"
    values: dict[str, float] = {}
    for line in answer.body.splitlines():
        if line.startswith(name + "{"):
            labels, _, value = line.rpartition(" ")
            bot = labels.split('bot="', 1)[1].split('"', 1)[0]
            values[bot] = float(value)
    return values
