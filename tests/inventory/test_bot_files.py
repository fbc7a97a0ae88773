"""The freqtrade role's per-bot files, rendered on the control node with the role's
defaults: dry-run and live never share a trade database, and no two bots share an API
password, JWT secret or websocket token."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "tests" / "playbooks" / "render_bot_files.yml"
BOTS = [
    {"name": "trend", "strategy": "FuturesAIRiskStrategy", "api_port": 8101},
    {"name": "meanrev", "strategy": "RossCameronFuturesStrategy", "api_port": 8102},
]


def render(tmp_path: Path, extra: dict[str, Any]) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    doc = {"render_dir": str(out), "freqtrade_bots": BOTS, "freqtrade_strategies_hash": "test"}
    doc.update(extra)
    extra_file = tmp_path / "extra.json"
    extra_file.write_text(json.dumps(doc))
    # Only the control node's templating runs here: Ansible's own strategy, this Python.
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_STRATEGY": "linear",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    }
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), str(PLAYBOOK),
         "-i", "localhost,", "-e", f"@{extra_file}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return out


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v.strip('"') for k, v in pairs if not k.startswith("#")}


@pytest.fixture(scope="module")
def secrets_doc() -> dict[str, Any]:
    return {
        "freqtrade_api_password": secrets.token_urlsafe(24),
        "freqtrade_api_jwt_secret": secrets.token_urlsafe(48),
        "freqtrade_api_ws_token": secrets.token_urlsafe(32),
        "freqtrade_exchange_key": secrets.token_hex(32),
        "freqtrade_exchange_secret": secrets.token_hex(32),
    }


@pytest.mark.parametrize("mode", ["dry_run", "live"])
def test_each_mode_has_its_own_trade_database(tmp_path, secrets_doc, mode):
    out = render(tmp_path, {**secrets_doc, "freqtrade_mode": mode})
    for bot in BOTS:
        config = json.loads((out / f"{bot['name']}.config.json").read_text())
        assert config["dry_run"] is (mode != "live")
        name = "tradesv3.live.sqlite" if mode == "live" else "tradesv3.sqlite"
        assert config["db_url"] == f"sqlite:////var/lib/freqtrade/bots/{bot['name']}/{name}"


def test_bots_do_not_share_api_credentials(tmp_path, secrets_doc):
    own = secrets.token_urlsafe(24)
    out = render(tmp_path, {**secrets_doc, "freqtrade_api_passwords": {"meanrev": own}})
    trend, meanrev = (env_file(out / f"{b['name']}.bot.env") for b in BOTS)
    assert trend["FREQTRADE__API_SERVER__PASSWORD"] == secrets_doc["freqtrade_api_password"]
    assert meanrev["FREQTRADE__API_SERVER__PASSWORD"] == own
    for key in ("FREQTRADE__API_SERVER__JWT_SECRET_KEY", "FREQTRADE__API_SERVER__WS_TOKEN"):
        assert trend[key] != meanrev[key], f"both bots have the same {key}"
        assert len(trend[key]) >= 32 and len(meanrev[key]) >= 32
        # Derived, never the vault's value itself.
        assert secrets_doc["freqtrade_api_jwt_secret"] not in (trend[key], meanrev[key])
        assert secrets_doc["freqtrade_api_ws_token"] not in (trend[key], meanrev[key])
