"""promtool / amtool checks, run from pytest (Debian packages prometheus and
prometheus-alertmanager provide the binaries)."""

from __future__ import annotations

import re
import subprocess

import yaml
from mon_paths import MONITORING, need_binary

PROM = MONITORING / "prometheus"
AM = MONITORING / "alertmanager"


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)


def test_promtool_check_config_and_rules() -> None:
    promtool = need_binary("promtool")
    res = run(promtool, "check", "config", str(PROM / "prometheus.yml"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 rule files found" in res.stdout


def test_promtool_unit_tests_cover_every_rule() -> None:
    promtool = need_binary("promtool")
    tests = sorted((PROM / "tests").glob("*_test.yml"))
    res = run(promtool, "test", "rules", *map(str, tests))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("SUCCESS") == len(tests)
    # Every alert must appear in some test, both firing (exp_alerts non-empty) and silent.
    alerts = set()
    for rules in (PROM / "rules").glob("*.yml"):
        for group in yaml.safe_load(rules.read_text())["groups"]:
            alerts |= {r["alert"] for r in group["rules"] if "alert" in r}
    firing, silent = set(), set()
    for t in tests:
        for case in yaml.safe_load(t.read_text())["tests"]:
            for a in case.get("alert_rule_test", []):
                (firing if a.get("exp_alerts") else silent).add(a["alertname"])
    assert alerts, "no alert rules found"
    assert alerts - firing == set(), "alerts never tested firing"
    assert alerts - silent == set(), "alerts never tested silent"


def test_amtool_check_config() -> None:
    amtool = need_binary("amtool")
    res = run(amtool, "check-config", str(AM / "alertmanager.yml"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r"1 templates\s+SUCCESS", res.stdout), res.stdout


def test_alertmanager_routing() -> None:
    amtool = need_binary("amtool")
    cfg = f"--config.file={AM / 'alertmanager.yml'}"
    for labels, receiver in (
        (["severity=critical", "alertname=LiquidationApproaching"], "telegram"),
        (["severity=warning", "alertname=DiskSpaceLow"], "telegram"),
        (["severity=info", "alertname=FundingRateAgainstPosition"], "telegram-silent"),
    ):
        res = run(amtool, "config", "routes", "test", cfg, *labels)
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == receiver, (labels, res.stdout)


def test_inhibition_targets_are_real_alerts() -> None:
    """A typo in an inhibit rule silently inhibits nothing: every name must exist."""
    alerts = set()
    for rules in (PROM / "rules").glob("*.yml"):
        for group in yaml.safe_load(rules.read_text())["groups"]:
            alerts |= {r["alert"] for r in group["rules"] if "alert" in r}
    am = yaml.safe_load((AM / "alertmanager.yml").read_text())
    for rule in am["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            m = re.fullmatch(r'alertname=~?"([^"]+)"', matcher)
            assert m, matcher
            for name in m.group(1).split("|"):
                assert name in alerts, name
