"""The web edge in front of the real bots: nginx on 80/443, each bot under its own path."""

import re
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
    # The rehearsal's settings: clients reach nginx's 443 on port 8443, and the redirect
    # keeps that port (it used to send the browser to 443, where nothing listens).
    assert target == "https://127.0.0.1:8443/rossc/"


def test_frequi_served_from_the_checked_archive(host):
    # The rehearsal's FreqUI 3.1.1 archive (../shared/frequi), unpacked after its sha256
    # matched, into the running release's UI folder.
    page = curl(host, "https://127.0.0.1/")
    assert "<title>FreqUI</title>" in page, page[:500]
    script = re.search(r'src="/(assets/index-[^"]+[.]js)"', page)
    assert script, page[:500]
    # The application bundle itself is served (nginx and freqtrade pass /assets/ through).
    assert "/api/v1" in curl(host, f"https://127.0.0.1/{script.group(1)}")
    ui = host.check_output(
        "/opt/freqtrade/current/bin/python -c 'import freqtrade, pathlib; "
        'print(pathlib.Path(freqtrade.__file__).parent / "rpc/api_server/ui/installed")\''
    )
    assert host.file(f"{ui}/.uiversion").content_string.strip() == "3.1.1"
