"""Both stand-ins switched off on a host that ran them (prepare.yml: the rehearsal settings,
on; converge.yml: a real server's, off): nothing of either is left. No trust in either test
CA (system bundle, drop-ins), no api.telegram.org or Binance name on the box, no units,
processes, ports, nft tables, users or folders; the probe client, restarted, runs without
SSL_CERT_FILE and keeps its own drop-in. The roles are applied by site.yml on every host,
so that a converge with the stand-ins off does this on a real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

SITE = Path(__file__).resolve().parents[5] / "site.yml"
# prepare.yml's copies of the CAs, outside the roles' files
TEST_CA = "/root/standin-test-ca.crt"
EXCHANGE_CA = "/root/exchange-test-ca.crt"
BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
UNITS = ["telegram-standin", "replay-exchange"]


def _pem_body(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))


def test_site_applies_the_stand_in_roles_on_every_host() -> None:
    plays = yaml.safe_load(SITE.read_text())
    roles = {r["role"]: r for play in plays for r in play.get("roles", [])}
    for role in ("replay_exchange", "telegram_standin"):
        assert "when" not in roles[role], f"site.yml skips {role} when it is off"


@pytest.mark.parametrize(
    "copy,name", [(TEST_CA, "telegram-standin-ca"), (EXCHANGE_CA, "replay-exchange-ca")]
)
def test_test_ca_is_not_trusted(host: Any, copy: str, name: str) -> None:
    ca = host.file(copy)
    assert ca.exists, f"prepare.yml kept no copy of {name}"
    assert _pem_body(ca.content_string) not in _pem_body(host.file(BUNDLE).content_string)
    assert not host.file(f"/usr/local/share/ca-certificates/{name}.crt").exists
    assert not host.file(f"/etc/ssl/certs/{name}.pem").exists
    assert not host.run(f"grep -rlF {_pem_body(ca.content_string)[:64]} /etc/ssl/certs/").stdout
    verify = host.run(f"openssl verify -CAfile {BUNDLE} {copy}")
    assert verify.rc != 0, verify.stdout


@pytest.mark.parametrize("name", ["api.telegram.org", "fapi.binance.com", "api.binance.com"])
def test_api_name_is_not_on_the_box(host: Any, name: str) -> None:
    assert name not in host.file("/etc/hosts").content_string
    resolved = host.run(f"getent hosts {name}")
    assert not resolved.stdout.startswith("127."), resolved.stdout


def test_no_drop_in_is_left_and_clients_restarted(host: Any) -> None:
    with host.sudo():
        found = host.check_output("find /etc/systemd/system -name 'telegram-standin-ca.conf'")
    assert found == ""
    # The folder the role made for freqtrade@ goes; the probe's keeps its own drop-in.
    assert not host.file("/etc/systemd/system/freqtrade@.service.d").exists
    assert host.file("/etc/systemd/system/standin-probe.service.d/keep.conf").exists
    probe = host.service("standin-probe")
    assert probe.is_running
    env = host.check_output("systemctl show -p Environment --value standin-probe").split()
    assert env == ["PROBE_KEEP=1"]
    pid = host.check_output("systemctl show -p MainPID --value standin-probe")
    with host.sudo():
        environ = host.file(f"/proc/{pid}/environ").content_string.split("\0")
    assert "PROBE_KEEP=1" in environ
    assert not [v for v in environ if v.startswith("SSL_CERT_FILE=")], "probe not restarted"


@pytest.mark.parametrize("unit", UNITS)
def test_no_unit_is_left(host: Any, unit: str) -> None:
    assert not host.file(f"/etc/systemd/system/{unit}.service").exists
    assert not host.file(f"/etc/systemd/system/multi-user.target.wants/{unit}.service").exists
    state = host.check_output(f"systemctl show -p LoadState,ActiveState --value {unit}")
    assert state.split() == ["not-found", "inactive"]


def test_nothing_runs_listens_or_redirects(host: Any) -> None:
    # '[t]': the pattern must not match the shell that runs pgrep.
    for script in ("[t]elegram_standin.py", "[r]eplay_exchange"):
        assert host.run(f"pgrep -f '{script}'").rc == 1, script
    for socket in ("tcp://127.0.0.1:8090", "tcp://127.0.0.3:8089", "tcp://127.0.0.2:8443"):
        assert not host.socket(socket).is_listening, socket
    with host.sudo():
        tables = host.check_output("nft list tables")
        for table in ("telegram_standin", "replay_exchange"):
            assert host.run(f"nft list table ip {table}").rc != 0
            assert table not in tables


@pytest.mark.parametrize("name", ["telegram-standin", "replay-exchange"])
def test_no_user_or_group_is_left(host: Any, name: str) -> None:
    assert not host.user(name).exists
    assert not host.group(name).exists


@pytest.mark.parametrize(
    "path",
    [
        "/opt/telegram-standin",
        "/etc/telegram-standin",
        "/var/lib/telegram-standin",
        "/opt/replay-exchange",
        "/etc/replay-exchange",
        "/var/lib/replay-exchange",
    ],
)
def test_no_folder_is_left(host: Any, path: str) -> None:
    assert not host.file(path).exists
