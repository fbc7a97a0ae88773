"""Helpers for the vultr.yml tests: the local Vultr API stand-in and playbook runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "vultr.yml"
STANDIN = [sys.executable, "-m", "tools.vultr_standin"]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
# Shaped like a Vultr API key (36 upper-case letters and digits); random per test run.
API_KEY = "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[b % 36] for b in os.urandom(36))


@dataclass
class Standin:
    endpoint: str
    log: Path

    def requests(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def writes(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["method"] != "GET"]

    def get(self, path: str) -> dict[str, Any]:
        """Read the account's state through the API itself, like a second client would."""
        request = Request(self.endpoint + path, headers={"Authorization": f"Bearer {API_KEY}"})
        with urlopen(request, timeout=10) as response:
            return json.loads(response.read())


@contextmanager
def standin(tmp: Path) -> Iterator[Standin]:
    key_file = tmp / "api-key"
    key_file.write_text(API_KEY + "\n")
    key_file.chmod(0o600)
    log = tmp / "requests.jsonl"
    process = subprocess.Popen(
        [*STANDIN, "--api-key-file", str(key_file), "--log", str(log)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        endpoint = process.stdout.readline().strip()
        assert endpoint.startswith("http://127.0.0.1:"), endpoint
        yield Standin(endpoint=endpoint, log=log)
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Run:
    returncode: int
    output: str

    @property
    def recap(self) -> dict[str, int]:
        for line in self.output.splitlines():
            if line.startswith("localhost") and "ok=" in line:
                return {k: int(v) for k, v in (f.split("=") for f in line.split()[2:])}
        raise AssertionError("no play recap in:\n" + self.output)


def ssh_public_key(tmp: Path) -> str:
    key = tmp / "id_ed25519"
    if not key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vultr-test", "-f", str(key)],
            check=True,
        )
    return (tmp / "id_ed25519.pub").read_text().strip()


def play(tmp: Path, settings: dict[str, Any], *args: str) -> Run:
    """ansible-playbook vultr.yml with settings passed as an extra-vars file (0600)."""
    extra = tmp / "vultr-vars.yml"
    extra.write_text(yaml.safe_dump(settings))
    extra.chmod(0o600)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = f"{ANSIBLE_PLAYBOOK.parent}:{env.get('PATH', '')}"
    command = [str(ANSIBLE_PLAYBOOK), str(PLAYBOOK), "-i", "localhost,"]
    command += ["-e", f"ansible_python_interpreter={sys.executable}"]
    result = subprocess.run(
        [*command, "-e", f"@{extra}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Run(result.returncode, result.stdout + result.stderr)


# The operator's networks (documentation ranges, RFC 5737 and 3849).
SSH_CIDRS = ["198.51.100.7/32", "2001:db8:42::/48"]


def settings(tmp: Path, endpoint: str, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "vultr_api_key": API_KEY,
        "vultr_api_endpoint": endpoint,
        "vultr_ssh_public_key": ssh_public_key(tmp),
        "vultr_inventory_dir": str(tmp / "inventory"),
        "vultr_ssh_cidrs": SSH_CIDRS,
    }
    base.update(overrides)
    return base
