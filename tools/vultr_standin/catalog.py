"""Read-only catalogue data: the regions, plans and operating systems the stand-in offers.

Shapes follow the Vultr API v2 reference (GET /regions, /plans, /os); the values are a
small, realistic subset (ids and sizes as Vultr lists them), enough to check that the
playbook asks for Seoul, a 2 vCPU / 4 GB plan and Debian 12.
"""

from __future__ import annotations

from typing import Any

REGIONS: list[dict[str, Any]] = [
    {
        "id": "icn",
        "city": "Seoul",
        "country": "KR",
        "continent": "Asia",
        "options": ["ddos_protection", "block_storage_storage_opt"],
    },
    {
        "id": "nrt",
        "city": "Tokyo",
        "country": "JP",
        "continent": "Asia",
        "options": ["ddos_protection", "block_storage_storage_opt"],
    },
    {
        "id": "fra",
        "city": "Frankfurt",
        "country": "DE",
        "continent": "Europe",
        "options": ["ddos_protection", "block_storage_high_perf"],
    },
]


def _plan(plan_id: str, vcpus: int, ram: int, disk: int, cost: float) -> dict[str, Any]:
    return {
        "id": plan_id,
        "vcpu_count": vcpus,
        "ram": ram,
        "disk": disk,
        "disk_count": 1,
        "bandwidth": 1024 * vcpus,
        "monthly_cost": cost,
        "hourly_cost": round(cost / 730, 3),
        "type": plan_id.split("-")[0],
        "locations": [region["id"] for region in REGIONS],
    }


PLANS: list[dict[str, Any]] = [
    _plan("vc2-1c-1gb", 1, 1024, 25, 5),
    _plan("vc2-1c-2gb", 1, 2048, 55, 10),
    _plan("vc2-2c-4gb", 2, 4096, 80, 20),
    _plan("vc2-4c-8gb", 4, 8192, 160, 40),
    _plan("vhf-2c-4gb", 2, 4096, 128, 24),
]

OPERATING_SYSTEMS: list[dict[str, Any]] = [
    {"id": 2136, "name": "Debian 12 x64 (bookworm)", "arch": "x64", "family": "debian"},
    {"id": 2625, "name": "Debian 13 x64 (trixie)", "arch": "x64", "family": "debian"},
    {"id": 477, "name": "Debian 11 x64 (bullseye)", "arch": "x64", "family": "debian"},
    {"id": 2284, "name": "Ubuntu 24.04 LTS x64", "arch": "x64", "family": "ubuntu"},
]
