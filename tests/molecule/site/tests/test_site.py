"""Testinfra checks of a host converged by site.yml."""


def test_systemd_healthy(host):
    # Every unit the site installs must come up; 'degraded' means one failed.
    state = host.run("systemctl is-system-running").stdout.strip()
    failed = host.run("systemctl --failed --no-legend --plain").stdout
    assert state == "running", failed


def test_bot_user(host):
    assert host.user("freqtrade").exists
    assert host.user("freqtrade").uid != 0


def test_time_is_utc_and_synchronised_service(host):
    assert host.check_output("date +%Z") == "UTC"
    assert host.service("chrony").is_running


def test_python_is_recent_enough(host):
    # freqtrade needs Python >= 3.11 (Debian 12: 3.11, Debian 13: 3.13).
    version = host.check_output("python3 -c 'import sys; print(sys.version_info[:2] >= (3, 11))'")
    assert version == "True"


def test_sshd_refuses_passwords_and_root(host):
    effective = host.check_output("sshd -T").lower().splitlines()
    assert "passwordauthentication no" in effective
    assert "permitrootlogin no" in effective
    assert "pubkeyauthentication yes" in effective


def test_firewall_allows_only_ssh_and_web(host):
    status = host.check_output("ufw status")
    assert "Status: active" in status
    ports = {line.split()[0].split("/")[0] for line in status.splitlines() if "ALLOW" in line}
    assert ports == {"22", "80", "443"}
