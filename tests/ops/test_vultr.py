"""vultr.yml against the local Vultr API v2 stand-in (tools/vultr_standin).

The order of a first deployment: --check on an empty account reports changes and writes
nothing; the first run creates the key, the firewall group with its rules and the instance
and writes the inventory; a second run and a --check after it change nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from vultr_support import API_KEY, SSH_CIDRS, play, settings, standin


def test_check_then_create_then_nothing_to_do(tmp_path: Path) -> None:
    with standin(tmp_path) as api:
        config = settings(tmp_path, api.endpoint)
        inventory = tmp_path / "inventory" / "hosts.yml"

        check = play(tmp_path, config, "--check", "--diff")
        assert check.returncode == 0, check.output
        assert check.recap["changed"] >= 3, check.output  # key, group, instance
        assert "would be created in icn" in check.output
        assert api.writes() == [], "--check must not write to the API"
        assert api.get("/instances")["instances"] == []
        assert not inventory.exists()

        first = play(tmp_path, config, "-vvv")
        assert first.returncode == 0, first.output
        assert API_KEY not in first.output, "the API key reached the output"
        writes = [(w["method"], w["path"].split("/")[2], w["status"]) for w in api.writes()]
        assert writes.count(("POST", "instances", 202)) == 1, writes
        assert writes.count(("POST", "ssh-keys", 201)) == 1, writes
        assert writes.count(("POST", "firewalls", 201)) == 1 + 6, writes  # group + rules

        [instance] = api.get("/instances")["instances"]
        assert instance["label"] == "ft-seoul-1"
        assert instance["region"] == "icn"
        assert (instance["plan"], instance["vcpu_count"], instance["ram"]) == (
            "vc2-2c-4gb",
            2,
            4096,
        )
        assert instance["os_id"] == 2136
        assert instance["status"] == "active"
        [group] = api.get("/firewalls")["firewall_groups"]
        assert instance["firewall_group_id"] == group["id"]
        rules = api.get(f"/firewalls/{group['id']}/rules")["firewall_rules"]
        # 80 and 443 from anywhere; SSH only from the operator's networks.
        assert sorted(
            (r["ip_type"], r["port"], f"{r['subnet']}/{r['subnet_size']}") for r in rules
        ) == sorted(
            [("v4", port, "0.0.0.0/0") for port in ("80", "443")]
            + [("v6", port, "::/0") for port in ("80", "443")]
            + [("v4", "22", SSH_CIDRS[0]), ("v6", "22", SSH_CIDRS[1])]
        )
        [key] = api.get("/ssh-keys")["ssh_keys"]
        assert key["ssh_key"] == config["vultr_ssh_public_key"]

        hosts = yaml.safe_load(inventory.read_text())
        host = hosts["all"]["children"]["bot_hosts"]["hosts"]["ft-seoul-1"]
        assert host["ansible_host"] == instance["main_ip"]
        assert host["ansible_user"] == "deploy"

        writes_before = len(api.writes())
        inventory_before = inventory.read_text()
        for args in ((), ("--check", "--diff")):
            again = play(tmp_path, config, *args)
            assert again.returncode == 0, again.output
            assert again.recap["changed"] == 0, again.output
        assert len(api.writes()) == writes_before
        assert len(api.get("/instances")["instances"]) == 1
        assert inventory.read_text() == inventory_before


def test_a_changed_setting_updates_the_existing_instance(tmp_path: Path) -> None:
    """Found by label, not created twice: new tags become a PATCH of the same instance."""
    with standin(tmp_path) as api:
        assert play(tmp_path, settings(tmp_path, api.endpoint)).returncode == 0
        retagged = play(tmp_path, settings(tmp_path, api.endpoint, vultr_tags=["freqtrade", "b"]))
        assert retagged.returncode == 0, retagged.output
        assert retagged.recap["changed"] == 1, retagged.output
        [instance] = api.get("/instances")["instances"]
        assert instance["tags"] == ["freqtrade", "b"]
        assert [w["method"] for w in api.writes()].count("PATCH") == 1


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"vultr_api_key": ""}, "vultr_api_key"),
        ({"vultr_region": "Seoul"}, "vultr_region"),
        ({"vultr_os": "Ubuntu 24.04 LTS x64"}, "vultr_os"),
        ({"vultr_ssh_public_key": "not a key"}, "vultr_ssh_public_key"),
        ({"vultr_firewall_ports": [80, 443]}, "vultr_firewall_ports"),
        ({"vultr_firewall_ports": [22, 70000]}, "vultr_firewall_ports"),
        ({"vultr_label": "Bot Server"}, "vultr_label"),
        ({"vultr_ssh_cidrs": []}, "vultr_ssh_cidrs"),
        ({"vultr_ssh_cidrs": ["198.51.100.7"]}, "vultr_ssh_cidrs"),
        ({"vultr_ssh_cidrs": ["300.1.1.1/32"]}, "vultr_ssh_cidrs"),
        ({"vultr_api_endpoint": "ftp://example/v2"}, "vultr_api_endpoint"),
    ],
)
def test_bad_settings_fail_before_any_api_call(
    tmp_path: Path, override: dict[str, object], variable: str
) -> None:
    with standin(tmp_path) as api:
        run = play(tmp_path, settings(tmp_path, api.endpoint, **override))
        assert run.returncode != 0
        assert f"{variable}: " in run.output, run.output
        assert api.requests() == []


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"vultr_plan": "vc2-1c-1gb"}, "vultr_plan: vc2-1c-1gb must exist with 2 vCPUs"),
        ({"vultr_plan": "no-such-plan"}, "vultr_plan: no-such-plan must exist"),
        ({"vultr_region": "xyz"}, "vultr_region: xyz is not one of Vultr's regions"),
        ({"vultr_os_id": 1}, "vultr_os: Debian 12 x64 (bookworm) must be the operating system"),
    ],
)
def test_catalogue_mismatch_fails_before_any_change(
    tmp_path: Path, override: dict[str, object], message: str
) -> None:
    with standin(tmp_path) as api:
        run = play(tmp_path, settings(tmp_path, api.endpoint, **override))
        assert run.returncode != 0
        assert message in run.output, run.output
        assert api.requests() != []  # the catalogue was read ...
        assert api.writes() == []  # ... and nothing was created


def test_a_wrong_api_key_is_refused_and_not_printed(tmp_path: Path) -> None:
    wrong = "W" * 36
    with standin(tmp_path) as api:
        run = play(tmp_path, settings(tmp_path, api.endpoint, vultr_api_key=wrong), "-vvv")
        assert run.returncode != 0
        assert "'status': 401" in run.output or '"status": 401' in run.output, run.output
        assert wrong not in run.output
        assert {r["status"] for r in api.requests()} == {401}
