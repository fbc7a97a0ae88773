"""Release venvs install only pinned, hash-checked packages: the role's pip tasks install
from the locks in pip's hash-checking mode, the shipped locks pin every package with its
sha256 hashes for both Debian Pythons, and the role's input rules refuse a freqtrade version
without a lock and an extra package without hashes (run through the real assert tasks)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "freqtrade"
LOCKS = ROLE / "files" / "requirements"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
VERSION = DEFAULTS["freqtrade_version"]
PIP_VERSION = DEFAULTS["freqtrade_pip_version"]
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# Debian 12 and 13, the Pythons the release venvs are made from.
PYTHONS = {"bookworm": "3.11.2", "trixie": "3.13.5"}
MACHINES = ["x86_64", "aarch64"]


def requirement_lines(lock: Path) -> list[str]:
    """The lock's requirement lines, continuations joined, comments and options left out."""
    text = re.sub(r"\\\n", " ", lock.read_text())
    lines = (line.split(" #")[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-"))]


def pins(lock: Path, python: str, machine: str) -> dict[str, str]:
    """name -> version the lock installs on this Python and machine (Linux, CPython)."""
    env = {
        "python_version": ".".join(python.split(".")[:2]),
        "python_full_version": python,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "platform_machine": machine,
        "sys_platform": "linux",
        "os_name": "posix",
        "platform_system": "Linux",
    }
    found: dict[str, str] = {}
    for line in requirement_lines(lock):
        req = Requirement(HASH.sub("", line))
        if req.marker is None or Marker(str(req.marker)).evaluate(env):
            name = canonicalize_name(req.name)
            assert name not in found, f"{lock.name}: {name} twice on Python {python}"
            found[name] = str(req.specifier).removeprefix("==")
    return found


def release_tasks() -> list[dict[str, Any]]:
    tasks = yaml.safe_load((ROLE / "tasks" / "release.yml").read_text())
    flat: list[dict[str, Any]] = []
    for task in tasks:
        flat.extend(task.get("block", [task]))
    return flat


def test_release_installs_only_from_hash_checked_locks():
    pip_tasks = [t for t in release_tasks() if "ansible.builtin.pip" in t]
    assert len(pip_tasks) >= 2, "expected pip's own install and freqtrade's"
    for task in pip_tasks:
        args = task["ansible.builtin.pip"]
        assert "name" not in args, f"{task['name']}: installs by name, not from a lock"
        assert args.get("requirements"), f"{task['name']}: no requirements file"
        extra = args.get("extra_args", "").split()
        assert "--require-hashes" in extra, f"{task['name']}: not in hash-checking mode"
        assert "--no-deps" in extra, f"{task['name']}: resolves beyond the lock"
    assert not [t for t in release_tasks() if "pip install" in json.dumps(t)]


@pytest.mark.parametrize("lock", sorted(LOCKS.glob("*.txt")), ids=lambda p: p.name)
def test_every_requirement_is_pinned_with_hashes(lock: Path):
    lines = requirement_lines(lock)
    assert lines
    for line in lines:
        req = Requirement(HASH.sub("", line))
        assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", line
        assert HASH.search(line), f"{lock.name}: {req.name} has no --hash=sha256:"
        assert not re.search(r"--hash=(?!sha256:[0-9a-f]{64}(\s|$))", line), line


@pytest.mark.parametrize("dist", sorted(PYTHONS))
@pytest.mark.parametrize("machine", MACHINES)
def test_locks_cover_the_configured_versions_on_both_pythons(dist: str, machine: str):
    installed = pins(LOCKS / f"freqtrade-{VERSION}.txt", PYTHONS[dist], machine)
    assert installed["freqtrade"] == VERSION
    assert {"ccxt", "numpy", "pandas", "sqlalchemy"} <= installed.keys()
    bootstrap = pins(LOCKS / f"pip-{PIP_VERSION}.txt", PYTHONS[dist], machine)
    assert bootstrap["pip"] == PIP_VERSION
    # The two are installed into one venv: a package in both would be installed twice.
    assert not installed.keys() & bootstrap.keys()


# The role's input rules (tasks/assert.yml), one host per case in a single run.
SHA = "0" * 64
LIBRARY_PLAY = """
- name: The release's wheels, built from {src} and {preflight}
  hosts: {hosts}
  gather_facts: false
  tasks:
    - name: Build the wheels as the role does
      ansible.builtin.include_role:
        name: freqtrade
        tasks_from: packages.yml
        public: true
      vars:
        freqtrade_library_src: {src}
        freqtrade_preflight_src: {preflight}
"""
PLAYBOOK = """
- name: The freqtrade role's input rules
  hosts: all
  gather_facts: false
  tasks:
    - name: Run the role's assert tasks
      ansible.builtin.include_role:
        name: freqtrade
        tasks_from: assert.yml
        public: true
    - name: Report the release id
      ansible.builtin.debug:
        msg: "{{ freqtrade_release_id if freqtrade_lock_file is abs else 'n/a' }}"
"""
# Hosts whose futures library is a copy of packages/futures_lib: same content with new
# mtimes, or with one changed line; and one whose preflight has a changed line.
LIBRARY_CASES = ("id_library_copy", "id_library_changed")
PREFLIGHT_CASE = "id_preflight_changed"


@pytest.fixture(scope="module")
def assert_run(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """host -> {"failed": [messages], "release_id": str | None}."""
    tmp = tmp_path_factory.mktemp("assert")
    lock = tmp / "freqtrade.txt"
    shutil.copy(LOCKS / f"freqtrade-{VERSION}.txt", lock)
    changed = tmp / "freqtrade-changed.txt"
    changed.write_text(re.sub(r"sha256:[0-9a-f]{64}", f"sha256:{SHA}", lock.read_text(), count=1))
    pip_lock = str(LOCKS / f"pip-{PIP_VERSION}.txt")
    cases: dict[str, dict[str, Any]] = {
        "defaults": {},
        "hashed_extra": {"freqtrade_extra_packages": [f"ta-extra==0.11.0 --hash=sha256:{SHA}"]},
        "unhashed_extra": {"freqtrade_extra_packages": ["ta-extra==0.11.0"]},
        "unpinned_extra": {"freqtrade_extra_packages": [f"ta-extra>=0.11 --hash=sha256:{SHA}"]},
        "extra_in_lock": {"freqtrade_extra_packages": [f"NumPy==2.0.0 --hash=sha256:{SHA}"]},
        "no_lock": {"freqtrade_version": "2099.1"},
        "no_pip_lock": {"freqtrade_pip_version": "1.0"},
        "id_lock": {"freqtrade_lock_file": str(lock), "freqtrade_pip_lock_file": pip_lock},
        "id_changed": {"freqtrade_lock_file": str(changed), "freqtrade_pip_lock_file": pip_lock},
        "id_library_copy": {"freqtrade_lock_file": str(lock), "freqtrade_pip_lock_file": pip_lock},
        "id_library_changed": {
            "freqtrade_lock_file": str(lock),
            "freqtrade_pip_lock_file": pip_lock,
        },
        PREFLIGHT_CASE: {"freqtrade_lock_file": str(lock), "freqtrade_pip_lock_file": pip_lock},
    }
    library = ROOT / "packages" / "futures_lib"
    copies = {}
    for case in LIBRARY_CASES:
        copies[case] = tmp / case
        shutil.copytree(
            library,
            copies[case],
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"),
            copy_function=shutil.copy,  # new mtimes: the wheel must not depend on them
        )
    init = copies["id_library_changed"] / "futures_lib" / "__init__.py"
    init.write_text(init.read_text() + "# changed\n")
    preflight = ROOT / "packages" / "ft_preflight"
    changed_preflight = tmp / PREFLIGHT_CASE
    shutil.copytree(
        preflight, changed_preflight, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    init = changed_preflight / "ft_preflight" / "__init__.py"
    init.write_text(init.read_text() + "# changed\n")
    others = "all:!" + ":!".join([*LIBRARY_CASES, PREFLIGHT_CASE])
    plays = [LIBRARY_PLAY.format(src=library, preflight=preflight, hosts=others)]
    plays += [
        LIBRARY_PLAY.format(src=copies[case], preflight=preflight, hosts=case)
        for case in LIBRARY_CASES
    ]
    plays.append(
        LIBRARY_PLAY.format(src=library, preflight=changed_preflight, hosts=PREFLIGHT_CASE)
    )
    common = {"ansible_connection": "local", "ansible_python_interpreter": "auto_silent"}
    inventory = {"all": {"hosts": {name: {**common, **v} for name, v in cases.items()}}}
    (tmp / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (tmp / "play.yml").write_text("".join(plays) + PLAYBOOK)
    playbook = ROOT / ".venv" / "bin" / "ansible-playbook"
    if not playbook.exists():
        pytest.fail(f"{playbook} is missing: run `make venv`")
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "tmp"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.json",
    }
    cmd = [str(playbook), str(tmp / "play.yml"), "-i", str(tmp / "hosts.yml"), "--forks", "10"]
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    report = json.loads(proc.stdout[proc.stdout.index("{") :])
    results: dict[str, dict[str, Any]] = {h: {"failed": [], "release_id": None} for h in cases}
    for task in report["plays"][-1]["tasks"]:
        for host, result in task["hosts"].items():
            for r in [result, *result.get("results", [])]:
                if r.get("failed") and "msg" in r:
                    results[host]["failed"].append(str(r["msg"]))
            if task["task"]["name"] == "Report the release id":
                results[host]["release_id"] = result["msg"]
    return results


@pytest.mark.parametrize("case", ["defaults", "hashed_extra", "id_lock"])
def test_hash_pinned_input_is_accepted(assert_run, case):
    assert assert_run[case]["failed"] == []


@pytest.mark.parametrize("case", ["unhashed_extra", "unpinned_extra"])
def test_extra_package_without_hash_pin_is_refused(assert_run, case):
    failed = " ".join(assert_run[case]["failed"])
    assert "freqtrade_extra_packages" in failed
    assert "ta-extra" in failed and "--hash=sha256:" in failed


def test_extra_package_already_in_the_lock_is_refused(assert_run):
    failed = " ".join(assert_run["extra_in_lock"]["failed"])
    assert "freqtrade_extra_packages" in failed and "numpy" in failed


def test_missing_lock_is_refused_naming_the_version_and_the_path(assert_run):
    failed = " ".join(assert_run["no_lock"]["failed"])
    assert "freqtrade_version 2099.1" in failed
    assert str(LOCKS / "freqtrade-2099.1.txt") in failed
    failed = " ".join(assert_run["no_pip_lock"]["failed"])
    assert "freqtrade_pip_version 1.0" in failed and str(LOCKS / "pip-1.0.txt") in failed


def test_release_id_changes_with_the_lock_content(assert_run):
    same, changed = assert_run["id_lock"]["release_id"], assert_run["id_changed"]["release_id"]
    assert same and changed
    assert same.startswith(f"{VERSION}-") and changed.startswith(f"{VERSION}-")
    assert same != changed


def test_release_id_follows_the_futures_library_content(assert_run):
    """The release's wheels are reproducible: a copy of the library with new mtimes keeps the
    release id, a changed line in the library or the preflight gives a new one
    (tasks/packages.yml). id_lock: the same lock, the packages themselves."""
    default = assert_run["id_lock"]["release_id"]
    assert default and default.startswith(f"{VERSION}-")
    assert assert_run["id_library_copy"]["release_id"] == default
    changed = assert_run["id_library_changed"]["release_id"]
    assert changed not in (None, default)
    assert assert_run[PREFLIGHT_CASE]["release_id"] not in (None, default, changed)
