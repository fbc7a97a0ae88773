"""The textfile metrics (contract in docs/monitoring.md) and the configuration checks."""

import json

import pytest
from ft_backup import metrics, settings


def test_success_then_failure_keeps_last_success(tmp_path):
    prom = tmp_path / "node-exporter" / "backup.prom"
    metrics.record(prom, 0, 1_795_600_000.4, 3.25, 1234)
    first = metrics.read(prom)
    assert first == {
        metrics.LAST_SUCCESS: 1_795_600_000,
        metrics.EXIT_CODE: 0,
        metrics.SIZE: 1234,
        metrics.DURATION: 3.25,
    }
    metrics.record(prom, 3, 1_795_700_000, 1.0, None)
    after = metrics.read(prom)
    assert after[metrics.LAST_SUCCESS] == 1_795_600_000
    assert after[metrics.SIZE] == 1234
    assert after[metrics.EXIT_CODE] == 3
    text = prom.read_text()
    assert "# TYPE backup_last_success_timestamp_seconds gauge\n" in text
    assert "backup_last_exit_code 3\n" in text
    assert [p.name for p in prom.parent.iterdir()] == ["backup.prom"]  # no temp file left


def test_failure_first_has_no_success_series(tmp_path):
    prom = tmp_path / "backup.prom"
    metrics.record(prom, 1, 1_795_600_000, 0.5, None)
    assert metrics.LAST_SUCCESS not in prom.read_text()
    assert metrics.read(prom)[metrics.EXIT_CODE] == 1


def valid() -> dict:
    return {
        "backup_dir": "/var/backups/freqtrade",
        "prefix": "ft-backup",
        "data_dir": "/var/lib/freqtrade/bots",
        "db_filename": "tradesv3.sqlite",
        "config_dir": "/etc/freqtrade",
        "strategies_dir": "/opt/freqtrade/strategies",
        "bots": ["a", "b"],
        "journal_days": 7,
        "journal_unit": "freqtrade@{bot}.service",
        "keep_count": 14,
        "keep_days": 30,
        "metrics_file": "/var/lib/prometheus/node-exporter/backup.prom",
        "restic": None,
    }


def test_valid_config_loads(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(valid()))
    conf = settings.load(path)
    assert conf.bots == ("a", "b")
    assert conf.restic is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bots": ["a", "a"]}, "twice"),
        ({"bots": ["../x"]}, "bot names"),
        ({"keep_count": 0}, "keep_count"),
        ({"keep_days": True}, "keep_days"),
        ({"journal_unit": "freqtrade.service"}, "{bot}"),
        ({"restic": {"repository": "", "password_file": "/p", "keep_last": 3}}, "repository"),
    ],
)
def test_bad_config_is_refused_naming_the_key(tmp_path, change, message):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**valid(), **change}))
    with pytest.raises(settings.ConfigError, match=message.replace("{", r"\{")):
        settings.load(path)


def test_missing_key_is_named(tmp_path):
    raw = valid()
    del raw["data_dir"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(settings.ConfigError, match="data_dir"):
        settings.load(path)
