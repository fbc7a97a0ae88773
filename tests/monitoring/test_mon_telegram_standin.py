"""The Telegram Bot API stand-in answers like Telegram, so tests that pass against it
exercise the same success and refusal paths as the real API."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from telegram_standin import TelegramStandIn, html_error, render_html

TOKEN = "123456:TEST-token"


def call(url: str, body: dict[str, Any] | None = None, form: bool = False) -> tuple[int, Any]:
    data, headers = None, {}
    if body is not None:
        if form:
            data = "&".join(f"{k}={v}" for k, v in body.items()).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_send_message_records_and_answers_like_telegram() -> None:
    with TelegramStandIn(TOKEN, {42}) as tg:
        status, body = call(
            f"{tg.url}/bot{TOKEN}/sendMessage",
            {"chat_id": "42", "text": "<b>⚠️ Margin</b> ratio", "parse_mode": "HTML"},
        )
        assert status == 200 and body["ok"] is True
        msg = body["result"]
        assert msg["message_id"] == 1 and msg["chat"]["id"] == 42 and msg["from"]["is_bot"]
        assert isinstance(msg["date"], int)
        status, body = call(
            f"{tg.url}/bot{TOKEN}/sendMessage", {"chat_id": 42, "text": "x"}, form=True
        )
        assert status == 200 and body["result"]["message_id"] == 2
        # Telegram answers with the visible text; markup becomes entities (UTF-16 offsets).
        assert [m["message"]["text"] for m in tg.messages] == ["⚠️ Margin ratio", "x"]
        assert msg["entities"] == [{"offset": 0, "length": 9, "type": "bold"}]
        assert tg.messages[0]["sent_text"] == "<b>⚠️ Margin</b> ratio"
        status, listed = call(f"{tg.url}/_messages")
        assert status == 200 and len(listed) == 2


def test_refusals_match_telegram() -> None:
    with TelegramStandIn(TOKEN, {42}) as tg:
        base = f"{tg.url}/bot{TOKEN}"
        assert call(f"{tg.url}/botWRONG/sendMessage", {"chat_id": 42, "text": "x"}) == (
            401,
            {"ok": False, "error_code": 401, "description": "Unauthorized"},
        )
        status, body = call(f"{base}/sendMessage", {"chat_id": 7, "text": "x"})
        assert (status, body["description"]) == (400, "Bad Request: chat not found")
        status, body = call(f"{base}/sendMessage", {"chat_id": 42, "text": ""})
        assert body["description"] == "Bad Request: message text is empty"
        status, body = call(f"{base}/sendMessage", {"chat_id": 42, "text": "x" * 4097})
        assert body["description"] == "Bad Request: message is too long"
        status, body = call(
            f"{base}/sendMessage", {"chat_id": 42, "text": "PnL < 0 & rising", "parse_mode": "HTML"}
        )
        assert status == 400 and "can't parse entities" in body["description"]
        assert tg.messages == []
        assert call(f"{base}/getMe")[1]["result"]["is_bot"] is True
        assert call(f"{base}/getUpdates") == (200, {"ok": True, "result": []})


def test_html_rendering() -> None:
    text, entities, err = render_html("<b>Funding &#43;0.06%</b> &lt;fine&gt; &amp; 💰<i>x</i>")
    assert (text, err) == ("Funding +0.06% <fine> & 💰x", None)
    assert entities == [
        {"offset": 0, "length": 14, "type": "bold"},
        {"offset": 26, "length": 1, "type": "italic"},  # 💰 counts as 2
    ]
    assert render_html("<b>open")[2] is not None


def test_html_check() -> None:
    assert html_error("<b>ok</b> &amp; &lt;fine&gt;") is None
    assert html_error("<div>x</div>") == 'Unsupported start tag "div"'
    assert html_error("a & b") is not None


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_https_with_a_self_signed_certificate(tmp_path: Path) -> None:
    """Senders that insist on https (Telegram's real scheme) can use the stand-in too."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    ctx = ssl.create_default_context(cafile=str(cert))
    with TelegramStandIn(TOKEN, {42}, tls=(str(cert), str(key))) as tg:
        assert tg.url.startswith("https://127.0.0.1:")
        req = urllib.request.Request(
            f"{tg.url}/bot{TOKEN}/sendMessage",
            json.dumps({"chat_id": 42, "text": "tls"}).encode(),
            {"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5, context=ctx) as resp:
            assert json.load(resp)["result"]["text"] == "tls"
    assert [m["message"]["text"] for m in tg.messages] == ["tls"]
