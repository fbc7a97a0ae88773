"""`vagrant validate` on the repository's Vagrantfile, offline and without plugins.

No box is downloaded and no provider is needed (VirtualBox is absent; vagrant-libvirt may be
installed by tools/vm-host-setup.sh, but a private VAGRANT_HOME and --ignore-provider keep
the check the same), so provider blocks are skipped; everything else (box name, triggers,
both Ansible provisioners) is validated by Vagrant itself. The machine itself is booted by
the VM stage (make rehearsal-vm, make test-vm: tests/vm).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VAGRANTFILE = ROOT / "Vagrantfile"

pytestmark = pytest.mark.skipif(
    shutil.which("vagrant") is None, reason="vagrant is not installed (tools/host-setup.sh)"
)


def _vagrant_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    # A private Vagrant home: no plugins, no boxes; and no update check over the network.
    env["VAGRANT_HOME"] = str(home)
    env["VAGRANT_CHECKPOINT_DISABLE"] = "1"
    # Vagrant's per-project state (.vagrant/) outside the working tree.
    env["VAGRANT_DOTFILE_PATH"] = str(home / "dotfile")
    env.pop("VAGRANT_DEFAULT_PROVIDER", None)
    env.pop("VAGRANT_VAGRANTFILE", None)
    return env


def _validate(cwd: Path, home: Path, *prefix: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, "vagrant", "validate", "--ignore-provider"],
        cwd=cwd,
        env=_vagrant_env(home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _can_unshare_network() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def test_vagrantfile_validates(tmp_path: Path) -> None:
    result = _validate(ROOT, tmp_path / "vagrant-home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Vagrantfile validated successfully" in result.stdout


@pytest.mark.skipif(not _can_unshare_network(), reason="needs `unshare -n` (root)")
def test_vagrantfile_validates_without_network(tmp_path: Path) -> None:
    """The same validation in a network namespace with no interfaces but loopback."""
    result = _validate(ROOT, tmp_path / "vagrant-home", "unshare", "-n")
    assert result.returncode == 0, result.stdout + result.stderr


def test_validation_catches_a_broken_vagrantfile(tmp_path: Path) -> None:
    """The check can fail: a copy with a missing playbook and a bad port is refused. (The
    Vagrantfile's own forwarded ports are VirtualBox's, validated only with that provider:
    the broken port is added at the top level.)"""
    text = VAGRANTFILE.read_text()
    assert 'ansible.playbook = "site.yml"' in text
    assert 'config.vm.hostname = "ft-vagrant"' in text
    broken = text.replace('ansible.playbook = "site.yml"', "ansible.playbook = nil").replace(
        'config.vm.hostname = "ft-vagrant"',
        'config.vm.hostname = "ft-vagrant"\n'
        '  config.vm.network "forwarded_port", guest: 0, host: 9',
    )
    (tmp_path / "Vagrantfile").write_text(broken)
    (tmp_path / "tools").mkdir()
    shutil.copy2(ROOT / "tools" / "test-vault.sh", tmp_path / "tools" / "test-vault.sh")
    result = _validate(tmp_path, tmp_path / "vagrant-home")
    assert result.returncode != 0
    assert "`playbook` file path must be set" in result.stdout + result.stderr
    assert "Ports to forward must be 1 to 65535" in result.stdout + result.stderr


def test_vagrantfile_matches_the_target_server() -> None:
    """Facts the brief fixes: the box, the size, both providers, the forwarded HTTPS port,
    site.yml with the rehearsal inventory and the test vault."""
    text = VAGRANTFILE.read_text()
    for needle in (
        '"debian/bookworm64"',
        "cpus = 2",
        "memory_mb = 4096",
        'config.vm.provider "libvirt"',
        'config.vm.provider "virtualbox"',
        "guest: 443, host: https_port",
        'lv.driver = ENV.fetch("FT_VAGRANT_LIBVIRT_DRIVER", "kvm")',
        "web_edge_public_https_port=",
        'ansible.playbook = "site.yml"',
        "'inventories', 'rehearsal'",
        "'vault.yml'",
        'File.join(vault_dir, "pass")',
    ):
        assert needle in text, needle
