"""Archives: staging a backup, writing the compressed tarball and its sha256 file, and
verifying both (checksum, every member against the manifest, the databases' integrity)."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from . import sqlitedb

MANIFEST = "MANIFEST.json"
CHUNK = 1 << 20


class VerifyError(Exception):
    """An archive is missing, damaged or does not match its manifest."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_path(archive: Path) -> Path:
    return archive.with_name(archive.name + ".sha256")


def db_member(bot: str, db_filename: str) -> str:
    return f"db/{bot}/{db_filename}"


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def staged_files(staging: Path) -> dict[str, str]:
    """Every regular file under the staging directory: relative path -> sha256."""
    return {
        p.relative_to(staging).as_posix(): sha256_file(p)
        for p in sorted(staging.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def write(staging: Path, manifest: dict[str, Any], archive: Path) -> str:
    """Write staging/ as archive (gzip tar) plus archive.sha256, both via temporary names
    renamed into place only when complete. Returns the archive's sha256."""
    manifest = {**manifest, "files": staged_files(staging)}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    tmp_archive = archive.with_name(f".{archive.name}.tmp")
    tmp_sum = archive.with_name(f".{archive.name}.sha256.tmp")
    try:
        with tarfile.open(tmp_archive, "w:gz", compresslevel=6) as tar:
            tar.add(staging / MANIFEST, arcname=MANIFEST)
            for name in manifest["files"]:
                tar.add(staging / name, arcname=name, recursive=False)
        os.chmod(tmp_archive, 0o600)
        fsync_path(tmp_archive)
        digest = sha256_file(tmp_archive)
        tmp_sum.write_text(f"{digest}  {archive.name}\n", encoding="utf-8")
        fsync_path(tmp_sum)
        os.replace(tmp_archive, archive)
        os.replace(tmp_sum, checksum_path(archive))
    finally:
        for tmp in (tmp_archive, tmp_sum):
            tmp.unlink(missing_ok=True)
    return digest


@dataclass(frozen=True)
class Verified:
    archive: Path
    sha256: str
    manifest: dict[str, Any]


def _expected_checksum(archive: Path) -> str:
    sums = checksum_path(archive)
    if not archive.is_file():
        raise VerifyError(f"archive {archive} does not exist")
    if not sums.is_file():
        raise VerifyError(f"checksum file {sums} does not exist")
    fields = sums.read_text(encoding="utf-8").split()
    if len(fields) != 2 or len(fields[0]) != 64 or fields[1].lstrip("*") != archive.name:
        raise VerifyError(f"{sums} is not a sha256sum line for {archive.name}")
    return fields[0]


def _safe_name(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts


def verify(archive: Path, scratch: Path) -> Verified:
    """Check the archive against its sha256 file and its manifest, and every database in it
    with PRAGMA integrity_check and its recorded trade count and checksum. scratch: a
    directory on a filesystem with room for one database copy."""
    expected = _expected_checksum(archive)
    actual = sha256_file(archive)
    if actual != expected:
        raise VerifyError(f"{archive.name}: sha256 {actual} does not match {expected}")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise VerifyError(f"{archive.name}: no {MANIFEST}")
            manifest: dict[str, Any] = json.load(member)
            files: dict[str, str] = manifest.get("files", {})
            seen = set()
            for info in tar:
                if info.name == MANIFEST:
                    continue
                if not info.isfile() or not _safe_name(info.name) or info.name not in files:
                    raise VerifyError(f"{archive.name}: unexpected member {info.name!r}")
                data = tar.extractfile(info)
                assert data is not None
                digest = hashlib.sha256()
                while chunk := data.read(CHUNK):
                    digest.update(chunk)
                if digest.hexdigest() != files[info.name]:
                    raise VerifyError(f"{archive.name}: {info.name} does not match the manifest")
                seen.add(info.name)
            if missing := sorted(set(files) - seen):
                raise VerifyError(f"{archive.name}: members missing: {missing}")
            for bot, meta in manifest.get("bots", {}).items():
                check_db(tar, bot, meta, scratch)
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        raise VerifyError(f"{archive.name}: unreadable archive: {exc}") from exc
    return Verified(archive, actual, manifest)


def extract_member(tar: tarfile.TarFile, name: str, dst: Path) -> None:
    data = tar.extractfile(name)
    if data is None:
        raise VerifyError(f"{name} is not a file")
    with dst.open("wb") as out:
        while chunk := data.read(CHUNK):
            out.write(chunk)


def check_db(tar: tarfile.TarFile, bot: str, meta: dict[str, Any], scratch: Path) -> None:
    with tempfile.TemporaryDirectory(dir=scratch, prefix=".verify-") as tmp:
        db = Path(tmp) / "db.sqlite"
        extract_member(tar, meta["member"], db)
        check_db_file(db, bot, meta)


def check_db_file(db: Path, bot: str, meta: dict[str, Any]) -> None:
    result = sqlitedb.integrity_check(db)
    if result != "ok":
        raise VerifyError(f"bot {bot}: integrity_check failed: {result}")
    rows, digest = sqlitedb.trades_summary(db)
    if (rows, digest) != (meta["trades_rows"], meta["trades_sha256"]):
        raise VerifyError(f"bot {bot}: trades ({rows} rows) differ from the manifest")
