"""The Grafana dashboard queries only metrics that exist, and matches its generator."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from fake_freqtrade import FakeFreqtrade
from mon_paths import MONITORING
from prometheus_client import CollectorRegistry, generate_latest
from risk_exporter.client import make_client
from risk_exporter.closed import LEVERAGE_BOUNDS, leverage_label
from risk_exporter.collector import RiskCollector
from risk_exporter.config import parse_config
from risk_exporter.poller import BotState, FundingRates, poll_once
from risk_exporter.state import PeakStore

DASHBOARD = MONITORING / "grafana" / "dashboard.json"
NODE_AND_BACKUP = {
    "node_filesystem_avail_bytes",
    "node_filesystem_size_bytes",
    "backup_last_success_timestamp_seconds",
}
PROMQL_WORDS = {"time", "max", "increase", "sum", "rate", "by", "on"}


def exporter_metric_names(tmp_path: Path) -> set[str]:
    pw = tmp_path / "pw"
    pw.write_text("monitor-pw")
    with FakeFreqtrade() as fake:
        cfg = parse_config(
            {
                "bots": [
                    {"name": "a", "url": fake.url, "username": "monitor", "password_file": str(pw)}
                ]
            }
        )
        st = BotState(bot=cfg.bots[0], started_at=0)
        assert poll_once(st, make_client(cfg.bots[0], 2), cfg, PeakStore(None), 1.0, lambda: 0.0)
    funding = FundingRates()
    funding.rates = {"BTCUSDT": (0.0001, 2e9)}
    reg = CollectorRegistry()
    reg.register(RiskCollector(cfg, [st], funding))
    text = generate_latest(reg).decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}


def test_dashboard_queries_existing_metrics(tmp_path: Path) -> None:
    known = exporter_metric_names(tmp_path) | NODE_AND_BACKUP
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 20
    for expr in exprs:
        stripped = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", "", expr)
        names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", stripped)) - PROMQL_WORDS
        assert names, expr
        assert names <= known, (expr, names - known)


def test_dashboard_is_generated(tmp_path: Path) -> None:
    before = DASHBOARD.read_text()
    subprocess.run(
        [sys.executable, str(MONITORING / "grafana" / "build_dashboard.py")],
        check=True,
        capture_output=True,
    )
    assert DASHBOARD.read_text() == before, "dashboard.json differs from build_dashboard.py"
    dash = json.loads(before)
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    assert dash["templating"]["list"][0]["name"] == "bot"


def test_leverage_panel_has_one_bar_per_exporter_bucket() -> None:
    """The generator lists the buckets itself (it imports nothing from the exporter): they
    must be the exporter's, in its order."""
    dash = json.loads(DASHBOARD.read_text())
    panel = next(p for p in dash["panels"] if p["title"].startswith("Realised PnL by leverage"))
    assert panel["type"] == "barchart"
    labels = [leverage_label(b) for b in LEVERAGE_BOUNDS]
    assert [t["legendFormat"] for t in panel["targets"]] == labels
    for t, label in zip(panel["targets"], labels, strict=True):
        assert "risk_bot_closed_profit_by_leverage_usdt" in t["expr"]
        assert f'leverage="{label}"' in t["expr"]
