"""The connection users have: after the first run, site.yml runs over SSH as the deploy user
(key only, sudo without a password) with the project's ansible.cfg, mitogen's strategy
included. On a host converged through the container connection, that run changes nothing.
Bookworm instance only."""

import os
import subprocess

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

    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "group_vars").symlink_to(REPO / "inventories/rehearsal/group_vars")
    server = {
        "ansible_host": address,
        "ansible_user": "deploy",
        "ansible_ssh_private_key_file": str(REPO / ".cache/vault/deploy_ed25519"),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={known_hosts}",
    }
    hosts = {"all": {"children": {"bot_hosts": {"hosts": {"server": server}}}}}
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))

    run = playbook("site.yml", "server", inventory=inventory)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    recap = [line for line in run.stdout.splitlines() if line.startswith("server ")]
    assert recap, out[-3000:]
    assert " changed=0 " in recap[-1], recap[-1]
    assert " unreachable=0 " in recap[-1], recap[-1]
