"""The risk dashboard at https://<site>/risk/ (monitoring role's page, web edge's route):
Prometheus's read API behind the login of the bot at / only, and the page in Debian's
chromium showing what the design asks for: positions, funding-fee history, returns by
leverage, margin use, drawdown against the limit. Screenshots: artifacts/risk-dashboard/.
Debian 12 instance only (the two instances serve the same files)."""

import json
import os
import re
import shlex
import time
import urllib.parse

import pytest
from conftest import REPO, api_password, bot_api, forced_position, monitor_get, wait_for
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

INSTANCE = f"{os.environ.get('MOLECULE_INSTANCE', 'molecule')}-bookworm"
testinfra_hosts = [f"ansible://{INSTANCE}"]

SHOTS = REPO / "artifacts" / "risk-dashboard"
DEFAULT_BOT, DEFAULT_PORT = "rossc", 8101  # the first bot: the one served at /
OTHER_BOT, OTHER_PORT = "airisk", 8102
CLOSED = ("BNB/USDT:USDT", "long")  # closed first: the returns-by-leverage figures have one
OPEN = ("SOL/USDT:USDT", "short")
BOUNDS = (1, 2, 3, 5, 10, 20, 50, 125)  # the exporter's leverage buckets
QUERY = "/risk/api/v1/query?query=" + urllib.parse.quote("risk_bot_up")


def edge(host, path, *curl_args: str) -> tuple[int, str]:
    """HTTP status and body of an HTTPS request to nginx on the box (self-signed: -k)."""
    out = host.check_output(
        "curl -sk --max-time 20 -w '\\n%{http_code}' "
        + " ".join(curl_args)
        + " "
        + shlex.quote("https://127.0.0.1" + path)
    )
    body, _, status = out.rpartition("\n")
    return int(status), body


def bearer(token: str) -> str:
    return "-H " + shlex.quote(f"Authorization: Bearer {token}")


def token(host, bot: str, port: int) -> str:
    return bot_api(host, port, "token/login", {}, bot=bot)["access_token"]


def test_queries_need_a_token_of_the_bot_at_root(host):
    status, _ = edge(host, QUERY)
    assert status == 401
    status, _ = edge(host, QUERY, bearer(token(host, OTHER_BOT, OTHER_PORT)))
    assert status == 401, "another bot's token opened the dashboard's data"
    default = bearer(token(host, DEFAULT_BOT, DEFAULT_PORT))
    status, body = edge(host, QUERY, default)
    assert status == 200, body
    answer = json.loads(body)
    assert answer["status"] == "success"
    assert {s["metric"]["bot"] for s in answer["data"]["result"]} == {DEFAULT_BOT, OTHER_BOT}
    # Read-only: no other Prometheus route, no other method.
    for path in ("/risk/api/v1/status/config", "/risk/api/v1/admin/tsdb/snapshot"):
        assert edge(host, path, default)[0] == 404, path
    assert edge(host, QUERY, default, "-X POST")[0] == 403


def test_page_and_chart_library_come_from_the_box(host):
    status, page = edge(host, "/risk/")
    assert status == 200 and "<title>Risk dashboard" in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(not re.match(r"[a-z]+:|//", a) for a in assets), assets
    # Debian's Chart.js, byte for byte.
    sums = host.check_output(
        "curl -sk --max-time 20 https://127.0.0.1/risk/lib/chart.min.js | sha256sum;"
        " sha256sum < /usr/share/javascript/chart.js/chart.min.js"
    ).split("\n")
    assert sums[0] == sums[1]
    auth = host.file("/etc/nginx/freqtrade-edge-prometheus-auth.conf")
    with host.sudo():
        assert (auth.user, auth.group, auth.mode) == ("root", "root", 0o600)
        assert "Basic " in auth.content_string


def bucket(leverage: float) -> str:
    return f"{next(b for b in BOUNDS if leverage <= b)}x"


def closed_by_bucket(host) -> dict[str, tuple[int, float]]:
    """The default bot's closed trades per leverage bucket, from its own API: how many, and
    their mean profit ratio."""
    ratios: dict[str, list[float]] = {}
    trades = bot_api(host, DEFAULT_PORT, "trades?limit=500", bot=DEFAULT_BOT)["trades"]
    for t in trades:
        if not t["is_open"]:
            ratios.setdefault(bucket(float(t["leverage"] or 1.0)), []).append(t["profit_ratio"])
    return {k: (len(v), sum(v) / len(v)) for k, v in ratios.items()}


def prometheus_value(host, query: str) -> list:
    url = "http://127.0.0.1:9090/api/v1/query?query=" + urllib.parse.quote(query)
    return json.loads(monitor_get(host, url))["data"]["result"]


def table_rows(browser, css: str, until=lambda rows: rows) -> list[list[str]]:
    """The cells of a table's rows, read in one go inside a wait: the dashboard redraws its
    tables every 30 s, so a row read across a redraw goes stale and is read again."""
    seen: list[list[str]] = []

    def read(d):
        seen[:] = [
            [td.text for td in r.find_elements(By.TAG_NAME, "td")]
            for r in d.find_elements(By.CSS_SELECTOR, f"{css} tbody tr")
        ]
        return until(seen)

    try:
        WebDriverWait(browser, 30, ignored_exceptions=[StaleElementReferenceException]).until(read)
    except TimeoutException:
        pytest.fail(f"{css}: not the rows expected, last read: {seen}")
    return [list(row) for row in seen]


def test_dashboard_in_chromium(host, address, browser):
    with forced_position(host, DEFAULT_PORT, DEFAULT_BOT, *CLOSED):
        pass
    expected = closed_by_bucket(host)
    with forced_position(host, DEFAULT_PORT, DEFAULT_BOT, *OPEN) as trade:
        # The exporter polls every 15 s and Prometheus scrapes it every 15 s.
        wait_for(
            "the open position and the closed trade in Prometheus",
            lambda: (
                prometheus_value(
                    host, f'risk_position_leverage{{bot="{DEFAULT_BOT}",pair="{OPEN[0]}"}}'
                )
                and sum(
                    float(s["value"][1])
                    for s in prometheus_value(
                        host, f'risk_bot_closed_trades_by_leverage{{bot="{DEFAULT_BOT}"}}'
                    )
                )
                == sum(n for n, _ in expected.values())
            ),
            seconds=90,
        )
        site = f"https://{address}"
        wait = WebDriverWait(browser, 60)
        browser.get(f"{site}/risk")
        wait.until(lambda d: d.find_element(By.ID, "username").is_displayed())
        browser.find_element(By.ID, "username").send_keys("trader")
        browser.find_element(By.ID, "password").send_keys(api_password(host, DEFAULT_BOT))
        browser.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-drawn"))
        assert browser.find_element(By.ID, "error").text == ""
        assert not browser.find_element(By.ID, "login").is_displayed()
        assert browser.find_element(By.ID, "dashboard").is_displayed()

        rows = {cells[0]: cells for cells in table_rows(browser, "#bots")}
        assert set(rows) == {DEFAULT_BOT, OTHER_BOT}
        for cells in rows.values():
            assert cells[1] == "up", cells
            assert cells[3] == "15.0 %", cells  # the governor's limit (inventory: 0.15)

        # This bot's row: the other bot's strategy may hold the same pair on its own.
        def ours(rows: list[list[str]]) -> bool:
            return any(row[:2] == [DEFAULT_BOT, OPEN[0]] for row in rows)

        rows_now = table_rows(browser, "#positions", until=ours)
        position = next(row for row in rows_now if row[:2] == [DEFAULT_BOT, OPEN[0]])
        _, _, side, leverage, _, _, liquidation = position[:7]
        assert side == OPEN[1]
        assert leverage == f"{trade['leverage']:g}x"
        assert float(liquidation) == pytest.approx(trade["liquidation_price"], rel=1e-5)
        assert float(liquidation) > trade["open_rate"], "a short is liquidated above its entry"

        def chart(name):
            return browser.execute_script(
                "const c = Chart.getChart(arguments[0]);"
                " return c.data.datasets.map(d => ({label: d.label,"
                " n: d.data.length, last: d.data.length ? d.data[d.data.length - 1] : null}));",
                name,
            )

        drawdown = {d["label"]: d for d in chart("chart-drawdown")}
        for b in (DEFAULT_BOT, OTHER_BOT):
            assert drawdown[f"{b} drawdown"]["n"] > 0
            assert drawdown[f"{b} limit"]["last"]["y"] == pytest.approx(0.15)
        margin = {d["label"] for d in chart("chart-margin") if d["n"] > 0}
        assert f"{DEFAULT_BOT} margin / equity" in margin
        funding = {d["label"] for d in chart("chart-funding") if d["n"] > 0}
        assert funding == {DEFAULT_BOT, OTHER_BOT}

        # Returns by leverage: the table's trades and mean returns are the bot's own.
        shown = {}
        for cells in table_rows(browser, "#leverage"):
            if cells[1] == DEFAULT_BOT:
                shown[cells[0].removeprefix("≤ ")] = (int(cells[2]), cells[4])
        assert set(shown) == set(expected)
        for key, (count, mean) in expected.items():
            assert shown[key][0] == count
            assert float(shown[key][1].rstrip(" %")) == pytest.approx(100 * mean, abs=0.051)
        bars = browser.execute_script(
            "const c = Chart.getChart('chart-leverage'); return {labels: c.data.labels,"
            " bots: Object.fromEntries(c.data.datasets.map(d => [d.label, d.data]))};"
        )
        for key, (_, mean) in expected.items():
            bar = bars["bots"][DEFAULT_BOT][bars["labels"].index("≤ " + key)]
            assert bar == pytest.approx(mean, rel=1e-6)

        # The last hour at Prometheus's 15 s resolution: the test server is minutes old.
        drawn = browser.find_element(By.TAG_NAME, "body").get_attribute("data-drawn")
        Select(browser.find_element(By.ID, "range")).select_by_value("3600")
        wait.until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-drawn") != drawn
        )
        assert max(d["n"] for d in chart("chart-drawdown")) > 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        height = browser.execute_script("return document.body.scrollHeight")
        browser.set_window_size(1600, max(1000, height + 40))
        time.sleep(1)  # the charts resize to the new window
        browser.save_screenshot(str(SHOTS / "dashboard.png"))
