"""Testinfra checks of the python role: system Python, venv, build tools, TA-Lib from source."""

import pytest

EXPECTED = {"bookworm": "3.11", "trixie": "3.13"}


@pytest.mark.parametrize(
    "pkg", ["python3-venv", "python3-dev", "build-essential", "pkg-config", "libffi-dev"]
)
def test_packages(host, pkg):
    assert host.package(pkg).is_installed


def test_python_version(host):
    codename = host.system_info.codename
    version = host.check_output(
        "/usr/bin/python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'"
    )
    assert version == EXPECTED[codename]


def test_venv_works(host):
    host.check_output("rm -rf /tmp/venv-test && /usr/bin/python3 -m venv /tmp/venv-test")
    assert host.check_output("/tmp/venv-test/bin/python -m pip --version").startswith("pip ")
    host.check_output("rm -rf /tmp/venv-test")


def test_talib_installed(host):
    lib = host.file("/usr/local/lib/libta_lib.so")
    assert lib.exists
    assert "libta_lib.so" in host.check_output("ldconfig -p")
    for header in ("ta_libc.h", "ta_func.h", "ta_abstract.h"):
        assert host.file(f"/usr/local/include/ta-lib/{header}").exists
    marker = host.file("/usr/local/lib/ta-lib-0.6.0-dev.source-build").content_string
    assert "version=0.6.0-dev" in marker
    assert "sha256=" in marker


C_PROGRAM = r"""
#include <stdio.h>
#include <ta-lib/ta_libc.h>
int main(void) {
    double close[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    double out[10];
    int begin, n;
    if (TA_Initialize() != TA_SUCCESS) return 1;
    if (TA_SMA(0, 9, close, 3, &begin, &n, out) != TA_SUCCESS) return 2;
    printf("%s %d %d %.1f %.1f\n", TA_GetVersionString(), begin, n, out[0], out[n - 1]);
    return TA_Shutdown() == TA_SUCCESS ? 0 : 3;
}
"""


def test_talib_links_and_computes(host):
    # Compiled and linked on the server against the installed library, found by the loader
    # without LD_LIBRARY_PATH: what a TA-Lib Python wrapper built from source relies on.
    host.check_output(f"cat > /tmp/sma.c <<'EOF'\n{C_PROGRAM}\nEOF")
    host.check_output("cc -o /tmp/sma /tmp/sma.c -lta_lib -lm")
    out = host.check_output("/tmp/sma").split()
    assert out[0] == "0.6.0-dev"
    # SMA(3) of 1..10: first value at index 2 is 2.0, 8 values, the last is 9.0.
    assert out[-4:] == ["2", "8", "2.0", "9.0"]
    assert "/usr/local/lib/libta_lib.so" in host.check_output("ldd /tmp/sma")


def test_wheels_install_puts_a_project_package_into_the_venv(host):
    """wheels_install.yml: the wheel built on the control node is kept in the venv with a
    record of its hash, installed there, and the caller's handler was notified."""
    venv = "/opt/wheels-test/venv"
    digest, name = host.file(f"{venv}/wheels/installed").content_string.split()
    assert name.startswith("futures_lib-") and name.endswith("-py3-none-any.whl"), name
    assert host.check_output(f"sha256sum {venv}/wheels/{name}").split()[0] == digest
    where = host.check_output(
        f"{venv}/bin/python -c 'import futures_lib.margin as m; print(m.__file__)'"
    )
    assert where.startswith(f"{venv}/lib/"), where
    assert host.file("/opt/wheels-test/notified").content_string == "notified\n"
