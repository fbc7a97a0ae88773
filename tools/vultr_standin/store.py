"""In-memory Vultr account: SSH keys, firewall groups and their rules, instances.

Every method returns (HTTP status, JSON body or None), with the status codes and body shapes
of the Vultr API v2 reference: 200 for reads, 201 for created SSH keys / firewall groups /
rules, 202 for created or updated instances, 204 for updates and deletions without a body,
400 for invalid input, 404 for unknown ids. Errors carry {"error": ..., "status": ...}.
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import itertools
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .catalog import OPERATING_SYSTEMS, PLANS, REGIONS

Reply = tuple[int, dict[str, Any] | None]
Body = dict[str, Any]

SSH_KEY_PREFIXES = ("ssh-ed25519 ", "ssh-rsa ", "ecdsa-sha2-nistp256 ", "ecdsa-sha2-nistp384 ")
# Documentation addresses (RFC 5737 / RFC 3849): never a real machine.
IPV4_POOL = ipaddress.ip_network("192.0.2.0/24")
IPV6_POOL = ipaddress.ip_network("2001:db8::/32")


def error(status: int, message: str) -> Reply:
    return status, {"error": message, "status": status}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def listing(key: str, items: list[dict[str, Any]]) -> Reply:
    """A list answer with Vultr's cursor meta (everything fits on the first page here)."""
    return 200, {
        key: copy.deepcopy(items),
        "meta": {"total": len(items), "links": {"next": "", "prev": ""}},
    }


@dataclass
class Store:
    """One Vultr account. `provision_polls`: reads of a new instance before it is active."""

    provision_polls: int = 1
    ssh_keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    firewalls: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_data: dict[str, str] = field(default_factory=dict)
    pending_reads: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _hosts: itertools.count[int] = field(default_factory=lambda: itertools.count(10))

    # Catalogue ----------------------------------------------------------------------
    def list_regions(self) -> Reply:
        return listing("regions", REGIONS)

    def list_plans(self) -> Reply:
        return listing("plans", PLANS)

    def list_os(self) -> Reply:
        return listing("os", OPERATING_SYSTEMS)

    # SSH keys -----------------------------------------------------------------------
    def list_ssh_keys(self) -> Reply:
        return listing("ssh_keys", list(self.ssh_keys.values()))

    def get_ssh_key(self, key_id: str) -> Reply:
        if key_id not in self.ssh_keys:
            return error(404, "SSH key not found.")
        return 200, {"ssh_key": copy.deepcopy(self.ssh_keys[key_id])}

    def create_ssh_key(self, body: Body) -> Reply:
        problem = _ssh_key_problem(body, partial=False)
        if problem:
            return error(400, problem)
        key = {
            "id": str(uuid.uuid4()),
            "date_created": now(),
            "name": body["name"],
            "ssh_key": body["ssh_key"].strip(),
        }
        self.ssh_keys[key["id"]] = key
        return 201, {"ssh_key": copy.deepcopy(key)}

    def update_ssh_key(self, key_id: str, body: Body) -> Reply:
        if key_id not in self.ssh_keys:
            return error(404, "SSH key not found.")
        problem = _ssh_key_problem(body, partial=True)
        if problem:
            return error(400, problem)
        for name in ("name", "ssh_key"):
            if body.get(name) is not None:
                self.ssh_keys[key_id][name] = body[name]
        return 204, None

    def delete_ssh_key(self, key_id: str) -> Reply:
        if self.ssh_keys.pop(key_id, None) is None:
            return error(404, "SSH key not found.")
        return 204, None

    # Firewall groups and rules --------------------------------------------------------
    def list_firewalls(self) -> Reply:
        return listing("firewall_groups", [self._firewall(fw_id) for fw_id in self.firewalls])

    def get_firewall(self, fw_id: str) -> Reply:
        if fw_id not in self.firewalls:
            return error(404, "Firewall group not found.")
        return 200, {"firewall_group": self._firewall(fw_id)}

    def create_firewall(self, body: Body) -> Reply:
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            return error(400, "Invalid description.")
        stamp = now()
        group = {
            "id": uuid.uuid4().hex[:8],
            "description": description or "",
            "date_created": stamp,
            "date_modified": stamp,
            "max_rule_count": 50,
        }
        self.firewalls[group["id"]] = group
        self.rules[group["id"]] = []
        return 201, {"firewall_group": self._firewall(group["id"])}

    def update_firewall(self, fw_id: str, body: Body) -> Reply:
        if fw_id not in self.firewalls:
            return error(404, "Firewall group not found.")
        if not isinstance(body.get("description"), str):
            return error(400, "Invalid description.")
        self.firewalls[fw_id].update(description=body["description"], date_modified=now())
        return 204, None

    def delete_firewall(self, fw_id: str) -> Reply:
        if fw_id not in self.firewalls:
            return error(404, "Firewall group not found.")
        if any(i["firewall_group_id"] == fw_id for i in self.instances.values()):
            return error(400, "Firewall group is attached to instances.")
        del self.firewalls[fw_id]
        del self.rules[fw_id]
        return 204, None

    def list_rules(self, fw_id: str) -> Reply:
        if fw_id not in self.firewalls:
            return error(404, "Firewall group not found.")
        return listing("firewall_rules", self.rules[fw_id])

    def create_rule(self, fw_id: str, body: Body) -> Reply:
        if fw_id not in self.firewalls:
            return error(404, "Firewall group not found.")
        rule, problem = _rule_from(body)
        if rule is None:
            return error(400, problem)
        existing = self.rules[fw_id]
        if any(_same_rule(rule, other) for other in existing):
            return error(400, "Unable to create firewall rule: duplicate rule.")
        if len(existing) >= self.firewalls[fw_id]["max_rule_count"]:
            return error(400, "Firewall group rule limit reached.")
        rule["id"] = max((r["id"] for r in existing), default=0) + 1
        existing.append(rule)
        self.firewalls[fw_id]["date_modified"] = now()
        return 201, {"firewall_rule": copy.deepcopy(rule)}

    def get_rule(self, fw_id: str, rule_id: str) -> Reply:
        for rule in self.rules.get(fw_id, []):
            if str(rule["id"]) == rule_id:
                return 200, {"firewall_rule": copy.deepcopy(rule)}
        return error(404, "Firewall rule not found.")

    def delete_rule(self, fw_id: str, rule_id: str) -> Reply:
        rules = self.rules.get(fw_id, [])
        for index, rule in enumerate(rules):
            if str(rule["id"]) == rule_id:
                del rules[index]
                return 204, None
        return error(404, "Firewall rule not found.")

    def _firewall(self, fw_id: str) -> dict[str, Any]:
        group = copy.deepcopy(self.firewalls[fw_id])
        group["instance_count"] = sum(
            1 for i in self.instances.values() if i["firewall_group_id"] == fw_id
        )
        group["rule_count"] = len(self.rules[fw_id])
        return group

    # Instances ----------------------------------------------------------------------
    def list_instances(self) -> Reply:
        return listing("instances", list(self.instances.values()))

    def get_instance(self, instance_id: str) -> Reply:
        instance = self.instances.get(instance_id)
        if instance is None:
            return error(404, "Invalid instance-id.")
        # A new instance installs for a while: pending, then active with an address.
        left = self.pending_reads.get(instance_id, 0)
        if left > 0:
            self.pending_reads[instance_id] = left - 1
        elif instance["status"] == "pending":
            self._activate(instance)
        return 200, {"instance": copy.deepcopy(instance)}

    def create_instance(self, body: Body) -> Reply:
        problem = self._instance_problem(body, creating=True)
        if problem:
            return error(400, problem)
        plan = next(p for p in PLANS if p["id"] == body["plan"])
        os_entry = next(o for o in OPERATING_SYSTEMS if o["id"] == body["os_id"])
        features = _features(body)
        instance = {
            "id": str(uuid.uuid4()),
            "os": os_entry["name"],
            "ram": plan["ram"],
            "disk": plan["disk"],
            "main_ip": "0.0.0.0",
            "vcpu_count": plan["vcpu_count"],
            "region": body["region"],
            "plan": plan["id"],
            "date_created": now(),
            "status": "pending",
            "allowed_bandwidth": plan["bandwidth"],
            "netmask_v4": "",
            "gateway_v4": "0.0.0.0",
            "power_status": "running",
            "server_status": "none",
            "v6_network": "",
            "v6_main_ip": "",
            "v6_network_size": 0,
            "label": body.get("label") or "",
            "internal_ip": "",
            "kvm": "",
            "hostname": body.get("hostname") or "vultr.guest",
            "tag": "",
            "tags": list(body.get("tags") or []),
            "os_id": os_entry["id"],
            "app_id": 0,
            "image_id": "",
            "firewall_group_id": body.get("firewall_group_id") or "",
            "features": features,
            "user_scheme": body.get("user_scheme") or "root",
        }
        self.instances[instance["id"]] = instance
        self.user_data[instance["id"]] = body.get("user_data") or ""
        self.pending_reads[instance["id"]] = self.provision_polls
        created = copy.deepcopy(instance)
        created["default_password"] = "standin-" + uuid.uuid4().hex[:12]
        return 202, {"instance": created}

    def update_instance(self, instance_id: str, body: Body) -> Reply:
        instance = self.instances.get(instance_id)
        if instance is None:
            return error(404, "Invalid instance-id.")
        problem = self._instance_problem(body, creating=False, region=instance["region"])
        if problem:
            return error(400, problem)
        if body.get("plan") is not None:
            plan = next(p for p in PLANS if p["id"] == body["plan"])
            instance.update(
                plan=plan["id"], ram=plan["ram"], disk=plan["disk"], vcpu_count=plan["vcpu_count"]
            )
        for name in ("label", "tags", "firewall_group_id"):
            if body.get(name) is not None:
                instance[name] = copy.deepcopy(body[name])
        instance["features"] = _features(body, instance["features"])
        if body.get("user_data") is not None:
            self.user_data[instance_id] = body["user_data"]
        return 202, {"instance": copy.deepcopy(instance)}

    def delete_instance(self, instance_id: str) -> Reply:
        if self.instances.pop(instance_id, None) is None:
            return error(404, "Invalid instance-id.")
        self.user_data.pop(instance_id, None)
        return 204, None

    def instance_vpcs(self, instance_id: str) -> Reply:
        if instance_id not in self.instances:
            return error(404, "Invalid instance-id.")
        return listing("vpcs", [])

    def instance_user_data(self, instance_id: str) -> Reply:
        if instance_id not in self.instances:
            return error(404, "Invalid instance-id.")
        return 200, {"user_data": {"data": self.user_data[instance_id]}}

    def _activate(self, instance: dict[str, Any]) -> None:
        host = next(self._hosts)
        instance.update(
            status="active",
            server_status="ok",
            main_ip=str(IPV4_POOL[host]),
            netmask_v4="255.255.255.0",
            gateway_v4=str(IPV4_POOL[1]),
        )
        if "ipv6" in instance["features"]:
            instance.update(
                v6_network=str(IPV6_POOL[host << 64]),
                v6_main_ip=str(IPV6_POOL[(host << 64) + 1]),
                v6_network_size=64,
            )

    def _instance_problem(self, body: Body, creating: bool, region: str | None = None) -> str:
        region = body.get("region") if creating else region
        if not any(r["id"] == region for r in REGIONS):
            return "Invalid region."
        plan_id = body.get("plan")
        if creating or plan_id is not None:
            plan = next((p for p in PLANS if p["id"] == plan_id), None)
            if plan is None:
                return "Invalid plan."
            if region not in plan["locations"]:
                return "Plan is not available in the selected region."
        if creating:
            os_id = body.get("os_id")
            if not any(o["id"] == os_id for o in OPERATING_SYSTEMS):
                return "Invalid os_id."
            for key_id in body.get("sshkey_id") or []:
                if key_id not in self.ssh_keys:
                    return "Invalid SSH key id."
        fw_id = body.get("firewall_group_id")
        if fw_id and fw_id not in self.firewalls:
            return "Invalid firewall group."
        tags = body.get("tags")
        if tags is not None and not (
            isinstance(tags, list) and all(isinstance(t, str) for t in tags)
        ):
            return "Invalid tags."
        return ""


def _features(body: Body, current: list[str] | None = None) -> list[str]:
    features = list(current or [])
    toggles = {
        "ipv6": body.get("enable_ipv6"),
        "ddos_protection": body.get("ddos_protection"),
        "auto_backups": None if body.get("backups") is None else body["backups"] == "enabled",
    }
    for name, wanted in toggles.items():
        if wanted is True and name not in features:
            features.append(name)
        elif wanted is False and name in features:
            features.remove(name)
    return features


def _ssh_key_problem(body: Body, partial: bool) -> str:
    name, key = body.get("name"), body.get("ssh_key")
    if not partial and (not isinstance(name, str) or not name):
        return "Invalid SSH key name."
    if key is None and partial:
        return ""
    if not isinstance(key, str) or not key.startswith(SSH_KEY_PREFIXES):
        return "Invalid SSH key."
    parts = key.split()
    try:
        base64.b64decode(parts[1], validate=True)
    except (IndexError, binascii.Error):
        return "Invalid SSH key."
    return ""


def _rule_from(body: Body) -> tuple[dict[str, Any] | None, str]:
    ip_type = body.get("ip_type")
    if ip_type not in ("v4", "v6"):
        return None, "Invalid ip_type."
    protocol = body.get("protocol")
    if protocol not in ("icmp", "tcp", "udp", "gre", "esp", "ah"):
        return None, "Invalid protocol."
    port = body.get("port")
    if protocol in ("tcp", "udp"):
        if not isinstance(port, str) or not _valid_port(port):
            return None, "Invalid port."
    else:
        port = ""
    subnet, size = body.get("subnet"), body.get("subnet_size")
    source = body.get("source") or ""
    if not source:
        try:
            network = ipaddress.ip_network(f"{subnet}/{size}", strict=False)
        except (TypeError, ValueError):
            return None, "Invalid subnet."
        if (network.version == 4) != (ip_type == "v4"):
            return None, "Subnet does not match ip_type."
    rule = {
        "type": ip_type,
        "ip_type": ip_type,
        "action": "accept",
        "protocol": protocol,
        "port": port,
        "subnet": subnet if not source else "",
        "subnet_size": size if not source else 0,
        "source": source,
        "notes": body.get("notes") or "",
    }
    return rule, ""


def _valid_port(port: str) -> bool:
    bounds = port.split(":")
    if len(bounds) > 2 or not all(b.isdigit() for b in bounds):
        return False
    numbers = [int(b) for b in bounds]
    return all(1 <= n <= 65535 for n in numbers) and numbers == sorted(numbers)


def _same_rule(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("ip_type", "protocol", "port", "subnet", "subnet_size", "source")
    return all(a[k] == b[k] for k in keys)
