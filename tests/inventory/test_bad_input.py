"""Bad-input matrix: site.yml refuses bad inventory values before anything changes.

Each case is a host with the rehearsal inventory's variables and one bad value, and its own
random vault; one run of the real ``ansible-playbook site.yml`` takes them all, as an
inventory of several servers would. Every host is a container that does not exist, so a
host that ever got past the validation play would end UNREACHABLE: a case passes only when
its host fails in the validation play (no later play reaches it) with a message that names
the variable, and the run prints none of any vault's secret values. The controls (the
unchanged inventory, and the same in live mode without the stand-ins) must get past
validation and fail only as unreachable, which proves that validation, not the missing
host, is what stops the bad cases.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from inventory_run import ROOT, Run, absent_host, play
from inventory_run import per_host as hosts_of

REHEARSAL_VARS = ROOT / "inventories" / "rehearsal" / "group_vars" / "all" / "main.yml"
EXAMPLE_VARS = yaml.safe_load(
    (ROOT / "inventories" / "example" / "group_vars" / "all" / "main.yml").read_text()
)
RUNS = 4  # parallel ansible-playbook runs: one is bound by its single main process

Vars = dict[str, Any]


class Case(NamedTuple):
    name: str
    change: Callable[[Vars, Vars], None]  # (group_vars, vault) -> None, mutates in place
    expect: tuple[str, ...]  # strings the failure output must contain


def _set(key: str, value: Any) -> Callable[[Vars, Vars], None]:
    def change(gv: Vars, _vault: Vars) -> None:
        gv[key] = value

    return change


def _risk(**risk: Any) -> Callable[[Vars, Vars], None]:
    return _set("freqtrade_risk", risk)


def _bot(index: int, **fields: Any) -> Callable[[Vars, Vars], None]:
    def change(gv: Vars, _vault: Vars) -> None:
        gv["freqtrade_bots"][index].update(fields)

    return change


def _vault(**values: Any) -> Callable[[Vars, Vars], None]:
    def change(_gv: Vars, vault: Vars) -> None:
        vault.update(values)

    return change


def _live(gv: Vars, _vault: Vars) -> None:
    """Live mode on a server without the stand-ins, as a real server has it, every bot
    confirmed for it."""
    gv["freqtrade_mode"] = "live"
    gv["replay_exchange_enabled"] = False
    gv["telegram_standin_enabled"] = False
    gv["freqtrade_live_confirmed_bots"] = [bot["name"] for bot in gv["freqtrade_bots"]]


def _live_confirming(names: list[str]) -> Callable[[Vars, Vars], None]:
    """Live mode as _live, with only these bots confirmed."""

    def change(gv: Vars, vault: Vars) -> None:
        _live(gv, vault)
        gv["freqtrade_live_confirmed_bots"] = names

    return change


def _api_passwords(**passwords: Any) -> Callable[[Vars, Vars], None]:
    """Set entries of vault_api_server_passwords (bot name -> password)."""

    def change(_gv: Vars, vault: Vars) -> None:
        vault["vault_api_server_passwords"].update(passwords)

    return change


def _api_passwords_removed(_gv: Vars, vault: Vars) -> None:
    """The vault as it was before per-bot passwords: both bots on the shared one."""
    del vault["vault_api_server_passwords"]


def _live_with_standins(gv: Vars, _vault: Vars) -> None:
    gv["freqtrade_mode"] = "live"


def _example(key: str) -> Callable[[Vars, Vars], None]:
    """The example inventory's own value for key (a placeholder the user must replace)."""
    return _set(key, EXAMPLE_VARS[key])


def _telegram_group(users: list[str]) -> Callable[[Vars, Vars], None]:
    """The bots' chat is a group (a negative id), with these authorized users."""

    def change(gv: Vars, vault: Vars) -> None:
        vault["vault_telegram_chat_id"] = "-1001234567890"
        gv["freqtrade_telegram_authorized_users"] = users

    return change


def _frequi_archive(sha256: str) -> Callable[[Vars, Vars], None]:
    def change(gv: Vars, _vault: Vars) -> None:
        gv["web_edge_frequi_archive"] = "/srv/frequi/freqUI-3.1.1.zip"
        gv["web_edge_frequi_archive_sha256"] = sha256

    return change


def _live_without_keys(gv: Vars, vault: Vars) -> None:
    _live(gv, vault)
    vault["vault_exchange_api_key"] = ""
    vault["vault_exchange_api_secret"] = ""


def _telegram_without_token(gv: Vars, vault: Vars) -> None:
    gv["freqtrade_telegram_enabled"] = True
    vault["vault_telegram_token"] = ""
    del vault["vault_telegram_bot_tokens"]


def _bot_tokens(**tokens: str) -> Callable[[Vars, Vars], None]:
    """Set entries of vault_telegram_bot_tokens (bot name -> token)."""

    def change(_gv: Vars, vault: Vars) -> None:
        vault["vault_telegram_bot_tokens"].update(tokens)

    return change


def _telegram_one_shared_token(_gv: Vars, vault: Vars) -> None:
    # What the role did before per-bot tokens: every bot polls with vault_telegram_token.
    del vault["vault_telegram_bot_tokens"]


def _telegram_unlisted_bot_shares(_gv: Vars, vault: Vars) -> None:
    # airisk is not listed, so it polls with the shared token, which rossc has too.
    vault["vault_telegram_bot_tokens"] = {"rossc": vault["vault_telegram_token"]}


SAME_TOKEN = f"1000000009:{secrets.token_urlsafe(26)}"
SAME_PASSWORD = secrets.token_urlsafe(24)
SHARED_TOKEN_REFUSAL = ("freqtrade_telegram_tokens", "vault_telegram_bot_tokens", "409 Conflict")


def _no_strategy(gv: Vars, _vault: Vars) -> None:
    del gv["freqtrade_bots"][0]["strategy"]


def _rename_bot(index: int, name: str) -> Callable[[Vars, Vars], None]:
    """Rename a bot, and its Telegram token and API password with it (so only the name can
    be at fault)."""

    def change(gv: Vars, vault: Vars) -> None:
        old = gv["freqtrade_bots"][index]["name"]
        gv["freqtrade_bots"][index]["name"] = name
        for per_bot in (vault["vault_telegram_bot_tokens"], vault["vault_api_server_passwords"]):
            per_bot[name] = per_bot.pop(old)

    return change


CASES = [
    Case("leverage-0", _risk(max_leverage=0), ("freqtrade_risk.max_leverage", "125")),
    Case("leverage-200", _risk(max_leverage=200), ("freqtrade_risk.max_leverage", "got 200")),
    Case("risk-50-percent", _risk(risk_per_trade=0.5), ("freqtrade_risk.risk_per_trade",)),
    Case("risk-0.1-percent", _risk(risk_per_trade=0.001), ("freqtrade_risk.risk_per_trade",)),
    Case("drawdown-limit-50", _risk(max_drawdown=0.5), ("freqtrade_risk.max_drawdown", "0.5")),
    Case(
        "daily-loss-limit-percent",
        _risk(daily_loss_limit=3),
        ("freqtrade_risk.daily_loss_limit", "got 3"),
    ),
    Case("rearm-not-a-time", _risk(rearm_at="tomorrow"), ("freqtrade_risk.rearm_at", "tomorrow")),
    Case(
        "bot-drawdown-limit-2",
        _bot(1, risk={"max_drawdown": 0.02}),
        ("freqtrade_bots[1].risk", "max_drawdown", "got 0.02"),
    ),
    Case(
        "governor-status-outside-run",
        _set("freqtrade_governor_status_dir", "/var/lib/governor"),
        ("freqtrade_governor_status_dir", "/run"),
    ),
    Case(
        "bot-risk-override-3-percent",
        _bot(1, risk={"risk_per_trade": 0.03}),
        ("freqtrade_bots[1].risk", "risk_per_trade", "got 0.03"),
    ),
    Case("stoploss-positive", _bot(0, stoploss=0.1), ("freqtrade_bots[0].stoploss", "got 0.1")),
    Case(
        "stoploss-minus-90-percent",
        _bot(0, stoploss=-0.9),
        ("freqtrade_bots[0].stoploss", "got -0.9"),
    ),
    Case(
        "margin-mode-portfolio",
        _set("freqtrade_margin_mode", "portfolio"),
        ("freqtrade_margin_mode", "portfolio"),
    ),
    Case("mode-paper", _set("freqtrade_mode", "paper"), ("freqtrade_mode", "paper")),
    Case("duplicate-bot-names", _bot(1, name="rossc"), ("freqtrade_bots", "unique names")),
    Case("duplicate-api-ports", _bot(1, api_port=8101), ("freqtrade_bots", "unique api_port")),
    Case(
        "api-port-of-the-local-exchange",
        _bot(0, api_port=8090),
        ("freqtrade_bots", "replay_exchange_port"),
    ),
    Case("api-port-80", _bot(0, api_port=80), ("freqtrade_bots[0].api_port", "got 80")),
    Case(
        "orphan-close-within-the-order-timeout",
        _set("monitoring_exporter_close_orphans_after_seconds", 10),
        ("monitoring_exporter_close_orphans_after_seconds", "at least 60", "got 10"),
    ),
    Case(
        "exchange-names-on-a-public-address",
        _set("replay_exchange_tls_address", "10.0.0.5"),
        ("replay_exchange_tls_address", "loopback", "10.0.0.5"),
    ),
    Case(
        "bot-name-not-a-systemd-instance",
        _bot(0, name="Ross Cameron"),
        ("freqtrade_bots[0].name", "systemd instance name"),
    ),
    Case("bot-without-strategy", _no_strategy, ("freqtrade_bots", "strategy")),
    Case(
        "pair-without-settle-currency",
        _set("freqtrade_pairs", ["BTCUSDT"]),
        ("freqtrade_pairs", "BTCUSDT"),
    ),
    Case(
        "example-password",
        _vault(vault_api_server_password="futures2024"),
        ("freqtrade_api_password",),
    ),
    Case(
        "placeholder-password",
        _vault(vault_api_server_password="CHANGE-ME-at-least-16-chars"),
        ("freqtrade_api_password",),
    ),
    Case(
        "short-password",
        _vault(vault_api_server_password=secrets.token_hex(6)),
        ("freqtrade_api_password", "at least 16"),
    ),
    Case(
        "short-jwt-secret",
        _vault(vault_api_server_jwt_secret=secrets.token_hex(8)),
        ("freqtrade_api_jwt_secret",),
    ),
    Case(
        "secret-not-a-string",
        _vault(vault_api_server_ws_token=[secrets.token_urlsafe(24)]),
        ("freqtrade_api_ws_token", "must be a string"),
    ),
    Case(
        "telegram-without-token",
        _telegram_without_token,
        ("freqtrade_telegram_token",),
    ),
    Case(
        "telegram-bots-share-the-one-token",
        _telegram_one_shared_token,
        (*SHARED_TOKEN_REFUSAL, "bots airisk, rossc would share one Telegram token"),
    ),
    Case(
        "telegram-bots-given-the-same-token",
        _bot_tokens(rossc=SAME_TOKEN, airisk=SAME_TOKEN),
        (*SHARED_TOKEN_REFUSAL, "bots airisk, rossc would share one Telegram token"),
    ),
    Case(
        "telegram-unlisted-bot-shares-the-default-token",
        _telegram_unlisted_bot_shares,
        (*SHARED_TOKEN_REFUSAL, "bots airisk, rossc would share one Telegram token"),
    ),
    Case(
        "telegram-bot-token-placeholder",
        _bot_tokens(airisk="CHANGE-ME"),
        ("freqtrade_telegram_tokens.airisk (vault_telegram_bot_tokens.airisk)", "CHANGE-ME"),
    ),
    Case(
        "telegram-bot-token-empty",
        _bot_tokens(rossc=""),
        ("freqtrade_telegram_tokens.rossc (vault_telegram_bot_tokens.rossc)", "required"),
    ),
    Case(
        "telegram-token-for-no-such-bot",
        _bot_tokens(rosc=f"1000000008:{secrets.token_urlsafe(26)}"),
        ("freqtrade_telegram_tokens (vault_telegram_bot_tokens)", "no bot is named rosc"),
    ),
    Case("leverage-not-a-number", _risk(max_leverage="ten"), ("max_leverage", "float")),
    Case("wrong-type-role-var", _set("common_swap_size_mb", "lots"), ("common_swap_size_mb",)),
    Case(
        "live-without-exchange-keys",
        _live_without_keys,
        ("freqtrade_exchange_key", "freqtrade_exchange_secret"),
    ),
    Case(
        "live-without-confirming-a-bot",
        _live_confirming(["rossc"]),
        ("freqtrade_mode is live", "freqtrade_live_confirmed_bots does not name airisk"),
    ),
    Case(
        "live-confirming-no-such-bot",
        _live_confirming(["rossc", "airisk", "rosc"]),
        ("freqtrade_live_confirmed_bots", "names rosc", "not in freqtrade_bots"),
    ),
    Case(
        "bots-share-the-one-api-password",
        _api_passwords_removed,
        ("freqtrade_api_passwords (vault_api_server_passwords)", "bots airisk, rossc would share"),
    ),
    Case(
        "bots-given-the-same-api-password",
        _api_passwords(rossc=SAME_PASSWORD, airisk=SAME_PASSWORD),
        ("freqtrade_api_passwords (vault_api_server_passwords)", "bots airisk, rossc would share"),
    ),
    Case(
        "bot-api-password-placeholder",
        _api_passwords(airisk="CHANGE-ME-at-least-16-chars"),
        ("freqtrade_api_passwords.airisk (vault_api_server_passwords.airisk)", "at least 16"),
    ),
    Case(
        "bot-api-password-short",
        _api_passwords(rossc=secrets.token_hex(6)),
        ("freqtrade_api_passwords.rossc (vault_api_server_passwords.rossc)", "at least 16"),
    ),
    Case(
        "api-password-for-no-such-bot",
        _api_passwords(rosc=secrets.token_urlsafe(24)),
        ("freqtrade_api_passwords (vault_api_server_passwords)", "no bot is named rosc"),
    ),
    Case(
        "live-with-the-stand-ins",
        _live_with_standins,
        ("freqtrade_mode is live", "replay_exchange_enabled and telegram_standin_enabled"),
    ),
    Case(
        "telegram-group-without-authorized-users",
        _telegram_group(users=[]),
        ("freqtrade_telegram_chat_id (vault_telegram_chat_id) is a group or channel",),
    ),
    Case(
        "telegram-authorized-user-by-name",
        _telegram_group(users=["@operator"]),
        ("freqtrade_telegram_authorized_users must list Telegram user ids", "that are not: 1"),
    ),
    # Rules of the later roles (their tasks/assert.yml), judged before the first role runs.
    Case(
        "frequi-archive-without-sha256",
        _frequi_archive(sha256=""),
        ("web_edge_frequi_archive_sha256 must be the", "got ''"),
    ),
    Case(
        "frequi-archive-sha256-not-hex",
        _frequi_archive(sha256="sha256:0466f04b"),
        ("web_edge_frequi_archive_sha256 must be the", "got 'sha256:0466f04b'"),
    ),
    Case(
        "example-deploy-key",
        _example("hardening_deploy_authorized_keys"),
        ("hardening_deploy_authorized_keys", "placeholders such as the example inventory's key: 1"),
    ),
    Case(
        "example-domain",
        _example("web_edge_domain"),
        ("web_edge_domain ('bots.example.com')", "placeholders"),
    ),
    Case(
        "example-acme-email",
        _example("web_edge_acme_email"),
        ("web_edge_acme_email ('you@example.com')", "placeholders"),
    ),
    Case("root-as-bot-user", _set("common_bot_user", "root"), ("common_bot_user",)),
    Case(
        "deploy-key-not-a-public-key",
        _set("hardening_deploy_authorized_keys", ["ssh-ed25519"]),
        ("hardening_deploy_authorized_keys", "Nothing was changed"),
    ),
    Case(
        "bot-api-port-of-prometheus",
        _bot(1, api_port=9090),
        ("monitoring_bots", "not a monitoring port", "9090"),
    ),
    Case("keep-no-backup", _set("backup_keep_count", 0), ("backup_keep_count", "got 0")),
    Case(
        "bot-named-like-the-edge-api-path",
        _rename_bot(1, "api"),
        ("web_edge_bots", "not 'api'", "'api'"),
    ),
    Case(
        "domain-with-underscore",
        _set("web_edge_domain", "bots_example.com"),
        ("web_edge_domain", "bots_example.com"),
    ),
    Case(
        "allow-list-not-addresses",
        _set("web_edge_allow_ips", ["office"]),
        ("web_edge_allow_ips", "office"),
    ),
    Case(
        "public-https-port-out-of-range",
        _set("web_edge_public_https_port", 84430),
        ("web_edge_public_https_port must be", "1-65535", "'84430'"),
    ),
]


def _vault_values() -> Vars:
    # The shape of tools/test-vault.sh's vault, with fresh random values per case.
    return {
        "vault_exchange_api_key": f"rehearsal-{secrets.token_urlsafe(24)}",
        "vault_exchange_api_secret": secrets.token_urlsafe(48),
        "vault_api_server_password": secrets.token_urlsafe(24),
        "vault_api_server_jwt_secret": secrets.token_urlsafe(48),
        "vault_api_server_ws_token": secrets.token_urlsafe(32),
        "vault_telegram_token": f"1000000001:{secrets.token_urlsafe(26)}",
        "vault_telegram_chat_id": "4242",
        "vault_telegram_bot_tokens": {
            "rossc": f"1000000002:{secrets.token_urlsafe(26)}",
            "airisk": f"1000000003:{secrets.token_urlsafe(26)}",
        },
        "vault_api_server_passwords": {
            "rossc": secrets.token_urlsafe(24),
            "airisk": secrets.token_urlsafe(24),
        },
    }


def _secret_values(vault: Vars) -> tuple[str, ...]:
    flat = [
        w
        for v in vault.values()
        for w in (v if isinstance(v, list) else v.values() if isinstance(v, dict) else [v])
    ]
    return tuple(str(v) for v in flat if len(str(v)) >= 12)


def _write_inventory(
    inventory: Path, jobs: dict[str, Callable[[Vars, Vars], None] | None]
) -> dict[str, tuple[str, ...]]:
    """One host per case, each with the rehearsal's variables changed by its case and its own
    vault as host variables. Returns each host's secret values."""
    hosts: dict[str, Vars] = {}
    secret_values = {}
    for name, change in jobs.items():
        group_vars = yaml.safe_load(REHEARSAL_VARS.read_text())
        vault = _vault_values()
        if change is not None:
            change(group_vars, vault)
        host_vars = inventory / "host_vars" / name
        host_vars.mkdir(parents=True)
        (host_vars / "main.yml").write_text(yaml.safe_dump(group_vars))
        (host_vars / "vault.yml").write_text(yaml.safe_dump(vault))
        (host_vars / "vault.yml").chmod(0o600)
        secret_values[name] = _secret_values(vault)
        hosts[name] = absent_host()
    (inventory / "hosts.yml").write_text(
        yaml.safe_dump({"all": {"children": {"bot_hosts": {"hosts": hosts}}}})
    )
    return secret_values


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every case and the controls, one host per case in one inventory, in RUNS parallel
    ansible-playbook runs (--limit): a failed host leaves its run and the others go on, as
    with several servers in one inventory."""
    jobs = {case.name: copy.deepcopy(case.change) for case in CASES}
    jobs["control"] = None
    jobs["control-live"] = _live
    workdir = tmp_path_factory.mktemp("badinput")
    secret_values = _write_inventory(workdir / "inventory", jobs)
    names = list(jobs)
    chunks = [names[i::RUNS] for i in range(RUNS)]
    with ThreadPoolExecutor(max_workers=RUNS) as pool:
        results = list(pool.map(lambda hosts: play(workdir, workdir / "inventory", hosts), chunks))
    everything = "".join(output for _report, output in results)
    leaked = [
        name for name, values in secret_values.items() if any(v in everything for v in values)
    ]
    assert not leaked, f"vault values of these cases appear in the output: {leaked}"
    per_host: dict[str, Run] = {}
    for report, _output in results:
        per_host.update(hosts_of(report))
    return {name: per_host.get(name, Run([], [])) for name in jobs}


def test_matrix_is_large_enough() -> None:
    assert len(CASES) >= 12
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("control", ["control", "control-live"])
def test_control_gets_past_validation(control: str, runs: dict[str, Run]) -> None:
    """The rehearsal's inventory, and the same in live mode without the stand-ins."""
    run = runs[control]
    assert not run.validation, run.validation
    assert any(result.get("unreachable") for result in run.later), run.later


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_fails_in_validation(case: Case, runs: dict[str, Run]) -> None:
    run = runs[case.name]
    messages = "\n".join(run.validation)
    assert messages, f"{case.name}: no failure in the validation play"
    # Validation failed the host, so the plays that change it never reached it.
    assert not run.later, run.later
    for expected in case.expect:
        assert expected in messages, f"{expected!r} missing from:\n{messages}"
