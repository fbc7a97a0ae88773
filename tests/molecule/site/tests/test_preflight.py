"""`site.yml --tags preflight` on a converged host: a sound account passes every check and
nothing changes (also under --check); an account that is wrong in every way (a key that can
withdraw and is not IP-restricted, hedge mode, multi-assets mode, a too-small wallet) is
refused with a message naming each failed check, and `freqtrade_preflight_require_ip_restriction:
false` accepts the unrestricted key; a missing key is refused naming the vault variable.
Bookworm instance only. Each account state alone, through the same ccxt calls, is
tests/preflight/test_preflight_exchange.py (pytest lane, seconds instead of playbook runs).

The local exchange's control API can set a wallet balance but neither a key's withdrawal
permission nor the position or asset mode (its signed endpoints refuse hedge and
multi-assets mode). So these cases run against throw-away instances of the same exchange,
one per account state, on 127.0.0.1:8091 and up (transient systemd units) whose keys and
state files the test writes, with a throw-away Binance-shaped key pair passed in an
extra-vars file; the rehearsal's own exchange on 8090 and its state are never touched. The
cases' playbook runs go three at a time (each mostly waits), one fixture, then each test
judges its own run.

The rehearsal's own key must pass against the rehearsal exchange. A vault made while
tools/test-vault.sh wrote "rehearsal-" + URL-safe base64 keys holds a key that is not
alphanumeric, which the local exchange, like Binance, refuses (-2014, API-key format
invalid): with such a vault that case is an expected failure."""

import json
import os
import re
import secrets
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import playbook

INSTANCE = f"{os.environ.get('MOLECULE_INSTANCE', 'molecule')}-bookworm"
testinfra_hosts = [f"ansible://{INSTANCE}"]

SPARE_PORT = 8091  # the gate's spare; the cases' spares follow it
SPARE_URL = f"http://127.0.0.1:{SPARE_PORT}"
SPARE_UNIT = "preflight-test-exchange"
SPARE_DIR = "/var/tmp/preflight-test-exchange"
RX = "/opt/replay-exchange"
CHECKS = (
    "exchange_reachable",
    "clock_offset",
    "api_key_permissions",
    "position_mode",
    "margin_mode",
    "futures_balance",
)
# Account state of each case's spare exchange: Spare.set()'s arguments, and the wallet.
STATES: dict[str, dict] = {
    "sound": {},
    "unsound": {
        "can_withdraw": True,
        "ip_restrict": False,
        "hedge": True,
        "multi": True,
        "balance": 50,
    },
}
# Each preflight run: the spare it runs against ("" = none, "rehearsal" = the rehearsal's own
# exchange and key) and its extra arguments.
MINIMUM = ("-e", "freqtrade_preflight_min_balance=100")
RUNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sound": ("sound", ()),
    "check": ("sound", ("--check",)),
    "unsound": ("unsound", MINIMUM),
    "ip_accepted": (
        "unsound",
        (*MINIMUM, "-e", "freqtrade_preflight_require_ip_restriction=false"),
    ),
    "missing_key": ("", ("-e", '{"vault_exchange_api_key": "", "vault_exchange_api_secret": ""}')),
    "rehearsal": ("rehearsal", ()),
}
# Playbook runs at once: each mostly waits (on the exchange and the box), so the cases
# overlap instead of queueing on CI's critical path; two rounds.
PARALLEL = 3


def site(*args: str) -> subprocess.CompletedProcess:
    return playbook("site.yml", INSTANCE, "--tags", "preflight", *args, timeout=900)


def recap(result: subprocess.CompletedProcess) -> dict[str, int]:
    line = re.search(rf"^{re.escape(INSTANCE)}\s*:\s*(ok=.*)$", result.stdout, re.M)
    assert line, result.stdout[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line.group(1))}


def refused(result: subprocess.CompletedProcess, check: str, words: str) -> None:
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-3000:]
    assert f"Preflight failed: {check}" in out, out[-3000:]
    assert words in out, out[-3000:]
    assert recap(result)["changed"] == 0


@pytest.fixture(scope="module")
def test_key() -> tuple[str, str]:
    """A throw-away key pair shaped like Binance's (64 alphanumerics)."""
    return secrets.token_hex(32), secrets.token_hex(32)


def vars_file(directory, name: str, key: tuple[str, str], url: str) -> tuple[str, str]:
    """Extra vars that point the preflight at a spare exchange with the test key."""
    path = directory / f"{name}.json"
    path.touch(mode=0o600)
    # The rehearsal reaches its own exchange under Binance's names; a spare is reached by
    # its address, through ccxt's URLs (the ones the preflight reads).
    api = {
        f"fapi{kind}{v}": f"{url}/fapi/v{v[-1:] or 1}"
        for kind in ("Public", "Private")
        for v in ("", "V2", "V3")
    }
    doc = {
        "freqtrade_exchange_key": key[0],
        "freqtrade_exchange_secret": key[1],
        "freqtrade_ccxt_config": {"urls": {"api": {**api, "sapi": f"{url}/sapi/v1"}}},
    }
    path.write_text(json.dumps(doc))
    return "-e", f"@{path}"


@pytest.fixture(scope="module")
def spare_vars(test_key, tmp_path_factory) -> tuple[str, str]:
    """Extra vars for the gate's spare exchange."""
    return vars_file(tmp_path_factory.mktemp("preflight"), "gate", test_key, SPARE_URL)


@pytest.fixture(scope="module")
def key(host) -> tuple[str, str]:
    """The rehearsal vault's key pair, as the rehearsal's exchange knows it."""
    keys = json.loads(host.check_output("cat /etc/replay-exchange/keys.json"))
    (api_key, entry), *_ = keys.items()
    return api_key, entry["secret"]


def no_secret(result: subprocess.CompletedProcess, key: tuple[str, str]) -> None:
    out = result.stdout + result.stderr
    assert key[0] not in out and key[1] not in out, "the preflight printed the key or secret"


class Spare:
    """A second local exchange whose key permissions and account modes the test sets."""

    def __init__(self, host, key: tuple[str, str], port: int = SPARE_PORT):
        self.host, self.key, self.port = host, key, port
        self.unit = f"{SPARE_UNIT}-{port}"
        self.dir = f"{SPARE_DIR}/{port}"
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.host.run(f"systemctl stop {self.unit}")

    def start(self) -> None:
        self.host.check_output(
            f"systemd-run --collect --unit {self.unit} "
            f"{RX}/venv/bin/python -m replay_exchange --data {RX}/data "
            f"--state {self.dir}/state.json --host 127.0.0.1 --port {self.port} "
            f"--keys {self.dir}/keys.json"
        )
        self.host.check_output(
            f"curl -fsS --retry 60 --retry-delay 1 --retry-all-errors {self.url}/fapi/v1/ping"
        )

    def control(self, path: str, body: dict) -> dict:
        out = self.host.check_output(
            f"curl -fsS -H 'Content-Type: application/json' -d '{json.dumps(body)}' "
            f"{self.url}/_control/{path}"
        )
        return json.loads(out)

    def write_json(self, path: str, doc: dict) -> None:
        self.host.check_output(f"cat > {path} <<'EOF'\n{json.dumps(doc)}\nEOF")

    def set(
        self,
        can_withdraw: bool = False,
        hedge: bool = False,
        multi: bool = False,
        ip_restrict: bool = True,
        balance: float = 10000,
    ) -> None:
        """Restart with the key's permissions (withdrawals, IP restriction), the account's
        modes and its wallet."""
        self.stop()
        self.host.check_output(f"install -d -m 0700 {self.dir}")
        entry = {"secret": self.key[1], "canWithdraw": can_withdraw, "ipRestrict": ip_restrict}
        keys = {self.key[0]: entry}
        self.write_json(f"{self.dir}/keys.json", keys)
        state_file = f"{self.dir}/state.json"
        if not self.host.file(state_file).exists:
            # The account exists once the exchange has seen the key: create it through the
            # control API (which sets its wallet), then stop to edit the state file.
            self.start()
            self.control("account", {"apiKey": self.key[0], "balance": 10000})
            self.stop()
        state = json.loads(self.host.check_output(f"cat {state_file}"))
        (account,) = state["accounts"].values()  # this exchange knows one key
        account.update(dual=hedge, multi_assets=multi)
        self.write_json(state_file, state)
        self.start()
        if balance != 10000:
            assert (
                self.control("account", {"apiKey": self.key[0], "balance": balance})["wallet"]
                == balance
            )


def _cleanup(host) -> None:
    host.run(f"systemctl stop '{SPARE_UNIT}-*'; systemctl reset-failed '{SPARE_UNIT}-*'")
    host.check_output(f"rm -rf {SPARE_DIR}")


@pytest.fixture(scope="module")
def spare(host, test_key):
    """The live gate's spare exchange (its tests set its state one after the other)."""
    _cleanup(host)
    exchange = Spare(host, test_key)
    yield exchange
    _cleanup(host)


@pytest.fixture(scope="module")
def runs(host, test_key, key, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Every preflight case's `site.yml --tags preflight`, PARALLEL at a time, each against
    its own spare exchange (one per account state) so no case waits for another's set-up."""
    _cleanup(host)
    directory = tmp_path_factory.mktemp("preflight-cases")
    spares = {name: Spare(host, test_key, SPARE_PORT + 1 + i) for i, name in enumerate(STATES)}
    for name, spare_exchange in spares.items():
        spare_exchange.set(**STATES[name])
    extra = {
        name: vars_file(directory, name, test_key, spare_exchange.url)
        for name, spare_exchange in spares.items()
    }
    extra[""] = extra["rehearsal"] = ()

    def run(case: str) -> subprocess.CompletedProcess:
        target, args = RUNS[case]
        return site(*extra[target], *args)

    try:
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            done = dict(zip(RUNS, pool.map(run, RUNS), strict=True))
    finally:
        for spare_exchange in spares.values():
            spare_exchange.stop()
    for case, (target, _) in RUNS.items():
        no_secret(done[case], key if target == "rehearsal" else test_key)
    return done


def test_sound_account_passes_and_nothing_changes(host, runs):
    result = runs["sound"]
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    for check in CHECKS:
        assert f"ok    {check}: " in result.stdout, result.stdout[-3000:]
    assert "Preflight passed" in result.stdout
    assert recap(result)["changed"] == 0
    # Nothing written on the host, not even the script (it is fed on stdin).
    assert not host.file("/opt/freqtrade/bin/freqtrade-preflight").exists


def test_check_mode_runs_the_checks_too(runs):
    result = runs["check"]
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "ok    api_key_permissions: " in result.stdout
    assert recap(result)["changed"] == 0


UNSOUND = {
    "api_key_permissions": "withdrawal permission is enabled",
    "position_mode": "hedge mode is on",
    "margin_mode": "multi-assets mode is on",
    "futures_balance": "50.00 USDT in the futures wallet",
}
NOT_RESTRICTED = "not restricted to trusted IPs (ipRestrict: false)"


def flat(result: subprocess.CompletedProcess) -> str:
    """The run's output with Ansible's YAML line wrapping undone (it wraps at spaces)."""
    return " ".join((result.stdout + result.stderr).split())


def test_every_unsound_setting_is_refused_and_named(runs):
    result = runs["unsound"]
    refused(result, ", ".join(UNSOUND), NOT_RESTRICTED)
    out = flat(result)
    for check, words in UNSOUND.items():
        assert f"FAIL {check}: {words}" in out, check
    assert "freqtrade_preflight_require_ip_restriction: false" in out
    for check in ("exchange_reachable", "clock_offset"):
        assert f"ok {check}: " in out, check


def test_an_unrestricted_key_is_accepted_when_configured(runs):
    """The key still can withdraw, so it is refused, but no longer for its IP restriction."""
    result = runs["ip_accepted"]
    refused(result, ", ".join(UNSOUND), UNSOUND["api_key_permissions"])
    assert "ipRestrict" not in flat(result)


def test_missing_key_names_the_vault_variable(runs):
    result = runs["missing_key"]
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-3000:]
    assert "The preflight needs the exchange API key and secret" in out, out[-3000:]
    assert "vault_exchange_api_key" in out


def test_rehearsal_vault_key(key, runs):
    """With the rehearsal's own key and exchange, reached as production reaches Binance
    (https://fapi.binance.com and api.binance.com, the box's CA bundle): every check passes."""
    # Binance keys are 64 alphanumeric characters; tools/test-vault.sh makes them so.
    assert key[0].isalnum(), "the test vault's exchange key is not Binance-shaped"
    result = runs["rehearsal"]
    assert recap(result)["changed"] == 0
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


# The live gate (roles/freqtrade/tasks/live_gate.yml), alone: site.yml refuses live mode
# with the stand-ins and in a container before any role, so a live converge cannot run here.
GATE_CONFIGS = "/var/tmp/live-gate-test"


def gate(*args: str) -> subprocess.CompletedProcess:
    return playbook(
        "tests/molecule/site/live_gate.yml", INSTANCE, "-e", "freqtrade_mode=live", *args,
        timeout=600,
    )  # fmt: skip


def bot_configs(host) -> dict[str, str]:
    paths = host.check_output("ls /etc/freqtrade/*/config.json").split()
    return {p.split("/")[3]: host.file(p).sha256sum for p in paths}


def test_a_bot_goes_live_only_after_the_preflight(host, spare, spare_vars, test_key):
    """The dry-run bots would go live: the gate runs the preflight first, a failing one
    refuses, and the gate itself changes nothing."""
    before = bot_configs(host)
    spare.set(hedge=True)
    refused(gate(*spare_vars), "position_mode", "hedge mode is on")
    spare.set()
    result = gate(*spare_vars)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    going = re.search(r"Going live: ([^;]*);", result.stdout)
    assert going and set(going.group(1).split(", ")) == set(before), result.stdout[-3000:]
    assert "Preflight passed" in result.stdout
    assert recap(result)["changed"] == 0
    no_secret(result, test_key)
    assert bot_configs(host) == before


def test_a_live_bot_keeps_its_trade_database(host):
    """Bots that already run live on the live database need no preflight; one that runs
    live on another file (e.g. a dry-run era tradesv3.sqlite) is refused by name."""
    bots = sorted(bot_configs(host))
    live_db = "sqlite:////var/lib/freqtrade/bots/{}/tradesv3.live.sqlite"
    old_db = "sqlite:////var/lib/freqtrade/bots/{}/tradesv3.sqlite"

    def write(db_of: dict[str, str]) -> None:
        for bot, url in db_of.items():
            doc = json.dumps({"dry_run": False, "db_url": url})
            path = f"{GATE_CONFIGS}/{bot}"
            host.check_output(f"install -d {path} && echo '{doc}' > {path}/config.json")

    try:
        write({bot: live_db.format(bot) for bot in bots})
        result = gate("-e", f"freqtrade_config_dir={GATE_CONFIGS}")
        assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
        assert "Going live:" not in result.stdout and "Preflight passed" not in result.stdout
        write({bots[0]: old_db.format(bots[0])})
        result = gate("-e", f"freqtrade_config_dir={GATE_CONFIGS}")
        out = result.stdout + result.stderr
        assert result.returncode != 0, out[-3000:]
        assert f"{bots[0]} trades live on {old_db.format(bots[0])}" in out, out[-3000:]
        assert "freqtrade_db_filename" in out
        assert recap(result)["changed"] == 0
    finally:
        host.run(f"rm -rf {GATE_CONFIGS}")
