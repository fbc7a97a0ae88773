"""The web login in front of the risk exporter's /metrics (risk_exporter.webauth), the
exporter process serving behind it, and ft-status sending it to Prometheus and Alertmanager.
The whole stack behind the login (Prometheus scraping and alerting with it) is in
test_mon_e2e_alerting.py; the deployed services in the role's Molecule scenario."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mon_paths import MONITORING
from mon_stack import free_port, wait_for
from risk_exporter import status
from risk_exporter.config import ConfigError, parse_config
from risk_exporter.webauth import basic_auth, credentials_match, serve

USER, PASSWORD = "monitoring", "s3cret:with-colon"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        basic(USER, "wrong"),
        basic("other", PASSWORD),
        basic(USER, PASSWORD + "x"),
        basic(USER, PASSWORD[:-1]),
        basic(USER.upper(), PASSWORD),
        basic(USER, ""),
        "Basic " + base64.b64encode(f"{USER}{PASSWORD}".encode()).decode(),  # no colon
        "Basic !!not-base64!!",
        "Basic " + base64.b64encode(b"monitoring:\xff").decode(),  # not UTF-8
        "Bearer " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
        basic(USER, PASSWORD).replace("Basic ", ""),  # no scheme
    ],
)
def test_anything_but_the_login_is_refused(header: str | None) -> None:
    assert credentials_match(header, USER, PASSWORD) is False


def test_the_login_is_accepted_whatever_the_scheme_case() -> None:
    # The password may hold a colon: only the first one separates the user (RFC 7617).
    assert credentials_match(basic(USER, PASSWORD), USER, PASSWORD) is True
    assert credentials_match(basic(USER, PASSWORD).replace("Basic", "basic"), USER, PASSWORD)


def _call(app: Any, header: str | None) -> tuple[str, dict[str, str], bytes]:
    """One WSGI request: status line, headers, body."""
    answer: dict[str, Any] = {}

    def start_response(status_line: str, headers: list[tuple[str, str]]) -> None:
        answer.update(status=status_line, headers=dict(headers))

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics"}
    if header is not None:
        environ["HTTP_AUTHORIZATION"] = header
    body = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], body


ran: list[bool] = []  # one entry per request the guarded app served


def _inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    ran.append(True)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"risk_bot_up 1.0\n"]


def test_wrapper_answers_401_with_a_challenge_and_never_runs_the_app() -> None:
    ran.clear()
    app = basic_auth(_inner, USER, PASSWORD)
    for header in (None, basic(USER, "wrong")):
        status_line, headers, body = _call(app, header)
        assert status_line == "401 Unauthorized"
        assert headers["WWW-Authenticate"] == 'Basic realm="risk-exporter", charset="UTF-8"'
        assert b"risk_bot_up" not in body
    assert ran == []
    status_line, _, body = _call(app, basic(USER, PASSWORD))
    assert status_line == "200 OK" and body == b"risk_bot_up 1.0\n"
    assert ran == [True]


def test_wrapper_refuses_an_empty_login() -> None:
    with pytest.raises(ValueError):
        basic_auth(_inner, USER, "")
    with pytest.raises(ValueError):
        basic_auth(_inner, "", PASSWORD)


def test_config_web_auth(tmp_path: Path) -> None:
    bots = [{"name": "a", "url": "http://127.0.0.1:9"}]
    assert parse_config({"bots": bots}).web_auth is None
    pw = tmp_path / "web.password"
    pw.write_text(PASSWORD + "\n")
    cfg = parse_config({"bots": bots, "web_auth": {"username": USER, "password_file": str(pw)}})
    assert cfg.web_auth is not None
    assert (cfg.web_auth.username, cfg.web_auth.password()) == (USER, PASSWORD)
    for bad in ({"username": USER}, {"password_file": str(pw)}, "monitoring"):
        with pytest.raises(ConfigError, match="web_auth"):
            parse_config({"bots": bots, "web_auth": bad})
    pw.write_text("\n")
    with pytest.raises(ConfigError, match="empty"):
        cfg.web_auth.password()
    pw.unlink()
    with pytest.raises(ConfigError, match=r"web_auth\.password_file"):
        cfg.web_auth.password()


def get(url: str, header: str | None = None) -> tuple[int, dict[str, str], str]:
    req = urllib.request.Request(url)
    if header is not None:
        req.add_header("Authorization", header)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


@pytest.fixture
def exporter(tmp_path: Path) -> Iterator[str]:
    """The exporter process (python -m risk_exporter) with a web login; its base URL."""
    port = free_port()
    pw = tmp_path / "web.password"
    pw.write_text(PASSWORD + "\n")
    cfg = {
        "listen_port": port,
        "bots": [{"name": "a", "url": "http://127.0.0.1:9"}],
        "web_auth": {"username": USER, "password_file": str(pw)},
    }
    (tmp_path / "c.yml").write_text(json.dumps(cfg))
    proc = subprocess.Popen(
        [sys.executable, "-m", "risk_exporter", "--config", str(tmp_path / "c.yml")],
        env={"PYTHONPATH": str(MONITORING / "exporter")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: get(f"{url}/metrics")[0], 15, "exporter listening")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_running_exporter_serves_metrics_only_with_the_login(exporter: str) -> None:
    for header in (None, basic(USER, "wrong"), basic("admin", PASSWORD)):
        code, headers, body = get(f"{exporter}/metrics", header)
        assert code == 401, header
        assert headers["WWW-Authenticate"].startswith('Basic realm="risk-exporter"')
        assert "risk_bot_up" not in body
    code, _, body = get(f"{exporter}/metrics", basic(USER, PASSWORD))
    assert code == 200
    assert 'risk_bot_up{bot="a"}' in body


def test_exporter_refuses_to_start_without_its_password(tmp_path: Path) -> None:
    cfg = {
        "listen_port": free_port(),
        "bots": [{"name": "a", "url": "http://127.0.0.1:9"}],
        "web_auth": {"username": USER, "password_file": str(tmp_path / "missing")},
    }
    (tmp_path / "c.yml").write_text(json.dumps(cfg))
    run = subprocess.run(
        [sys.executable, "-m", "risk_exporter", "--config", str(tmp_path / "c.yml")],
        env={"PYTHONPATH": str(MONITORING / "exporter")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode != 0
    assert "web_auth.password_file" in run.stderr


# ft-status against stand-ins for Prometheus's and Alertmanager's APIs behind the login.
PROMETHEUS_ANSWER = {
    "status": "success",
    "data": {
        "resultType": "vector",
        "result": [{"metric": {"bot": "a"}, "value": [1, "0.04"]}],
    },
}
ALERTMANAGER_ANSWER = [
    {
        "labels": {"alertname": "BotDown", "severity": "critical", "bot": "a"},
        "annotations": {"summary": "down"},
        "status": {"state": "active"},
    }
]


@pytest.fixture
def monitor_apis() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    def api(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["PATH_INFO"] + "?" + environ.get("QUERY_STRING", ""))
        doc = PROMETHEUS_ANSWER if environ["PATH_INFO"] == "/api/v1/query" else ALERTMANAGER_ANSWER
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(doc).encode()]

    httpd, _ = serve(basic_auth(api, USER, PASSWORD), "127.0.0.1", free_port())
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_status_sends_the_login_to_prometheus_and_alertmanager(
    monitor_apis: tuple[str, list[str]],
) -> None:
    url, seen = monitor_apis
    gov = status.governor(url, (USER, PASSWORD))
    assert gov["drawdown"] == {"a": 0.04}
    assert "/api/v1/query?query=risk_bot_governor_drawdown_ratio" in seen
    assert status.alerts(url, (USER, PASSWORD)) == [
        status.Alert("BotDown", "critical", "a", "down")
    ]
    assert "/api/v2/alerts?active=true&silenced=false&inhibited=false" in seen
    # Without it, or with a wrong one: unknown, not an exception.
    seen.clear()
    assert status.governor(url, None)["drawdown"] == {}
    assert status.alerts(url, (USER, "wrong")) is None
    assert seen == []


def test_status_reads_the_login_from_the_exporter_config(tmp_path: Path) -> None:
    pw = tmp_path / "web.password"
    pw.write_text(PASSWORD + "\n")
    cfg = parse_config(
        {
            "bots": [{"name": "a", "url": "http://127.0.0.1:9"}],
            "web_auth": {"username": USER, "password_file": str(pw)},
        }
    )
    assert status.web_login(cfg.web_auth) == (USER, PASSWORD)
    assert status.web_login(None) is None
    pw.unlink()  # not readable (not root): no login, the monitor's figures show as unknown
    assert status.web_login(cfg.web_auth) is None
