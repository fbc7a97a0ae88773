"""Start the real monitoring stack on loopback in temporary directories: the risk exporter
(python -m risk_exporter), Prometheus and Alertmanager (Debian binaries), wired to a
Telegram stand-in, each behind the web login as the role deploys them (Prometheus scrapes
and alerts with it). Used by the end-to-end tests."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from mon_paths import MONITORING, REPO, need_binary

PY = sys.executable

# The stack's web login. The bcrypt hash (cost 10) is of WEB_PASSWORD, made once with
# crypt(3); Prometheus and Alertmanager check it, the exporter compares the password itself.
WEB_USER = "monitoring"
WEB_PASSWORD = "monitoring-e2e-pw"
WEB_HASH = "$2b$10$e2eTestSaltForMonStac.aZHoX6LmyFGtwy5DmrHhyoIEknV.Wem"
Login = tuple[str, str] | None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # the service is still starting
            last_exc = exc
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last_exc})")


def _request(url: str, login: Login) -> urllib.request.Request:
    req = urllib.request.Request(url)
    if login is not None:
        token = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    return req


def http_json(url: str, login: Login = None) -> Any:
    with urllib.request.urlopen(_request(url, login), timeout=5) as resp:
        return json.load(resp)


def http_text(url: str, login: Login = None) -> str:
    with urllib.request.urlopen(_request(url, login), timeout=5) as resp:
        return resp.read().decode()


@contextmanager
def process(
    cmd: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fast_rules(dst: Path) -> None:
    """The project's rules with `for:` dropped so a test need not wait minutes; the promtool
    unit tests cover the `for:` durations."""
    dst.mkdir(parents=True, exist_ok=True)
    for src in (MONITORING / "prometheus" / "rules").glob("*.yml"):
        doc = yaml.safe_load(src.read_text())
        for group in doc["groups"]:
            group["interval"] = "1s"
            for rule in group["rules"]:
                rule.pop("for", None)
        (dst / src.name).write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


@dataclass
class Stack:
    exporter_url: str
    prometheus_url: str
    alertmanager_url: str
    login: Login = (WEB_USER, WEB_PASSWORD)

    def get_json(self, url: str) -> Any:
        return http_json(url, self.login)

    def metrics(self) -> str:
        return http_text(f"{self.exporter_url}/metrics", self.login)

    def firing(self) -> list[dict[str, Any]]:
        return self.get_json(f"{self.prometheus_url}/api/v1/alerts")["data"]["alerts"]


@contextmanager
def monitoring_stack(
    tmp: Path, exporter_cfg: dict[str, Any], telegram_url: str, token: str, chat: int
) -> Iterator[Stack]:
    prometheus = need_binary("prometheus")
    alertmanager = need_binary("prometheus-alertmanager")
    exp_port, prom_port, am_port = free_port(), free_port(), free_port()

    tmp.mkdir(parents=True, exist_ok=True)
    password_file = tmp / "web.password"
    password_file.write_text(WEB_PASSWORD + "\n")
    web_config = tmp / "web.yml"
    web_config.write_text(yaml.safe_dump({"basic_auth_users": {WEB_USER: WEB_HASH}}))
    web_auth = {"username": WEB_USER, "password_file": str(password_file)}
    cfg_path = tmp / "exporter.yml"
    cfg = {
        **exporter_cfg,
        "listen_address": "127.0.0.1",
        "listen_port": exp_port,
        "web_auth": web_auth,
    }
    cfg_path.write_text(yaml.safe_dump(cfg))

    prom_dir = tmp / "prometheus"
    fast_rules(prom_dir / "rules")
    prom_cfg = yaml.safe_load((MONITORING / "prometheus" / "prometheus.yml").read_text())
    prom_cfg["global"].update(scrape_interval="1s", evaluation_interval="1s")
    for client in [*prom_cfg["alerting"]["alertmanagers"], *prom_cfg["scrape_configs"]]:
        client["basic_auth"] = {**client["basic_auth"], "password_file": str(password_file)}
    prom_cfg["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [
        f"127.0.0.1:{am_port}"
    ]
    for job in prom_cfg["scrape_configs"]:
        job["scrape_interval"] = "1s"
        if job["job_name"] == "risk-exporter":
            job["static_configs"][0]["targets"] = [f"127.0.0.1:{exp_port}"]
    (prom_dir / "prometheus.yml").write_text(yaml.safe_dump(prom_cfg))

    am_dir = tmp / "alertmanager"
    am_dir.mkdir()
    am_cfg = yaml.safe_load((MONITORING / "alertmanager" / "alertmanager.yml").read_text())
    for route in [am_cfg["route"], *am_cfg["route"]["routes"]]:
        route.update(group_wait="1s", group_interval="2s")
    for rcv in am_cfg["receivers"]:
        for tc in rcv["telegram_configs"]:
            tc.update(api_url=telegram_url, bot_token=token, chat_id=chat)
    (am_dir / "alertmanager.yml").write_text(yaml.safe_dump(am_cfg, allow_unicode=True))
    os.symlink(
        MONITORING / "alertmanager" / "alertmanager_templates", am_dir / "alertmanager_templates"
    )

    env = {**os.environ, "PYTHONPATH": str(MONITORING / "exporter")}
    with ExitStack() as stack:
        stack.enter_context(
            process(
                [PY, "-m", "risk_exporter", "--config", str(cfg_path)], tmp / "exporter.log", env
            )
        )
        stack.enter_context(
            process(
                [
                    alertmanager,
                    f"--config.file={am_dir / 'alertmanager.yml'}",
                    f"--storage.path={am_dir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    f"--web.config.file={web_config}",
                    "--cluster.listen-address=",
                ],
                tmp / "alertmanager.log",
            )
        )
        stack.enter_context(
            process(
                [
                    prometheus,
                    f"--config.file={prom_dir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={prom_dir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                    f"--web.config.file={web_config}",
                ],
                tmp / "prometheus.log",
            )
        )
        st = Stack(
            exporter_url=f"http://127.0.0.1:{exp_port}",
            prometheus_url=f"http://127.0.0.1:{prom_port}",
            alertmanager_url=f"http://127.0.0.1:{am_port}",
        )
        wait_for(lambda: "risk_bot_up" in st.metrics(), 20, "exporter")
        wait_for(lambda: http_text(f"{st.prometheus_url}/-/ready", st.login), 30, "prometheus")
        wait_for(lambda: http_text(f"{st.alertmanager_url}/-/ready", st.login), 30, "alertmanager")
        yield st


REPO_ROOT = REPO
