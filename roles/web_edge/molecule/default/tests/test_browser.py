"""Headless Chromium through nginx: log in on the site and see the bot's status.

Chromium is driven over the DevTools protocol (its websocket) from this machine; the domain
maps to the container's address and only the certificate the site serves now (pinned by
its public key) is accepted, since Pebble's root is not in Chromium's trust store.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from conftest import DOMAIN, PASSWORD, USER
from websockets.sync.client import connect


def spki_pin(box) -> str:
    der = box.check_output(
        f"openssl s_client -connect 127.0.0.1:443 -servername {DOMAIN} < /dev/null 2>/dev/null"
        " | openssl x509 -noout -pubkey | openssl pkey -pubin -outform der | base64 -w0"
    )
    return base64.b64encode(hashlib.sha256(base64.b64decode(der)).digest()).decode()


class Page:
    def __init__(self, ws_url: str) -> None:
        self.ws = connect(ws_url, max_size=None, open_timeout=30)
        self.ids = itertools.count(1)

    def call(self, method: str, **params: object) -> dict:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("id") == msg_id:
                assert "error" not in msg, msg
                return msg["result"]

    def js(self, expr: str) -> object:
        res = self.call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=True)
        return res["result"].get("value")

    def wait_for(self, expr: str, timeout: float = 30) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expr)
            if value:
                return value
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {expr}")


def test_login_shows_bot_status(box, address, artifacts):
    profile = tempfile.mkdtemp(prefix="chromium-edge-")
    proc = subprocess.Popen(
        [
            "chromium",
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            f"--host-resolver-rules=MAP {DOMAIN} {address}",
            f"--ignore-certificate-errors-spki-list={spki_pin(box)}",
            "--window-size=1100,700",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            target = next(t for t in json.load(resp) if t["type"] == "page")
        page = Page(target["webSocketDebuggerUrl"])
        page.call("Page.enable")
        page.call("Page.navigate", url=f"http://{DOMAIN}/")
        # Plain HTTP was redirected to HTTPS; the stand-in UI is there.
        page.wait_for("document.readyState === 'complete' && location.protocol === 'https:'")
        page.wait_for("!!document.getElementById('login')")
        # Without a login the API refuses.
        assert page.js("fetch('api/v1/status').then(r => r.status)") == 401
        page.js(
            f"document.getElementById('username').value = {json.dumps(USER)};"
            f"document.getElementById('password').value = {json.dumps(PASSWORD)};"
            "document.getElementById('submit').click(); true"
        )
        status = page.wait_for(
            "(t => t.startsWith('bot ') && t)(document.getElementById('status').textContent)"
        )
        shot = page.call("Page.captureScreenshot", format="png")
        (artifacts / "frequi-login.png").write_bytes(base64.b64decode(shot["data"]))
        assert status == "bot rossc: running (dry run), futures, open trades: 0"
        page.ws.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
