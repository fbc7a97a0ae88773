"""The connection users have: after the first run, site.yml runs over SSH as the deploy user
(key only, sudo without a password) with the project's ansible.cfg, mitogen's strategy
included. On a host converged through the container connection, that run changes nothing.
Bookworm instance only."""

import os
import subprocess
from pathlib import Path

import yaml
from conftest import REPO, playbook

INSTANCE = f"{os.environ.get('MOLECULE_INSTANCE', 'molecule')}-bookworm"
testinfra_hosts = [f"ansible://{INSTANCE}"]


def test_rerun_over_ssh_as_the_deploy_user_changes_nothing(host, tmp_path):
    address = host.check_output("hostname -I").split()[0]
    # The host key the server really has, pinned: ansible.cfg keeps host_key_checking on.
    scan = subprocess.run(
        ["ssh-keyscan", "-T", "10", "-t", "ed25519", address],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert scan.stdout.strip(), f"no host key from {address}: {scan.stderr}"
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(scan.stdout)

    # The scenario's inventory (the same host name, group and group_vars as the converge),
    # reached over SSH as a user's inventory has it.
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    scenario_inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    (inventory / "group_vars").symlink_to(scenario_inventory / "group_vars")
    server = {
        "ansible_host": address,
        "ansible_user": "deploy",
        "ansible_ssh_private_key_file": str(REPO / ".cache/vault/deploy_ed25519"),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={known_hosts}",
    }
    hosts = {"all": {"children": {"bot_hosts": {"hosts": {INSTANCE: server}}}}}
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))

    run = playbook("site.yml", INSTANCE, inventory=inventory)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    recap = [line for line in run.stdout.splitlines() if line.startswith(f"{INSTANCE} ")]
    assert recap, out[-3000:]
    assert " changed=0 " in recap[-1], (recap[-1], changed_tasks(run.stdout))
    assert " unreachable=0 " in recap[-1], recap[-1]


def changed_tasks(stdout: str) -> list[str]:
    """The tasks that reported a change, for the failure message."""
    task, found = "", []
    for line in stdout.splitlines():
        if line.startswith("TASK ["):
            task = line.rstrip(" *")
        elif line.startswith("changed:"):
            found.append(f"{task}: {line[:160]}")
    return found
