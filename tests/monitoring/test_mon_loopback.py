"""Nothing of the monitoring listens beyond loopback: defaults, shipped configs, and the
running exporter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml
from mon_paths import MONITORING
from mon_stack import free_port, wait_for
from risk_exporter.config import parse_config


def test_shipped_configs_use_loopback() -> None:
    assert parse_config({"bots": [{"name": "a", "url": "http://x"}]}).listen_address == "127.0.0.1"
    example = yaml.safe_load((MONITORING / "exporter" / "config.example.yml").read_text())
    assert example["listen_address"] == "127.0.0.1"
    prom = yaml.safe_load((MONITORING / "prometheus" / "prometheus.yml").read_text())
    targets = [
        t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]
    ]
    targets += prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets and all(t.startswith("127.0.0.1:") for t in targets)
    for name in ("prometheus", "prometheus-alertmanager", "prometheus-node-exporter"):
        args = (MONITORING / "defaults" / name).read_text()
        assert re.search(r"--web\.listen-address=127\.0\.0\.1:\d+", args), name
    am_args = (MONITORING / "defaults" / "prometheus-alertmanager").read_text()
    assert '--cluster.listen-address="' in am_args  # empty value: no gossip port 9094


def test_running_exporter_binds_loopback_only(tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "c.yml"
    cfg.write_text(f"listen_port: {port}\nbots:\n  - {{name: a, url: 'http://127.0.0.1:9'}}\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "risk_exporter", "--config", str(cfg)],
        env={"PYTHONPATH": str(MONITORING / "exporter")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def listening() -> list[str]:
            out = []
            for table in ("/proc/net/tcp", "/proc/net/tcp6"):
                for line in Path(table).read_text().splitlines()[1:]:
                    local, state = line.split()[1], line.split()[3]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        out.append(local.rsplit(":", 1)[0])
            return out

        addrs = wait_for(listening, 15, "exporter listening")
        assert addrs == ["0100007F"], addrs  # 127.0.0.1, little-endian hex; no :: or 0.0.0.0
    finally:
        proc.terminate()
        proc.wait(10)
