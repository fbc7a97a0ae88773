"""Helpers shared by the whole-site tests (testinfra runs them on the control machine)."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from box import bot_api, wait_for
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

REPO = Path(__file__).resolve().parents[4]
__all__ = ["bot_api", "wait_for"]  # re-exported: the tests import them from here


# The monitoring's web login (roles/monitoring): user name of the role's default, password
# read on the server as root. curl gets both on stdin (-K -), never on a command line.
MONITOR_LOGIN = (
    'printf \'user = "monitoring:%s"\\n\' "$(cat /etc/monitoring-auth/password)" | '
    "curl -fsS --max-time 10 -K - "
)


def monitor_get(host: Any, url: str) -> str:
    """GET from Prometheus, Alertmanager or an exporter on the box, with the web login."""
    with host.sudo():
        return host.check_output(MONITOR_LOGIN + shlex.quote(url))


@contextmanager
def forced_position(host: Any, port: int, bot: str, pair: str, side: str) -> Iterator[Any]:
    """A dry-run futures position entered through the bot's API (its trade as /status shows
    it), closed again afterwards."""
    bot_api(host, port, "forceenter", {"pair": pair, "side": side}, bot=bot)
    trade = wait_for(
        f"{pair} open on {bot}",
        lambda: next(
            (t for t in bot_api(host, port, "status", bot=bot) if t["pair"] == pair), None
        ),
    )
    try:
        yield trade
    finally:
        close_trade(host, port, bot, trade["trade_id"])


def close_trade(host: Any, port: int, bot: str, trade_id: int) -> None:
    """Force-exit a trade unless the bot closed it on its own meanwhile (its stop or exit
    signal on the replayed prices): freqtrade refuses a closed trade with "invalid argument"."""
    try:
        bot_api(host, port, "forceexit", {"tradeid": str(trade_id)}, bot=bot)
    except AssertionError:
        if bot_api(host, port, f"trade/{trade_id}", bot=bot)["is_open"]:
            raise


def api_password(host: Any, bot: str) -> str:
    """The bot's API password, from its root-only environment file on the box."""
    with host.sudo():
        line = host.check_output(
            f"grep '^FREQTRADE__API_SERVER__PASSWORD=' /etc/freqtrade/{bot}.env"
        )
    return shlex.split(line.split("=", 1)[1])[0]


@pytest.fixture(scope="module")
def address(host: Any) -> str:
    """The box's address as the control machine (and its browser) reaches it."""
    return host.check_output("hostname -I").split()[0]


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Selenium through chromium-driver."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000"):
        options.add_argument(arg)
    # The rehearsal's certificate is self-signed; TLS itself is tested by the web edge's own
    # scenario (testssl, Pebble's certificate).
    options.accept_insecure_certs = True
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def playbook(
    name: str, limit: str, *args: str, inventory: Path | None = None, timeout: float = 1200
) -> subprocess.CompletedProcess:
    """Run a playbook of the repository as a user would, with the project's ansible.cfg and
    the per-machine test vault, on the scenario's inventory unless another is given."""
    inventory = inventory or Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    vault = REPO / ".cache" / "vault"
    cmd = [
        "ansible-playbook", str(REPO / name), "-i", str(inventory), "--limit", limit,
        "-e", f"@{vault / 'vault.yml'}", "--vault-password-file", str(vault / "pass"), *args,
    ]  # fmt: skip
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0"}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """The SSH re-run first: it judges the host as the converge left it, before the other
    tests stop, upgrade, roll back and restore things on it."""
    items.sort(key=lambda item: item.path.name != "test_ssh_rerun.py")
