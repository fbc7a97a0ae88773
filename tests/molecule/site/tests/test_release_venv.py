"""The running release venv holds exactly what the role's locks pin for the host's Python:
every package of roles/freqtrade/files/requirements/ at its pinned version, and the project's
own packages: the futures library the strategies import and the preflight, from the wheels
kept in the release."""

import json
import re
import tomllib

import yaml
from conftest import REPO
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LOCKS = REPO / "roles/freqtrade/files/requirements"
DEFAULTS = yaml.safe_load((REPO / "roles/freqtrade/defaults/main.yml").read_text())
VERSION = DEFAULTS["freqtrade_version"]
OWN = [
    tomllib.loads((REPO / f"packages/{name}/pyproject.toml").read_text())["project"]
    for name in ("futures_lib", "ft_preflight")
]
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
ENVIRONMENT = (
    "import json; from pip._vendor.packaging.markers import default_environment; "
    "print(json.dumps(default_environment()))"
)


def pinned(lock_name: str, environment: dict[str, str]) -> dict[str, str]:
    """name -> version the lock installs in this marker environment."""
    text = re.sub(r"\\\n", " ", (LOCKS / lock_name).read_text())
    found = {}
    for line in (line.split(" #")[0].strip() for line in text.splitlines()):
        if not line or line.startswith(("#", "-")):
            continue
        req = Requirement(HASH.sub("", line))
        if req.marker is None or Marker(str(req.marker)).evaluate(environment):
            found[canonicalize_name(req.name)] = str(req.specifier).removeprefix("==")
    return found


def test_release_venv_is_exactly_the_lock(host):
    release = host.file("/opt/freqtrade/current").linked_to
    assert release.rsplit("/", 1)[-1].startswith(f"{VERSION}-"), release
    python = f"{release}/bin/python"
    environment = json.loads(host.check_output(f"{python} -c '{ENVIRONMENT}'"))
    installed = {
        canonicalize_name(p["name"]): p["version"]
        for p in json.loads(host.check_output(f"{python} -m pip list --format=json"))
    }
    pip_version = DEFAULTS["freqtrade_pip_version"]
    expected = pinned(f"freqtrade-{VERSION}.txt", environment)
    expected |= pinned(f"pip-{pip_version}.txt", environment)
    expected |= {canonicalize_name(project["name"]): project["version"] for project in OWN}
    assert installed == expected, {
        "not locked": sorted(set(installed.items()) - set(expected.items())),
        "missing": sorted(set(expected.items()) - set(installed.items())),
    }
    # The release keeps the lock it was installed from.
    lock = (LOCKS / f"freqtrade-{VERSION}.txt").read_text()
    assert host.file(f"{release}/requirements.txt").content_string.startswith(lock.rstrip())
