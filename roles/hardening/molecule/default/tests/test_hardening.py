"""Testinfra checks of the hardening role on Debian 12 and 13 systemd containers.

The SSH tests log in for real from the control machine over the container's bridge address
with the key pair converge.yml generated, so they prove what an operator would see.
"""

import os
import re
import subprocess

import pytest

KEY = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "deploy_ed25519")
SSH_OPTS = [
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "IdentitiesOnly=yes",
]


def address(host):
    return host.interface("eth0").addresses[0]


def ssh(host, user, *extra, key=KEY):
    cmd = ["ssh", *SSH_OPTS]
    if key:
        cmd += ["-i", key]
    cmd += [*extra, f"{user}@{address(host)}", "id -un"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def sshd_effective(host):
    out = host.check_output("/usr/sbin/sshd -T")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def test_sshd_refuses_passwords_and_root(host):
    conf = sshd_effective(host)
    assert conf["passwordauthentication"] == "no"
    assert conf["kbdinteractiveauthentication"] == "no"
    assert conf["permitrootlogin"] == "no"
    assert conf["pubkeyauthentication"] == "yes"
    assert conf["permitemptypasswords"] == "no"
    assert conf["authenticationmethods"] == "publickey"
    assert conf["allowgroups"] == "sshusers"
    assert conf["x11forwarding"] == "no"


def test_sshd_dropin_is_root_owned(host):
    f = host.file("/etc/ssh/sshd_config.d/00-hardening.conf")
    assert f.user == "root"
    assert f.mode == 0o644


def test_ssh_service_running(host):
    svc = host.service("ssh")
    assert svc.is_enabled
    assert svc.is_running


def test_deploy_user(host):
    user = host.user("deploy")
    assert user.exists
    assert "sudo" in user.groups
    assert "sshusers" in user.groups
    keys = host.file("/home/deploy/.ssh/authorized_keys")
    assert keys.user == "deploy"
    assert keys.mode == 0o600
    with open(KEY + ".pub") as pub:
        assert keys.content_string.strip() == pub.read().strip()
    sudoers = host.file("/etc/sudoers.d/deploy")
    assert sudoers.mode == 0o440
    assert host.run("visudo -cf /etc/sudoers.d/deploy").rc == 0


def test_deploy_logs_in_with_its_key_and_uses_sudo(host):
    res = ssh(host, "deploy")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "deploy"
    cmd = ["ssh", *SSH_OPTS, "-i", KEY, f"deploy@{address(host)}", "sudo -n id -un"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "root"


def test_root_login_refused_even_with_the_key(host):
    # Give root the same key: sshd must still refuse (PermitRootLogin no, AllowGroups).
    host.run("install -d -m 700 /root/.ssh")
    host.run("cp /home/deploy/.ssh/authorized_keys /root/.ssh/authorized_keys")
    try:
        res = ssh(host, "root")
        assert res.returncode == 255
        assert "Permission denied" in res.stderr
    finally:
        host.run("rm -f /root/.ssh/authorized_keys")


def test_password_login_not_offered(host):
    res = ssh(
        host,
        "deploy",
        "-o",
        "PreferredAuthentications=password,keyboard-interactive",
        "-o",
        "PubkeyAuthentication=no",
        key=None,
    )
    assert res.returncode == 255
    # The server lists the methods it accepts: only publickey.
    assert re.search(r"Permission denied \(publickey\)", res.stderr), res.stderr


def test_ufw_allows_only_ssh_http_https(host):
    status = host.check_output("ufw status verbose")
    assert "Status: active" in status
    assert "Default: deny (incoming), allow (outgoing), deny (routed)" in status
    ports = set(re.findall(r"^(.+?)\s+ALLOW IN", status, re.MULTILINE))
    assert ports == {"22/tcp", "80/tcp", "443/tcp", "22/tcp (v6)", "80/tcp (v6)", "443/tcp (v6)"}
    assert host.service("ufw").is_enabled
    # The rules are really in the kernel: the INPUT policy drops.
    assert "-P INPUT DROP" in host.check_output("iptables -S INPUT")


def test_fail2ban_sshd_jail_active(host):
    assert host.service("fail2ban").is_running
    assert host.service("fail2ban").is_enabled
    status = host.check_output("fail2ban-client status sshd")
    assert "_SYSTEMD_UNIT=ssh.service" in status


def test_fail2ban_counts_failed_logins_and_bans(host):
    def total_failed():
        out = host.check_output("fail2ban-client status sshd")
        return int(re.search(r"Total failed:\s+(\d+)", out).group(1))

    before = total_failed()
    for _ in range(2):
        ssh(host, "nosuchuser", key=None)
    for _ in range(20):
        if total_failed() >= before + 2:
            break
        host.run("sleep 0.5")
    assert total_failed() >= before + 2
    # A ban reaches netfilter (a documentation address, unbanned again).
    host.check_output("fail2ban-client set sshd banip 192.0.2.7")
    try:
        assert "192.0.2.7" in host.check_output("iptables -S")
    finally:
        host.run("fail2ban-client set sshd unbanip 192.0.2.7")


def test_unattended_upgrades_security_only(host):
    assert host.package("unattended-upgrades").is_installed
    periodic = host.check_output("apt-config dump APT::Periodic")
    assert 'APT::Periodic::Update-Package-Lists "1";' in periodic
    assert 'APT::Periodic::Unattended-Upgrade "1";' in periodic
    origins = host.check_output("apt-config dump Unattended-Upgrade::Origins-Pattern")
    patterns = re.findall(r'Origins-Pattern:: "([^"]+)"', origins)
    assert patterns == ["origin=Debian,codename=${distro_codename}-security,label=Debian-Security"]
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in host.check_output(
        "apt-config dump Unattended-Upgrade"
    )
    # unattended-upgrade itself reads the same list.
    dry = host.run("unattended-upgrade --dry-run --debug 2>&1 | grep -m1 'Allowed origins'")
    assert "-security" in dry.stdout
    assert "label=Debian," not in dry.stdout
    for timer in ("apt-daily.timer", "apt-daily-upgrade.timer"):
        assert host.service(timer).is_enabled


@pytest.mark.parametrize(
    "line",
    [
        "net.ipv4.conf.all.rp_filter = 1",
        "net.ipv4.conf.all.accept_redirects = 0",
        "net.ipv6.conf.all.accept_redirects = 0",
        "net.ipv4.conf.all.send_redirects = 0",
        "net.ipv4.conf.all.accept_source_route = 0",
        "net.ipv4.tcp_syncookies = 1",
        "kernel.kptr_restrict = 2",
        "kernel.dmesg_restrict = 1",
        "fs.suid_dumpable = 0",
    ],
)
def test_sysctl_file(host, line):
    f = host.file("/etc/sysctl.d/60-hardening.conf")
    assert f.user == "root"
    assert f.mode == 0o644
    assert line in f.content_string.splitlines()
    # Every key names a parameter this kernel has (written, not applied: the kernel is the host's).
    key = line.split(" = ")[0]
    assert host.file("/proc/sys/" + key.replace(".", "/")).exists
