"""Release operations on a converged host, driven through site.yml as a user would:
a broken strategy is refused, a change of the pinned freqtrade version deploys a new release
beside the old one and switches to it, `--tags rollback` switches back. The first two run
with `--tags freqtrade` (docs/deploy.md: the bots' role alone, as for a strategy or version
change): the same tasks a whole-site run gives them, which converge and idempotence run.
Trades and running bots survive each step. Runs on the bookworm instance only (the steps
change the host; once is enough, and the trixie instance is checked read-only)."""

import json
import os
import shutil
import subprocess

import pytest
import yaml
from conftest import REPO, bot_api, playbook

INSTANCE = f"{os.environ.get('MOLECULE_INSTANCE', 'molecule')}-bookworm"
testinfra_hosts = [f"ansible://{INSTANCE}"]

BOT, PORT = "rossc", 8101
PINNED = yaml.safe_load((REPO / "roles/freqtrade/defaults/main.yml").read_text())[
    "freqtrade_version"
]
# The version change goes to the release before the pinned one (the pinned one is the
# newest on PyPI); the mechanism is the one an upgrade uses, and rollback returns.
OTHER_VERSION = "2026.8"


def site(*args: str) -> subprocess.CompletedProcess:
    return playbook("site.yml", INSTANCE, *args)


def release(host) -> str:
    return host.file("/opt/freqtrade/current").linked_to


def main_pid(host) -> int:
    return int(host.check_output(f"systemctl show freqtrade@{BOT} -p MainPID --value"))


def trades(host) -> list[str]:
    """The immutable part of every trade row (the strategy may open and close more)."""
    db = f"/var/lib/freqtrade/bots/{BOT}/tradesv3.sqlite"
    query = "select id, pair, open_date, open_rate from trades order by id"
    return host.check_output(f"sqlite3 {db} '{query}'").splitlines()


def kept(host, rows: list[str]) -> bool:
    return trades(host)[: len(rows)] == rows


def snapshot(host) -> tuple:
    config = host.file(f"/etc/freqtrade/{BOT}/config.json").sha256sum
    return release(host), main_pid(host), config


def latest_backup(host) -> tuple[str, int]:
    """The newest backup archive and its mtime (0, "" when there is none)."""
    path = host.run("/usr/local/sbin/ft-backup latest").stdout.strip()
    return path, int(host.check_output(f"stat -c %Y {path}")) if path else 0


def backed_up_before_the_switch(host, before: tuple[str, int]) -> bool:
    """A new archive was written, and no later than `current` was re-pointed."""
    path, written = latest_backup(host)
    switched = int(host.check_output("stat -c %Y /opt/freqtrade/current"))
    return path != before[0] and before[1] <= written <= switched


def healthy(host) -> bool:
    cmd = f"curl -fsS --retry 30 --retry-delay 2 --retry-all-errors http://127.0.0.1:{PORT}/api/v1/ping"
    return json.loads(host.check_output(cmd)) == {"status": "pong"}


def running_version(host) -> str:
    """The freqtrade version the running bot reports through its REST API."""
    return bot_api(host, PORT, "version", bot=BOT)["version"]


@pytest.fixture(scope="module")
def with_trade(host):
    """An open dry-run position in the bot's database, entered through its REST API."""
    assert healthy(host)
    bot_api(host, PORT, "forceenter", {"pair": "BTC/USDT:USDT", "side": "long"}, bot=BOT)
    rows = trades(host)
    assert rows, "the forced entry left no trade in the database"
    return rows


def test_broken_strategy_is_refused_and_nothing_changes(host, with_trade, tmp_path):
    before = snapshot(host)
    broken = tmp_path / "strategies"
    shutil.copytree(REPO / "strategies", broken, ignore=shutil.ignore_patterns("__pycache__"))
    target = broken / "RossCameronFuturesStrategy.py"
    target.write_text(target.read_text() + "\nthis is not python\n")

    run = site("--tags", "freqtrade", "-e", f"freqtrade_strategies_src={broken}/")
    assert run.returncode != 0
    assert "RossCameronFuturesStrategy does not load" in run.stdout + run.stderr
    assert snapshot(host) == before
    assert healthy(host)
    assert kept(host, with_trade)


def test_version_change_deploys_a_new_release_and_keeps_trades(host, with_trade):
    old = release(host)
    old_pid = main_pid(host)
    assert running_version(host) == PINNED
    backup = latest_backup(host)
    run = site("--tags", "freqtrade", "-e", f"freqtrade_version={OTHER_VERSION}")
    assert run.returncode == 0, run.stdout[-3000:]
    assert backed_up_before_the_switch(host, backup)
    new = release(host)
    assert new.startswith(f"/opt/freqtrade/releases/{OTHER_VERSION}-"), new
    # Beside the old release, which stays whole for a rollback.
    assert host.file(f"{old}/bin/freqtrade").exists
    assert host.file("/opt/freqtrade/previous").linked_to == old
    assert main_pid(host) != old_pid
    assert healthy(host)
    assert running_version(host) == OTHER_VERSION
    assert kept(host, with_trade)


def test_rollback_tag_switches_back_and_keeps_trades(host, with_trade):
    upgraded = release(host)
    previous = host.file("/opt/freqtrade/previous").linked_to
    backup = latest_backup(host)
    run = site("--tags", "rollback")
    assert run.returncode == 0, run.stdout[-3000:]
    assert backed_up_before_the_switch(host, backup)
    assert release(host) == previous
    assert host.file("/opt/freqtrade/previous").linked_to == upgraded
    # The risk exporter reads the leverage brackets through `current`: those of this release.
    exporter = yaml.safe_load(host.file("/etc/risk-exporter/config.yml").content_string)
    tiers = host.check_output(f"readlink -f {exporter['leverage_tiers_file']}")
    assert tiers.startswith(previous + "/"), tiers
    assert healthy(host)
    assert running_version(host) == PINNED
    assert kept(host, with_trade)
