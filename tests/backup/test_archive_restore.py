"""A backup and a restore on a temporary directory tree: the archive verifies, damage is
refused, secrets stay out, and restoring brings back the same trades while keeping the
current database aside."""

import json
import sqlite3
import tarfile
from contextlib import closing
from pathlib import Path

import pytest
from ft_backup import archive, backup, restore, settings, sqlitedb

BOTS = ("alpha", "beta")


def make_db(path: Path, trades: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE trades (id INTEGER PRIMARY KEY, pair TEXT, is_open BOOLEAN,"
            " open_rate FLOAT, amount FLOAT, open_date DATETIME)"
        )
        rows = [
            ("BTC/USDT:USDT", i % 2, 50000 + i, 0.01 * i, f"2026-11-{1 + i % 28:02d}")
            for i in range(trades)
        ]
        db.executemany(
            "INSERT INTO trades (pair, is_open, open_rate, amount, open_date) VALUES (?,?,?,?,?)",
            rows,
        )
        db.commit()


@pytest.fixture
def layout(tmp_path) -> settings.Settings:
    conf = settings.Settings(
        backup_dir=tmp_path / "backups",
        prefix="ft-backup",
        data_dir=tmp_path / "data",
        db_filename="tradesv3.sqlite",
        config_dir=tmp_path / "etc",
        strategies_dir=tmp_path / "strategies",
        bots=BOTS,
        journal_days=0,
        journal_unit="freqtrade@{bot}.service",
        keep_count=2,
        keep_days=30,
        metrics_file=tmp_path / "backup.prom",
        restic=None,
    )
    for n, bot in enumerate(BOTS):
        make_db(conf.data_dir / bot / conf.db_filename, 5 + n)
        (conf.config_dir / bot).mkdir(parents=True)
        (conf.config_dir / bot / "config.json").write_text(json.dumps({"bot_name": bot}))
        (conf.config_dir / f"{bot}.env").write_text("FREQTRADE__EXCHANGE__SECRET=s3cret\n")
        (conf.config_dir / bot / "stray.env").write_text("KEY=s3cret\n")
    (conf.strategies_dir / "abc123").mkdir(parents=True)
    (conf.strategies_dir / "abc123" / "Strat.py").write_text("class Strat: ...\n")
    return conf


def summary(conf: settings.Settings, bot: str) -> tuple[int, str]:
    return sqlitedb.trades_summary(conf.data_dir / bot / conf.db_filename)


def targets(conf: settings.Settings) -> restore.Targets:
    return restore.Targets(conf.data_dir, conf.db_filename, conf.config_dir, conf.strategies_dir)


def test_archive_holds_dbs_configs_strategies_and_no_secret(layout):
    path = backup.run(layout)
    verified = archive.verify(path, layout.backup_dir)
    with tarfile.open(path) as tar:
        members = set(tar.getnames())
        content = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    assert {"db/alpha/tradesv3.sqlite", "db/beta/tradesv3.sqlite", "config/alpha/config.json",
            "strategies/abc123/Strat.py", "MANIFEST.json"} <= members  # fmt: skip
    assert not [m for m in members if m.endswith(".env")]
    assert b"s3cret" not in content
    for bot in BOTS:
        meta = verified.manifest["bots"][bot]
        assert (meta["trades_rows"], meta["trades_sha256"]) == summary(layout, bot)
    assert (layout.backup_dir / (path.name + ".sha256")).read_text().split() == [
        verified.sha256,
        path.name,
    ]


def test_damaged_or_missing_archive_is_refused(layout):
    path = backup.run(layout)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(archive.VerifyError, match="does not match"):
        archive.verify(path, layout.backup_dir)
    archive.checksum_path(path).unlink()
    with pytest.raises(archive.VerifyError, match="checksum file"):
        archive.verify(path, layout.backup_dir)
    with pytest.raises(archive.VerifyError, match="does not exist"):
        archive.verify(layout.backup_dir / "nope.tar.gz", layout.backup_dir)


def test_archive_whose_db_differs_from_manifest_is_refused(layout, tmp_path):
    """A consistent checksum is not enough: the manifest must match the members."""
    path = backup.run(layout)
    staging = tmp_path / "forged"
    with tarfile.open(path) as tar:
        for name in tar.getnames():
            archive.extract_member(tar, name, _mk(staging / name))
    manifest = json.loads((staging / "MANIFEST.json").read_text())
    make_db(staging / "db/alpha/tradesv3.sqlite.new", 1)
    (staging / "db/alpha/tradesv3.sqlite.new").replace(staging / "db/alpha/tradesv3.sqlite")
    (staging / "MANIFEST.json").unlink()
    forged = layout.backup_dir / "ft-backup-20260101T000000Z.tar.gz"
    del manifest["files"]
    archive.write(staging, manifest, forged)
    with pytest.raises(archive.VerifyError, match="trades"):
        archive.verify(forged, layout.backup_dir)


def _mk(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_restore_round_trip_keeps_current_db_aside(layout):
    before = {bot: summary(layout, bot) for bot in BOTS}
    path = backup.run(layout)
    live = layout.data_dir / "alpha" / layout.db_filename
    live.unlink()
    make_db(live, 1)  # the "wiped" database a restarted bot would create
    wiped = summary(layout, "alpha")
    (live.parent / (live.name + "-journal")).write_bytes(b"stale")
    report = restore.restore(
        archive.verify(path, layout.backup_dir), targets(layout), [], False, False
    )
    assert {bot: summary(layout, bot) for bot in BOTS} == before
    aside = Path(report["bots"]["alpha"]["kept_aside"])
    assert sqlitedb.trades_summary(aside) == wiped
    assert not (live.parent / (live.name + "-journal")).exists()
    assert (
        aside.with_name(aside.name.replace(".sqlite.", ".sqlite-journal.")).read_bytes() == b"stale"
    )
    assert report["bots"]["alpha"]["integrity_check"] == "ok"


def test_restore_configs_and_strategies_on_request(layout):
    path = backup.run(layout)
    (layout.config_dir / "alpha" / "config.json").write_text("{}")
    (layout.strategies_dir / "abc123" / "Strat.py").unlink()
    verified = archive.verify(path, layout.backup_dir)
    restore.restore(verified, targets(layout), ["alpha"], True, True)
    assert json.loads((layout.config_dir / "alpha" / "config.json").read_text()) == {
        "bot_name": "alpha"
    }
    assert (layout.strategies_dir / "abc123" / "Strat.py").is_file()


def test_restore_refuses_unknown_bot_or_missing_bot_dir_before_any_change(layout):
    path = backup.run(layout)
    verified = archive.verify(path, layout.backup_dir)
    with pytest.raises(restore.RestoreError, match="not in"):
        restore.restore(verified, targets(layout), ["gamma"], False, False)
    db = layout.data_dir / "beta" / layout.db_filename
    db.rename(db.with_name("moved"))
    (layout.data_dir / "beta").rename(layout.data_dir / "beta-gone")
    with pytest.raises(restore.RestoreError, match="does not exist"):
        restore.restore(verified, targets(layout), [], False, False)
    assert not list((layout.data_dir / "alpha").glob("*.pre-restore-*"))


def test_retention_in_a_run(layout):
    made = [backup.run(layout) for _ in range(2)]
    old = layout.backup_dir / "ft-backup-20200101T000000Z.tar.gz"
    old.write_bytes(b"x")
    archive.checksum_path(old).write_text("x")
    made.append(backup.run(layout))
    left = sorted(p.name for p in layout.backup_dir.glob("*.tar.gz"))
    assert left == sorted(p.name for p in made[-2:])
    assert not archive.checksum_path(old).exists()
    assert backup.latest(layout.backup_dir, "ft-backup") == made[-1]


def test_wal_database_copy_holds_uncheckpointed_trades(layout):
    """freqtrade's databases are in WAL mode: committed trades may live only in the -wal
    file while the bot runs. The online copy holds them (a copy of the main file would
    not), and is a single self-contained file."""
    live = layout.data_dir / "alpha" / layout.db_filename
    with closing(sqlite3.connect(live)) as bot:
        bot.execute("PRAGMA journal_mode=WAL")
        bot.execute("PRAGMA wal_autocheckpoint=0")
        bot.executemany(
            "INSERT INTO trades (pair, is_open, open_rate, amount, open_date) VALUES (?,?,?,?,?)",
            [("ETH/USDT:USDT", 1, 3000.0, 1.0, "2026-11-25")] * 20,
        )
        bot.commit()
        assert live.with_name(live.name + "-wal").stat().st_size > 0
        expected = summary(layout, "alpha")
        path = backup.run(layout)
        verified = archive.verify(path, layout.backup_dir)
    meta = verified.manifest["bots"]["alpha"]
    assert (meta["trades_rows"], meta["trades_sha256"]) == expected
    assert expected[0] == 25
    with tarfile.open(path) as tar:
        assert not [n for n in tar.getnames() if n.endswith(("-wal", "-shm", "-journal"))]


def test_stopped_bots_wal_database_gets_no_files_beside_it(layout):
    """A stopped bot's WAL database has no -wal/-shm; the backup must not create them
    (they would belong to root, and the bot could not open its database any more)."""
    live = layout.data_dir / "beta" / layout.db_filename
    with closing(sqlite3.connect(live)) as db:
        db.execute("PRAGMA journal_mode=WAL")
    before = sorted(p.name for p in live.parent.iterdir())
    assert before == [layout.db_filename]
    expected = summary(layout, "beta")
    assert sorted(p.name for p in live.parent.iterdir()) == before  # summary creates none
    path = backup.run(layout)
    assert sorted(p.name for p in live.parent.iterdir()) == before
    meta = archive.verify(path, layout.backup_dir).manifest["bots"]["beta"]
    assert (meta["trades_rows"], meta["trades_sha256"]) == expected
