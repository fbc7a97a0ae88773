"""Telegram against the local Bot API stand-in, on a converged rehearsal host.

The stand-in answers at https://api.telegram.org on the box (/etc/hosts, a test CA the box
trusts); the bots run freqtrade's own Telegram integration, unmodified. Proves that every
bot polls with a token of its own and that no poll was ended by Telegram's 409 Conflict (one
getUpdates poller per token, which the stand-in enforces), that a bot's start-up is
announced, that a dry-run entry produces an entry message and that a /status command sent
to the bot gets its answer. Works with any number of bots (the whole-site scenario has
two): it drives the first bot that allows force entries. Tokens are read on the box and
compared there by bot id; none is printed.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from typing import Any

from conftest import bot_api
from conftest import wait_for as _wait

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


def _telegram_bots(host: Any) -> list[dict[str, Any]]:
    """Every bot with Telegram on: name, port, API user, pairs, chat and Telegram bot id (the
    number before its token's colon, what the stand-in records) and the token's sha256, to
    compare tokens without holding one where a failing assertion could print it."""
    bots = []
    with host.sudo():
        configs = host.check_output("ls /etc/freqtrade/*/config.json").split()
        for path in sorted(configs):
            config = json.loads(host.file(path).content_string)
            if not config["telegram"]["enabled"]:
                continue
            env_file = path.rsplit("/", 2)[0] + f"/{config['bot_name']}.env"
            env = host.file(env_file).content_string
            values = dict(
                line.split("=", 1) for line in env.splitlines() if line.startswith("FREQTRADE__")
            )
            token = str(json.loads(values.pop("FREQTRADE__TELEGRAM__TOKEN")))
            bots.append(
                {
                    "name": config["bot_name"],
                    "env_file": env_file,
                    "port": config["api_server"]["listen_port"],
                    "user": config["api_server"]["username"],
                    "chat": int(json.loads(values["FREQTRADE__TELEGRAM__CHAT_ID"])),
                    "bot_id": int(token.split(":", 1)[0]),
                    "pairs": config["exchange"]["pair_whitelist"],
                    "max_open_trades": config["max_open_trades"],
                    "force_entry": bool(config.get("force_entry_enable")),
                    "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
                }
            )
    return bots


def _bot(host: Any) -> dict[str, Any]:
    """The first bot with Telegram and force entries enabled."""
    for bot in _telegram_bots(host):
        if bot["force_entry"]:
            return bot
    raise AssertionError("no bot with Telegram and force_entry_enable")


def _bot_api(host: Any, bot: dict[str, Any], path: str, body: dict[str, Any] | None = None) -> Any:
    """Call the bot's REST API on the box; the password is read there, never printed."""
    return bot_api(host, bot["port"], path, body, env_file=bot["env_file"], user=bot["user"])


def _messages(host: Any) -> list[dict[str, Any]]:
    return [entry["message"] for entry in _standin(host, "/_messages")]


def test_api_name_resolves_to_the_standin_and_its_ca_is_trusted(host: Any) -> None:
    assert host.service("telegram-standin").is_running
    assert host.service("telegram-standin").is_enabled
    # The process listens on a port of its own; nftables sends the API's port 443 there, so
    # nginx can hold 443 on every address (the _standin calls below go through 443).
    # (Port 443 on 127.0.0.2 may well be nginx's wildcard listener: the nat rule decides.)
    assert host.socket(f"tcp://{STANDIN_ADDRESS}:8443").is_listening
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
        tokens = dict(line.split("=", 1) for line in env.splitlines())["TELEGRAM_STANDIN_TOKEN"]
        cmdline = host.file(f"/proc/{pid}/cmdline").content_string
        leaked = [i for i, token in enumerate(tokens.split(",")) if token in cmdline]
        assert not leaked, f"tokens #{leaked} on the stand-in's command line"


def test_secrets_and_keys_are_root_only(host: Any) -> None:
    for path, owner, group, mode in [
        ("/etc/telegram-standin/ca.key", "root", "root", 0o600),
        ("/etc/telegram-standin/standin.env", "root", "root", 0o600),
        ("/etc/telegram-standin/server.key", "root", "telegram-standin", 0o640),
    ]:
        f = host.file(path)
        assert (f.user, f.group, f.mode) == (owner, group, mode), path


def test_test_ca_may_sign_the_api_name_only(host: Any) -> None:
    with host.sudo():
        ext = host.check_output(
            "openssl x509 -in /etc/telegram-standin/ca.crt -noout -ext nameConstraints"
        )
    assert "critical" in ext.splitlines()[0], ext
    assert [line.strip() for line in ext.splitlines()[2:]] == ["DNS:api.telegram.org"], ext


def test_bot_http_client_trusts_the_test_ca_only_through_the_system_bundle(host: Any) -> None:
    """The bots' unit names the system bundle (freqtrade_ca_bundle; the stand-in's drop-in
    names it too): certifi's own bundle, httpx's default, would refuse the stand-in."""
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


def test_each_bot_polls_with_its_own_token_and_no_poll_conflicts(host: Any) -> None:
    bots = _telegram_bots(host)
    assert bots, "no bot with Telegram"
    tokens = [bot["token_sha256"] for bot in bots]
    sharing = [bot["name"] for bot in bots if tokens.count(bot["token_sha256"]) > 1]
    assert not sharing, f"bots sharing a Telegram token: {sharing}"
    known = {b["id"] for b in _standin(host, "/_bots")}
    for bot in bots:
        assert bot["bot_id"] in known, f"{bot['name']}: the stand-in does not know its token"
        calls = _wait(
            f"{bot['name']}'s getUpdates long poll",
            lambda bot=bot: (
                (c := _standin(host, f"/_calls?bot_id={bot['bot_id']}")).get("getUpdates") and c
            ),
        )
        assert calls["getMe"] >= 1 and calls["deleteWebhook"] >= 1, bot["name"]
    # Let every bot go through a few more polls (freqtrade's timeout is 20 s), then not one
    # getUpdates, of any token, may have been ended by 409 Conflict.
    ours = {bot["bot_id"] for bot in bots}
    polls = {b["id"]: b["calls"].get("getUpdates", 0) for b in _standin(host, "/_bots")}
    _wait(
        "two more polls of every bot",
        lambda: all(
            b["calls"].get("getUpdates", 0) >= polls[b["id"]] + 2
            for b in _standin(host, "/_bots")
            if b["id"] in ours
        ),
        seconds=90,
    )
    conflicts = {b["id"]: b["conflicts"] for b in _standin(host, "/_bots")}
    assert not any(conflicts.values()), f"409 Conflict answered, per bot id: {conflicts}"
    with host.sudo():
        journal = host.check_output("journalctl --no-pager -q -u 'freqtrade@*' --since -30min")
    assert "terminated by other getUpdates request" not in journal


def test_startup_is_announced(host: Any) -> None:
    for bot in _telegram_bots(host):
        startup = _wait(
            f"{bot['name']}'s start-up message",
            lambda bot=bot: [
                m
                for m in _messages(host)
                if m["from"]["id"] == bot["bot_id"]
                and "Exchange:" in m["text"]
                and "Strategy:" in m["text"]
            ],
        )
        assert startup[0]["chat"]["id"] == bot["chat"]


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
    assert entry[0]["from"]["id"] == bot["bot_id"]


def test_status_command_gets_an_answer(host: Any) -> None:
    bot = _bot(host)
    _wait(
        "a getUpdates long poll",
        lambda: _standin(host, f"/_calls?bot_id={bot['bot_id']}").get("getUpdates"),
    )
    injected = _standin(
        host, "/_inject", {"text": "/status", "chat_id": bot["chat"], "bot_id": bot["bot_id"]}
    )
    asked = injected["result"]["message"]["message_id"]
    # /status answers with one "Trade ID" message per open trade, or "no active trade";
    # the message went to this bot's token only, so this bot answers it.
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
    assert answer[0]["from"]["id"] == bot["bot_id"]


def test_commands_from_other_chats_are_refused(host: Any) -> None:
    stranger = 990001
    bot = _bot(host)
    _standin(host, "/_inject", {"text": "/status", "chat_id": stranger, "bot_id": bot["bot_id"]})
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


def test_commands_from_unauthorized_users_in_the_chat_are_refused(host: Any) -> None:
    """freqtrade_telegram_authorized_users: in the bots' own chat (a group, say), a member
    who is not listed cannot command the bots."""
    member = 990002
    bot = _bot(host)
    _standin(
        host,
        "/_inject",
        {
            "text": "/forceexit all",
            "chat_id": bot["chat"],
            "from_id": member,
            "bot_id": bot["bot_id"],
        },
    )
    with host.sudo():
        _wait(
            "the bot's refusal of an unlisted member's command",
            lambda: (
                f"Unauthorized user tried to control the bot: {member}"
                in host.check_output("journalctl --no-pager -q -u 'freqtrade@*' --since -5min")
            ),
            seconds=60,
        )
