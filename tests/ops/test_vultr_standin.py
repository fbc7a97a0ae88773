"""The Vultr API stand-in answers with the API's status codes and shapes (no Ansible)."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tools.vultr_standin.server import dispatch  # noqa: E402
from tools.vultr_standin.store import Store  # noqa: E402

KEY = "ssh-ed25519 " + base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519" + bytes(36)).decode()


def _instance_body(store: Store, **overrides: object) -> dict[str, object]:
    _, key = dispatch(store, "POST", "/v2/ssh-keys", {"name": "k", "ssh_key": KEY})
    assert key is not None
    body: dict[str, object] = {
        "label": "ft-seoul-1",
        "region": "icn",
        "plan": "vc2-2c-4gb",
        "os_id": 2136,
        "sshkey_id": [key["ssh_key"]["id"]],
        "enable_ipv6": True,
        "backups": "disabled",
    }
    body.update(overrides)
    return body


def test_instance_lifecycle_pending_then_active() -> None:
    store = Store(provision_polls=1)
    status, created = dispatch(store, "POST", "/v2/instances", _instance_body(store))
    assert status == 202 and created is not None
    instance_id = created["instance"]["id"]
    assert created["instance"]["status"] == "pending"
    assert "default_password" in created["instance"]
    _, first = dispatch(store, "GET", f"/v2/instances/{instance_id}", {})
    assert first is not None and first["instance"]["status"] == "pending"
    _, second = dispatch(store, "GET", f"/v2/instances/{instance_id}", {})
    assert second is not None
    assert second["instance"]["status"] == "active"
    assert second["instance"]["server_status"] == "ok"
    assert second["instance"]["main_ip"].startswith("192.0.2.")
    assert "ipv6" in second["instance"]["features"]
    status, listed = dispatch(store, "GET", "/v2/instances", {})
    assert status == 200 and listed is not None
    assert listed["meta"] == {"total": 1, "links": {"next": "", "prev": ""}}
    assert "default_password" not in listed["instances"][0]
    assert dispatch(store, "DELETE", f"/v2/instances/{instance_id}", {}) == (204, None)
    assert dispatch(store, "GET", f"/v2/instances/{instance_id}", {})[0] == 404


def test_invalid_instances_are_refused_with_400() -> None:
    store = Store()
    for override, message in (
        ({"region": "zzz"}, "Invalid region."),
        ({"plan": "vc2-99c"}, "Invalid plan."),
        ({"os_id": 1}, "Invalid os_id."),
        ({"sshkey_id": ["nope"]}, "Invalid SSH key id."),
        ({"firewall_group_id": "deadbeef"}, "Invalid firewall group."),
    ):
        status, body = dispatch(store, "POST", "/v2/instances", _instance_body(store, **override))
        assert (status, body) == (400, {"error": message, "status": 400})
    assert dispatch(store, "GET", "/v2/instances", {})[1]["instances"] == []  # type: ignore[index]


def test_firewall_rules_validate_and_refuse_duplicates() -> None:
    store = Store()
    status, group = dispatch(store, "POST", "/v2/firewalls", {"description": "fw"})
    assert status == 201 and group is not None
    path = f"/v2/firewalls/{group['firewall_group']['id']}/rules"
    rule = {"ip_type": "v4", "protocol": "tcp", "port": "22", "subnet": "0.0.0.0", "subnet_size": 0}
    assert dispatch(store, "POST", path, rule)[0] == 201
    assert dispatch(store, "POST", path, rule)[0] == 400
    assert dispatch(store, "POST", path, {**rule, "port": "0"})[0] == 400
    assert dispatch(store, "POST", path, {**rule, "ip_type": "v6"})[0] == 400  # v4 subnet
    _, listed = dispatch(store, "GET", path, {})
    assert listed is not None and len(listed["firewall_rules"]) == 1
    _, groups = dispatch(store, "GET", "/v2/firewalls", {})
    assert groups is not None and groups["firewall_groups"][0]["rule_count"] == 1


def test_unknown_paths_and_methods() -> None:
    store = Store()
    assert dispatch(store, "GET", "/v2/bare-metals", {})[0] == 404
    assert dispatch(store, "PATCH", "/v2/firewalls/abcd1234", {})[0] == 405
    assert dispatch(store, "POST", "/v2/ssh-keys", {"name": "k", "ssh_key": "bad"})[0] == 400
