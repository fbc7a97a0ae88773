"""Wheels of the project's own Python packages, built on the control node and kept in a
cache there, one folder per content of a project: an unchanged project is not built again.

Usage: python build_wheels.py CACHE_DIR PROJECT_DIR...
Prints a JSON list, one {"path", "name", "sha256"} per project, in the order given.

Built with this Python, its setuptools and no build isolation (which would fetch the newest
setuptools, whose name is written into every wheel), SOURCE_DATE_EPOCH fixed: setuptools
writes the entries sorted, so the same source gives the same bytes and a wheel's hash
changes only with its content. The cache key covers the project's files and the builder's
Python and setuptools versions. Built from a copy: setuptools writes build/ and *.egg-info
beside the source. A build goes to a temporary folder and is renamed into place, so two
runs on one control node never see half a wheel.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

SKIP_DIRS = {"__pycache__", "build", "dist", ".ruff_cache", ".mypy_cache", ".pytest_cache"}
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the earliest time a zip entry holds


def skipped(part: str) -> bool:
    return part in SKIP_DIRS or part.endswith(".egg-info")


def project_files(project: Path) -> list[Path]:
    files = []
    for path in project.rglob("*"):
        rel = path.relative_to(project)
        if path.is_file() and not any(skipped(p) for p in rel.parts) and path.suffix != ".pyc":
            files.append(rel)
    return sorted(files, key=lambda p: p.as_posix())


def content_key(project: Path) -> str:
    digest = hashlib.sha256()
    digest.update(f"{sys.version_info[:3]} setuptools {version('setuptools')}\n".encode())
    for rel in project_files(project):
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256((project / rel).read_bytes()).digest())
    return digest.hexdigest()[:24]


def build(project: Path, cache: Path) -> Path:
    """The folder holding the project's wheel, built now unless the cache has it."""
    target = cache / f"{project.name}-{content_key(project)}"
    if list(target.glob("*.whl")):
        return target
    with tempfile.TemporaryDirectory(dir=cache, prefix=".build-") as tmp:
        copy = Path(tmp) / "src"
        shutil.copytree(project, copy, ignore=lambda d, names: [n for n in names if skipped(n)])
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
             "--no-cache-dir", "--wheel-dir", str(Path(tmp) / "dist"), str(copy)],
            check=True, env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH},
        )  # fmt: skip
        try:
            (Path(tmp) / "dist").rename(target)
        except OSError:
            if not list(target.glob("*.whl")):  # not another run's complete build
                raise
    return target


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cache = Path(argv[0]).expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    wheels = []
    for project in map(Path, argv[1:]):
        if not (project / "pyproject.toml").is_file():
            print(f"{project}: no pyproject.toml, not a Python project", file=sys.stderr)
            return 2
        (wheel,) = build(project.resolve(), cache).glob("*.whl")
        sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
        wheels.append({"path": str(wheel), "name": wheel.name, "sha256": sha256})
    print(json.dumps(wheels))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
