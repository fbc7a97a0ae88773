"""Shared fixtures of the web edge scenario (testinfra runs these on the control machine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import testinfra

DOMAIN = "bots.example.test"
USER = "trader"
PASSWORD = "Edge-Test-Pass-4791"
WS_TOKEN = "ws-test-token-5512"
ARTIFACTS = Path(__file__).resolve().parents[5] / "artifacts" / "web"


@pytest.fixture(scope="module")
def box(host):
    """The same container through `docker exec`: far quicker per command than Ansible."""
    return testinfra.get_host(f"docker://{host.backend.get_hostname()}")


@pytest.fixture(scope="module")
def address(host) -> str:
    """The container's bridge address, as seen from this machine."""
    return host.interface("eth0").addresses[0]


@pytest.fixture(scope="module")
def pebble_root(box, tmp_path_factory) -> Path:
    """Pebble's root CA (it signs the edge's certificate); made anew each Pebble start."""
    pem = box.check_output("curl -sf --cacert /etc/pebble/ca.crt https://localhost:15000/roots/0")
    path = tmp_path_factory.mktemp("pebble") / "root.pem"
    path.write_text(pem + "\n")
    box.run(f"printf '%s\\n' '{pem}' > /tmp/pebble-root.pem")
    return path


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def curl(host, *args: str) -> dict:
    """curl inside the container (client 127.0.0.1); returns status, headers and body."""
    out = host.run(
        "curl -s -o /tmp/body -D /tmp/head -w '%{http_code}' "
        + " ".join(args)
        + " ; echo; cat /tmp/head; echo ===; cat /tmp/body"
    )
    code, rest = out.stdout.split("\n", 1)
    head, _, body = rest.partition("\n===\n")
    headers = {}
    for line in head.splitlines()[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return {"status": int(code or 0), "headers": headers, "body": body}


def curl_json(host, *args: str) -> object:
    return json.loads(curl(host, *args)["body"])
