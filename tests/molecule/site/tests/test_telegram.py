"""Telegram against the local Bot API stand-in, on a converged rehearsal host.

The stand-in answers at https://api.telegram.org on the box (/etc/hosts, a test CA the box
trusts); the bots run freqtrade's own Telegram integration, unmodified. Proves that a bot's
start-up is announced, that a dry-run entry produces an entry message and that a /status
command sent by the user gets an answer. Works with any number of bots: it drives the
first bot that allows force entries.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from typing import Any

API = "https://api.telegram.org"
STANDIN_ADDRESS = "127.0.0.2"


def _json(host: Any, cmd: str) -> Any:
    return json.loads(host.check_output(cmd))


def _standin(host: Any, path: str, body: dict[str, Any] | None = None) -> Any:
    # curl with the system CA store and the system resolver: a client of the real API.
    data = (
        f" -H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}" if body else ""
    )
    return _json(host, f"curl -fsS --max-time 10{data} {API}{path}")


def _wait(what: str, probe: Callable[[], Any], seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(2)


def _bot(host: Any) -> dict[str, Any]:
    """Port, API user, pairs and chat of the first bot with force entries enabled."""
    with host.sudo():
        configs = host.check_output("ls /etc/freqtrade/*/config.json").split()
        for path in sorted(configs):
            config = json.loads(host.file(path).content_string)
            if not config.get("force_entry_enable") or not config["telegram"]["enabled"]:
                continue
            env_file = path.rsplit("/", 2)[0] + f"/{config['bot_name']}.env"
            env = host.file(env_file).content_string
            values = dict(
                line.split("=", 1) for line in env.splitlines() if line.startswith("FREQTRADE__")
            )
            return {
                "name": config["bot_name"],
                "env_file": env_file,
                "port": config["api_server"]["listen_port"],
                "user": config["api_server"]["username"],
                "chat": int(json.loads(values["FREQTRADE__TELEGRAM__CHAT_ID"])),
                "pairs": config["exchange"]["pair_whitelist"],
                "max_open_trades": config["max_open_trades"],
            }
    raise AssertionError("no bot with Telegram and force_entry_enable")


def _bot_api(host: Any, bot: dict[str, Any], path: str, body: dict[str, Any] | None = None) -> Any:
    """Call the bot's REST API on the box; the password is read there, never printed."""
    data = (
        f" -H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}" if body else ""
    )
    url = f"http://127.0.0.1:{bot['port']}/api/v1/{path}"
    script = (
        f"set -a; . {bot['env_file']}; exec curl -sS --max-time 30 -w '\\n%{{http_code}}'"
        f' -u "{bot["user"]}:$FREQTRADE__API_SERVER__PASSWORD"{data} {url}'
    )
    with host.sudo():
        out = host.check_output(f"sh -c {shlex.quote(script)}")
    answer, _, status = out.rpartition("\n")
    assert status == "200", f"{path}: HTTP {status}: {answer}"
    return json.loads(answer)


def _messages(host: Any) -> list[dict[str, Any]]:
    return [entry["message"] for entry in _standin(host, "/_messages")]


def test_api_name_resolves_to_the_standin_and_its_ca_is_trusted(host: Any) -> None:
    assert host.service("telegram-standin").is_running
    assert host.service("telegram-standin").is_enabled
    # The process listens on a port of its own; nftables sends the API's port 443 there, so
    # nginx can hold 443 on every address (the _standin calls below go through 443).
    assert host.socket(f"tcp://{STANDIN_ADDRESS}:8443").is_listening
    assert not host.socket(f"tcp://{STANDIN_ADDRESS}:443").is_listening
    with host.sudo():
        rules = host.check_output("nft list table ip telegram_standin")
    assert f"ip daddr {STANDIN_ADDRESS} tcp dport 443 dnat to {STANDIN_ADDRESS}:8443" in rules
    assert host.check_output("getent hosts api.telegram.org").split()[0] == STANDIN_ADDRESS
    assert isinstance(_standin(host, "/_calls"), dict)
    # The stand-in runs unprivileged and keeps the token off its command line.
    pid = host.check_output("systemctl show -p MainPID --value telegram-standin")
    with host.sudo():
        assert host.check_output(f"stat -c %U /proc/{pid}") == "telegram-standin"
        env = host.file("/etc/telegram-standin/standin.env").content_string
        token = dict(line.split("=", 1) for line in env.splitlines())["TELEGRAM_STANDIN_TOKEN"]
        assert token not in host.file(f"/proc/{pid}/cmdline").content_string


def test_secrets_and_keys_are_root_only(host: Any) -> None:
    for path, owner, group, mode in [
        ("/etc/telegram-standin/ca.key", "root", "root", 0o600),
        ("/etc/telegram-standin/standin.env", "root", "root", 0o600),
        ("/etc/telegram-standin/server.key", "root", "telegram-standin", 0o640),
    ]:
        f = host.file(path)
        assert (f.user, f.group, f.mode) == (owner, group, mode), path


def test_bot_http_client_trusts_the_test_ca_only_through_the_drop_in(host: Any) -> None:
    bot = _bot(host)
    env = host.check_output(f"systemctl show -p Environment --value freqtrade@{bot['name']}")
    assert "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" in env.split()
    # httpx, as freqtrade's release has it: certifi's bundle refuses the stand-in, the
    # system bundle (what the drop-in selects) accepts it.
    probe = "/opt/freqtrade/current/bin/python -c " + shlex.quote(
        f"import httpx; print(httpx.get('{API}/_calls').status_code)"
    )
    refused = host.run(f"env -u SSL_CERT_FILE -u SSL_CERT_DIR {probe}")
    assert refused.rc != 0 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr
    assert host.check_output(f"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt {probe}") == "200"


def test_startup_is_announced_and_the_bot_polls_for_commands(host: Any) -> None:
    startup = _wait(
        "the start-up message",
        lambda: [
            m for m in _messages(host) if "Exchange:" in m["text"] and "Strategy:" in m["text"]
        ],
    )
    assert startup[0]["chat"]["id"] == _bot(host)["chat"]
    calls = _wait(
        "a getUpdates long poll", lambda: (c := _standin(host, "/_calls")).get("getUpdates") and c
    )
    assert calls["getMe"] >= 1 and calls["deleteWebhook"] >= 1


def test_dry_run_entry_produces_a_telegram_message(host: Any) -> None:
    bot = _bot(host)
    trades = _bot_api(host, bot, "status")
    if len(trades) >= bot["max_open_trades"]:
        # The strategy may have filled every slot by now: free one, which must be announced.
        oldest = min(trades, key=lambda t: t["trade_id"])
        seen = max(m["message_id"] for m in _messages(host))
        _bot_api(host, bot, "forceexit", {"tradeid": str(oldest["trade_id"])})
        _wait(
            f"the exit message for trade {oldest['trade_id']}",
            lambda: [
                m
                for m in _messages(host)
                if m["message_id"] > seen
                and "Exit" in m["text"]
                and f"(#{oldest['trade_id']})" in m["text"]
            ],
        )
        trades = _bot_api(host, bot, "status")
    open_pairs = {t["pair"] for t in trades}
    pair = next(p for p in bot["pairs"] if p not in open_pairs)
    seen = max((m["message_id"] for m in _messages(host)), default=0)
    trade = _bot_api(host, bot, "forceenter", {"pair": pair, "side": "long"})
    assert trade["pair"] == pair and trade["is_open"]
    entry = _wait(
        f"the entry message for {pair}",
        lambda: [
            m
            for m in _messages(host)
            if m["message_id"] > seen and "New Trade" in m["text"] and pair in m["text"]
        ],
    )
    assert entry[0]["chat"]["id"] == bot["chat"]


def test_status_command_gets_an_answer(host: Any) -> None:
    bot = _bot(host)
    _wait("a getUpdates long poll", lambda: _standin(host, "/_calls").get("getUpdates"))
    injected = _standin(host, "/_inject", {"text": "/status", "chat_id": bot["chat"]})
    asked = injected["result"]["message"]["message_id"]
    # /status answers with one "Trade ID" message per open trade, or "no active trade".
    # Bots sharing a token all poll: whichever fetches the update answers.
    answer = _wait(
        "the answer to /status",
        lambda: [
            m
            for m in _messages(host)
            if m["message_id"] > asked
            and ("*Trade ID:* `" in m["text"] or "no active trade" in m["text"])
        ],
        seconds=60,
    )
    assert answer[0]["chat"]["id"] == bot["chat"]


def test_commands_from_other_chats_are_refused(host: Any) -> None:
    stranger = 990001
    _standin(host, "/_inject", {"text": "/status", "chat_id": stranger})
    with host.sudo():
        _wait(
            "the bot's refusal of a stranger's command",
            lambda: (
                f"Rejected unauthorized message from: {stranger}"
                in host.check_output("journalctl --no-pager -q -u 'freqtrade@*' --since -5min")
            ),
            seconds=60,
        )
    assert not [m for m in _messages(host) if m["chat"]["id"] == stranger]
