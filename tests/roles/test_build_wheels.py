"""The python role's wheel builder (roles/python/files/build_wheels.py, run on the control
node by tasks/wheels_build.yml): reproducible wheels, kept per content, built once."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "roles/python/files/build_wheels.py"
PROJECT = ROOT / "packages/ft_preflight"
spec = importlib.util.spec_from_file_location("build_wheels", SCRIPT)
assert spec and spec.loader
build_wheels = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_wheels)


def run(cache: Path, *projects: Path) -> list[dict[str, str]]:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(cache), *map(str, projects)],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return json.loads(out.stdout)


def copy(tmp: Path, name: str) -> Path:
    target = tmp / name / PROJECT.name
    shutil.copytree(
        PROJECT, target, copy_function=shutil.copy,  # new mtimes
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"),
    )  # fmt: skip
    return target


def test_same_content_same_wheel_and_a_change_gives_another(tmp_path):
    first = run(tmp_path / "cache-a", PROJECT)[0]
    again = run(tmp_path / "cache-b", copy(tmp_path, "copy"))[0]
    assert again["sha256"] == first["sha256"], "a copy with other mtimes built other bytes"
    changed = copy(tmp_path, "changed")
    init = changed / "ft_preflight" / "__init__.py"
    init.write_text(init.read_text() + "# changed\n")
    assert run(tmp_path / "cache-b", changed)[0]["sha256"] != first["sha256"]


def test_a_cached_project_is_not_built_again(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    built = build_wheels.build(PROJECT, cache)

    def no_build(*args, **kwargs):
        raise AssertionError("built again")

    monkeypatch.setattr(build_wheels.subprocess, "run", no_build)
    assert build_wheels.build(PROJECT, cache) == built
    # Python's and the tools' caches are not content: a copy that has them is the same.
    with_caches = copy(tmp_path, "with-caches")
    for folder in ("ft_preflight/__pycache__", "build/lib", "ft_preflight.egg-info"):
        (with_caches / folder).mkdir(parents=True)
        (with_caches / folder / "x.pyc").write_bytes(b"\0")
    assert build_wheels.content_key(with_caches) == build_wheels.content_key(PROJECT)


def test_a_folder_without_pyproject_is_refused(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "cache"), str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "no pyproject.toml" in proc.stderr
    with pytest.raises(json.JSONDecodeError):
        json.loads(proc.stdout)
