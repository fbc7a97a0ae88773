"""Which archives are pruned, by count and by age."""

from datetime import UTC, datetime, timedelta

import pytest
from ft_backup import retention

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def names(*ages_days: float, prefix: str = "ft-backup") -> list[str]:
    return [retention.archive_name(prefix, NOW - timedelta(days=d)) for d in ages_days]


def test_name_round_trip():
    name = retention.archive_name("ft-backup", NOW)
    assert name == "ft-backup-20261125T120000Z.tar.gz"
    assert retention.archive_time(name, "ft-backup") == NOW


@pytest.mark.parametrize(
    "name",
    [
        "ft-backup-20261125T120000Z.tar.gz.sha256",
        ".ft-backup-20261125T120000Z.tar.gz.tmp",
        "other-20261125T120000Z.tar.gz",
        "ft-backup-20261325T120000Z.tar.gz",
        "ft-backup-latest.tar.gz",
        ".lock",
    ],
)
def test_other_files_are_not_archives(name):
    assert retention.archive_time(name, "ft-backup") is None
    assert retention.prunable([name], "ft-backup", NOW, 1, 1) == []


def test_prunes_beyond_count_oldest_first():
    archives = names(0, 1, 2, 3, 4)
    assert retention.prunable(archives, "ft-backup", NOW, 3, 365) == archives[3:]


def test_order_of_listing_does_not_matter():
    archives = names(0, 1, 2, 3, 4)
    shuffled = [archives[i] for i in (3, 0, 4, 2, 1)]
    assert sorted(retention.prunable(shuffled, "ft-backup", NOW, 2, 365)) == sorted(archives[2:])


def test_prunes_by_age():
    archives = names(0, 5, 9.9, 10.1, 40)
    assert retention.prunable(archives, "ft-backup", NOW, 100, 10) == archives[3:]


def test_newest_is_kept_even_when_old():
    archives = names(50, 60)
    assert retention.prunable(archives, "ft-backup", NOW, 5, 10) == archives[1:]


def test_other_prefix_untouched():
    archives = names(0, 1, 2) + names(1, 2, prefix="other")
    assert retention.prunable(archives, "ft-backup", NOW, 1, 365) == archives[1:3]


@pytest.mark.parametrize(("count", "days"), [(0, 1), (1, 0)])
def test_refuses_keeping_nothing(count, days):
    with pytest.raises(ValueError):
        retention.prunable(names(0), "ft-backup", NOW, count, days)
