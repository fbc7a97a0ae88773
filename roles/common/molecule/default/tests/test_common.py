"""Testinfra checks of the common role on a systemd container."""

import pytest


@pytest.mark.parametrize("pkg", ["chrony", "acl", "ca-certificates", "sqlite3", "logrotate"])
def test_base_packages(host, pkg):
    assert host.package(pkg).is_installed


def test_bot_user_is_unprivileged(host):
    user = host.user("freqtrade")
    assert user.exists
    assert user.uid != 0
    assert user.uid < 1000  # a system account
    assert user.shell == "/usr/sbin/nologin"
    assert user.home == "/var/lib/freqtrade"
    assert "sudo" not in user.groups
    home = host.file("/var/lib/freqtrade")
    assert home.is_directory
    assert home.user == "freqtrade"
    assert home.mode == 0o750


def test_timezone_is_utc(host):
    assert host.file("/etc/localtime").linked_to.endswith("UTC")
    assert host.check_output("date +%Z") == "UTC"


def test_chrony_runs_and_measures(host):
    svc = host.service("chrony")
    assert svc.is_enabled
    assert svc.is_running
    conf = host.file("/etc/chrony/chrony.conf").content_string
    assert "pool 0.debian.pool.ntp.org iburst" in conf
    assert "makestep 0.5 3" in conf
    # In a container chronyd must never try to set the host's clock.
    assert "-x" in host.check_output("ps -o args= -C chronyd")


def test_journald_is_bounded(host):
    conf = host.file("/etc/systemd/journald.conf.d/10-size.conf")
    assert conf.exists
    assert "SystemMaxUse=1G" in conf.content_string
    effective = host.check_output("systemd-analyze cat-config systemd/journald.conf")
    assert "SystemMaxUse=1G" in effective


def test_swap_file_prepared(host):
    swap = host.file("/swapfile")
    assert swap.exists
    assert swap.user == "root"
    assert swap.mode == 0o600
    assert swap.size == 64 * 1024 * 1024
    # mkswap wrote its signature at the end of the first page.
    assert "SWAPSPACE2" in host.check_output("head -c 4096 /swapfile | tail -c 10")
    assert "/swapfile none swap sw" in host.file("/etc/fstab").content_string
    assert host.file("/etc/sysctl.d/60-swap.conf").contains("vm.swappiness=10")
