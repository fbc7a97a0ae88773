"""The VM stage (make test-vm): testinfra against the rehearsal's virtual machine
(make rehearsal-vm), over SSH as the deploy user with the test vault's key.

Not part of `make test`: without FT_VM_TESTS=1 nothing here is collected. With it, a
missing machine is an error, never a skip.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import box
import pytest
import testinfra
from box import wait_for

REPO = Path(__file__).resolve().parents[2]
__all__ = ["wait_for"]  # re-exported: the tests import it from here
VM_TOOL = REPO / "tools" / "vm-rehearsal.sh"
DEPLOY_KEY = REPO / ".cache" / "vault" / "deploy_ed25519"
BOTS = {"rossc": 8101, "airisk": 8102}

if os.environ.get("FT_VM_TESTS") != "1":
    collect_ignore_glob = ["test_*.py"]


def vm_tool(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """tools/vm-rehearsal.sh with its private Vagrant state; output captured."""
    return subprocess.run(
        [str(VM_TOOL), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def _driver() -> tuple[str, str]:
    """kvm or qemu, as tools/vm-rehearsal.sh decides it (FT_VAGRANT_LIBVIRT_DRIVER, else
    tools/vm-host-setup.sh's KVM probe in /run/ft-harness-kvm), and why."""
    forced = os.environ.get("FT_VAGRANT_LIBVIRT_DRIVER")
    if forced:
        return forced, "FT_VAGRANT_LIBVIRT_DRIVER"
    probe = Path(os.environ.get("KVM_STATE", "/run/ft-harness-kvm"))
    state = probe.read_text().strip() if probe.exists() else "qemu KVM not probed"
    return ("kvm", "probed") if state == "kvm" else ("qemu", state.removeprefix("qemu "))


DRIVER, DRIVER_WHY = _driver()
# Under software emulation (no usable KVM) everything takes ~10x longer.
SLOW = 1 if DRIVER == "kvm" else 6


def pytest_report_header() -> str:
    if DRIVER == "kvm":
        return "VM stage: KVM"
    return f"VM stage: NO usable KVM ({DRIVER_WHY}): QEMU software emulation, time limits x{SLOW}"


@pytest.fixture(scope="session")
def address() -> str:
    result = vm_tool("ip", timeout=120)
    addr = result.stdout.strip()
    assert result.returncode == 0 and addr, "no machine: run make rehearsal-vm first"
    return addr


@pytest.fixture(scope="session")
def ssh_config(address: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ssh") / "config"
    path.write_text(
        f"Host vm\n  HostName {address}\n  User deploy\n  IdentityFile {DEPLOY_KEY}\n"
        "  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
        "  LogLevel ERROR\n  ConnectTimeout 10\n"
    )
    return path


@pytest.fixture(scope="session")
def host(ssh_config: Path) -> Any:
    return testinfra.get_host("ssh://vm", ssh_config=str(ssh_config), sudo=False)


def bot_api(host: Any, port: int, path: str, bot: str, body: dict[str, Any] | None = None) -> Any:
    """A bot's REST API on the machine, as JSON: tests/box.py's, with the bot's env file."""
    return box.bot_api(host, port, path, body, bot=bot)


def trade_rows(host: Any, bot: str) -> list[str]:
    """Every row of the bot's trades table, as sqlite3 prints them (id first)."""
    db = f"/var/lib/freqtrade/bots/{bot}/tradesv3.sqlite"
    query = "SELECT id, pair, is_open, open_date, amount, open_rate FROM trades ORDER BY id"
    with host.sudo():
        out = host.check_output(
            f"python3 -c {shlex.quote(_SQLITE_DUMP)} {shlex.quote(db)} {shlex.quote(query)}"
        )
    return [line for line in out.splitlines() if line]


# The machine has no sqlite3 CLI: Python's module reads the database read-only.
_SQLITE_DUMP = (
    "import sqlite3, sys; c = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True); "
    "[print('|'.join(map(str, r))) for r in c.execute(sys.argv[2])]"
)


def record(name: str, value: Any) -> None:
    """A measured figure for docs/vagrant.md: artifacts/vm-stage.json, and the log."""
    path = REPO / "artifacts" / "vm-stage.json"
    path.parent.mkdir(exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = value
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"[vm-stage] {name} = {value}")
