"""The web edge in front of the real bots: nginx on 80/443, each bot under its own path."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[4]
REHEARSAL = yaml.safe_load((REPO / "inventories/rehearsal/group_vars/all/main.yml").read_text())
BOTS = [bot["name"] for bot in REHEARSAL["freqtrade_bots"]]


def curl(host, args: str) -> str:
    return host.check_output(f"curl -sk --max-time 10 {args}")


def test_nginx_config_is_valid(host):
    assert host.run("nginx -t").rc == 0


def test_every_bot_answers_under_its_path(host):
    for bot in BOTS:
        assert '"pong"' in curl(host, f"https://127.0.0.1/{bot}/api/v1/ping"), bot


def test_api_refuses_unauthenticated_requests(host):
    for bot in BOTS:
        code = curl(host, f"-o /dev/null -w '%{{http_code}}' https://127.0.0.1/{bot}/api/v1/status")
        assert code == "401", bot


def test_http_redirects_to_https(host):
    head = curl(host, "-o /dev/null -w '%{http_code} %{redirect_url}' http://127.0.0.1/rossc/")
    code, target = head.split(" ", 1)
    assert code == "301"
    assert target.startswith("https://")


def test_fallback_page_served_without_frequi(host):
    # No FreqUI release can be fetched here: the role serves freqtrade's fallback page.
    assert "Freqtrade UI not installed" in curl(host, "https://127.0.0.1/")
