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


def test_sshd_session_options(host):
    conf = sshd_effective(host)
    assert conf["maxsessions"] == "2"
    assert conf["maxauthtries"] == "3"
    assert conf["compression"] == "no"
    assert conf["tcpkeepalive"] == "no"
    assert conf["allowagentforwarding"] == "no"
    assert conf["loglevel"] == "VERBOSE"
    assert conf["banner"] == "/etc/issue.net"


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


def test_ssh_shows_the_legal_banner_before_login(host):
    res = ssh(host, "deploy")
    assert res.returncode == 0, res.stderr
    assert "restricted to authorised users" in res.stderr


def test_ssh_max_sessions_per_connection(host, tmp_path):
    # One multiplexed connection carries two sessions; sshd refuses a third on it
    # (MaxSessions 2) and the client falls back to a connection of its own.
    sock = str(tmp_path / "mux")
    base = ["ssh", *SSH_OPTS, "-i", KEY, "-S", sock]
    target = f"deploy@{address(host)}"
    subprocess.run([*base, "-M", "-f", "-N", target], check=True, capture_output=True, timeout=30)
    sessions = [
        subprocess.Popen([*base, target, "sleep 10"], stderr=subprocess.DEVNULL) for _ in range(2)
    ]
    try:
        host.run("sleep 2")
        third = subprocess.run(
            [*base, target, "id -un"], capture_output=True, text=True, timeout=30
        )
        assert "Session open refused by peer" in third.stderr, third.stderr
        assert third.returncode == 0, third.stderr
        assert third.stdout.strip() == "deploy"
    finally:
        for proc in sessions:
            proc.kill()
        subprocess.run([*base, "-O", "exit", target], capture_output=True, timeout=30)


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


def test_fail2ban_defaults_from_jail_local(host):
    local = host.file("/etc/fail2ban/jail.local")
    assert local.user == "root"
    assert "[DEFAULT]" in local.content_string
    assert "[DEFAULT]" not in host.file("/etc/fail2ban/jail.d/sshd.local").content_string
    # The running jail took the defaults from jail.local.
    assert host.check_output("fail2ban-client get sshd bantime") == "3600"
    assert host.check_output("fail2ban-client get sshd maxretry") == "5"
    assert "127.0.0.0/8" in host.check_output("fail2ban-client get sshd ignoreip")


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


def test_ufw_applies_the_hardening_sysctl_at_start(host):
    """ufw's start (at boot, after systemd-sysctl) applies IPT_SYSCTL: it must be the
    hardening's file, and that file must set every parameter ufw's own file does."""
    applied = host.check_output('. /etc/default/ufw; echo "$IPT_SYSCTL"')
    assert applied == "/etc/sysctl.d/60-hardening.conf"
    ours = dict(
        (part.strip() for part in line.split("=", 1))
        for line in host.file(applied).content_string.splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert ours["net.ipv4.conf.all.log_martians"] == "1"
    assert ours["net.ipv4.conf.default.log_martians"] == "1"
    for line in host.file("/etc/ufw/sysctl.conf").content_string.splitlines():
        key = line.split("=", 1)[0].strip().replace("/", ".")
        if line.strip() and not line.startswith("#") and key != "net.ipv4.icmp_echo_ignore_all":
            assert key in ours, f"ufw sets {key}, the hardening's file does not"


@pytest.mark.parametrize("pkg", ["apt-listchanges", "apt-show-versions", "debsums", "needrestart"])
def test_apt_tools_installed(host, pkg):
    assert host.package(pkg).is_installed


def test_needrestart_only_lists(host):
    # Evaluate needrestart's own configuration (which reads conf.d) the way needrestart does.
    mode = host.check_output(
        "perl -e 'our %nrconf; do \"/etc/needrestart/needrestart.conf\"; print $nrconf{restart}'"
    )
    assert mode == "l"
    assert "needrestart" in host.check_output("apt-config dump DPkg::Post-Invoke")


def test_apt_listchanges_hook_and_debsums_schedule(host):
    assert "apt-listchanges" in host.check_output("apt-config dump DPkg::Pre-Install-Pkgs")
    assert "CRON_CHECK=weekly" in host.file("/etc/default/debsums").content_string.splitlines()
    assert host.file("/etc/cron.weekly/debsums").exists
    assert host.run("apt-show-versions apt").rc == 0


def test_login_defs(host):
    defs = host.file("/etc/login.defs").content_string
    assert re.search(r"^UMASK\s+022$", defs, re.MULTILINE)
    assert re.search(r"^HOME_MODE\s+0750$", defs, re.MULTILINE)
    assert re.search(r"^SHA_CRYPT_MIN_ROUNDS\s+65536$", defs, re.MULTILINE)
    assert re.search(r"^SHA_CRYPT_MAX_ROUNDS\s+65536$", defs, re.MULTILINE)
    # No password ageing: it would expire the key-only deploy account.
    assert not re.search(r"^PASS_MAX_DAYS\s+(?!99999$)", defs, re.MULTILINE)


def test_roots_sudo_session_keeps_umask_022(host):
    # Ansible works through sudo: Debian 13's sudo session applies login.defs' UMASK
    # (pam_umask), and what it installs for service users must stay readable to them.
    assert host.check_output("sudo -n sh -c umask") == "0022"


def test_new_home_directories_are_private(host):
    # HOME_MODE 0750 (Debian 13's own login.defs has 0700 without it).
    host.check_output("useradd -m molecule-umask")
    try:
        assert host.file("/home/molecule-umask").mode & 0o027 == 0
    finally:
        host.run("userdel -r molecule-umask")


def test_root_hands_a_temporary_file_to_another_user(host):
    # What the freqtrade role's release validation does as root under sudo (a PAM session,
    # like Ansible's become): mktemp -d, then another user reads the file. libpam-tmpdir is
    # left out because its TMPDIR=/tmp/user/0 (0700) makes this fail.
    script = (
        'w=$(mktemp -d); trap "rm -rf $w" EXIT; echo handed-over > "$w/f"; '
        'chmod 0755 "$w"; chmod 0644 "$w/f"; runuser -u deploy -- cat "$w/f"'
    )
    assert host.check_output(f"sudo sh -c '{script}'") == "handed-over"


@pytest.mark.parametrize("path", ["/etc/issue", "/etc/issue.net"])
def test_legal_banners(host, path):
    f = host.file(path)
    assert f.mode == 0o644
    assert "restricted to authorised users" in f.content_string
    # No operating system or version for a visitor.
    assert "Debian" not in f.content_string
    assert "\\" not in f.content_string


def test_core_dumps_off_for_logins_and_services(host):
    # Login sessions (pam_limits), the deploy user and root alike.
    for user in ("deploy", "root"):
        assert host.check_output(f"su -s /bin/sh -c 'ulimit -Hc' {user}") == "0"
    # Every systemd service: PID 1 was re-executed with DefaultLimitCORE=0.
    assert host.check_output("systemctl show -p DefaultLimitCORE --value") == "0"
    assert host.check_output("systemctl show -p DefaultLimitCORESoft --value") == "0"
    out = host.check_output("systemd-run --quiet --wait --pipe sh -c 'ulimit -Hc; ulimit -Sc'")
    assert out.split() == ["0", "0"]
    coredump = host.file("/etc/systemd/coredump.conf.d/10-hardening.conf").content_string
    assert "Storage=none" in coredump
    assert "ProcessSizeMax=0" in coredump


def test_process_accounting(host):
    assert host.package("acct").is_installed
    assert host.service("acct").is_enabled
    # Molecule runs in containers, where the kernel refuses accounting: starting the unit
    # is skipped by its condition, not failed (a failed unit leaves the system degraded).
    assert host.run("systemctl start acct").rc == 0
    assert host.check_output("systemctl show -p ConditionResult --value acct") == "no"
    assert host.check_output("systemctl show -p ActiveState --value acct") == "inactive"
    assert host.file("/etc/systemd/system/acct.service.d/10-hardening.conf").exists


def test_sysstat_collects(host):
    assert 'ENABLED="true"' in host.file("/etc/default/sysstat").content_string.splitlines()
    assert host.service("sysstat").is_enabled
    assert host.service("sysstat-collect.timer").is_running
    host.check_output("systemctl start sysstat-collect.service")
    assert host.run("sar -u").rc == 0


@pytest.mark.parametrize("module", ["dccp", "sctp", "rds", "tipc", "usb-storage", "firewire-core"])
def test_kernel_module_disabled(host, module):
    # modprobe resolves the module to the no-op install command (dry run).
    assert host.check_output(f"modprobe -n -v {module}").strip() == "install /bin/true"
    assert f"blacklist {module.replace('-', '_')}" in host.check_output("modprobe --showconfig")
