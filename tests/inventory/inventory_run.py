"""Running the real site.yml against hosts that do not exist, and reading what validation
said about each: shared by the bad-input matrix and the production quick start's test."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = ROOT / ".venv" / "bin" / "ansible-playbook"
VALIDATION_PLAY_NAME = "Validate the inventory"
TIMEOUT = 600


class Run(NamedTuple):
    """What one ansible-playbook run reported about one host."""

    validation: list[str]  # the host's failure messages in the validation play
    later: list[dict[str, Any]]  # its results in the plays after validation


def absent_host() -> dict[str, Any]:
    """Connection variables of a host that does not exist: anything past validation is
    UNREACHABLE."""
    return {
        "ansible_connection": "community.docker.docker",
        "ansible_host": f"ft-badinput-absent-{secrets.token_hex(6)}",
        "ansible_python_interpreter": "/usr/bin/python3",
        # With pipelining a missing container is a module failure; without it, UNREACHABLE.
        "ansible_pipelining": False,
    }


def per_host(report: dict[str, Any]) -> dict[str, Run]:
    """The JSON callback's report, per host: failure messages of the validation play, and
    every result after it."""
    results: dict[str, Run] = {}
    for play in report["plays"]:
        in_validation = play["play"]["name"] == VALIDATION_PLAY_NAME
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                entry = results.setdefault(host, Run([], []))
                if not in_validation:
                    entry.later.append(result)
                elif result.get("failed"):
                    messages = [result, *result.get("results", [])]
                    entry.validation.extend(
                        str(r["msg"]) for r in messages if r.get("failed") and "msg" in r
                    )
    return results


def play(
    workdir: Path, inventory: Path, hosts: list[str], *args: str
) -> tuple[dict[str, Any], str]:
    """One ansible-playbook site.yml run on these hosts: its JSON report and all it printed."""
    if not ANSIBLE_PLAYBOOK.exists():
        pytest.fail(f"{ANSIBLE_PLAYBOOK} is missing: run `make venv`")
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.json",  # not profile_tasks: JSON only
    }
    cmd = [
        str(ANSIBLE_PLAYBOOK), "site.yml", "-i", str(inventory),
        "--limit", ",".join(hosts), "--forks", str(len(hosts)), *args,
    ]  # fmt: skip
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    try:
        return json.loads(proc.stdout), proc.stdout + proc.stderr
    except ValueError:
        pytest.fail(f"no JSON report from ansible-playbook:\n{proc.stdout[-3000:]}\n{proc.stderr}")
