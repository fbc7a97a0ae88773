"""`ft-status`: what an operator checks first, per bot, on the server itself.

Whether each bot's unit runs, its mode and strategy, its open positions (side, leverage,
distance to liquidation, profit, funding), today's realised P&L, the governor's drawdown
against its limit, and the alerts firing now. The bots are asked through freqtrade-client
with the exporter's own configuration (the bots' URLs and the monitor's login); the
governor's figures from Prometheus's query API, the alerts from Alertmanager's, both with the
monitoring's web login (the exporter's `web_auth`). Not through promtool/amtool: Debian 12's
promtool 2.42 cannot send a login, and one on its command line would be seen by every local
user. Read-only; run as root (the logins are in root/risk-exporter-only files):
`sudo ft-status`, or `--json` for scripts.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .client import BotApiError, checked, make_client
from .config import BotConfig, ConfigError, WebAuthConfig, load_config

# The governor's figures per bot, as the exporter publishes them (governor.py).
GOVERNOR_METRICS = {
    "drawdown": "risk_bot_governor_drawdown_ratio",
    "drawdown_limit": "risk_bot_governor_max_drawdown_ratio",
    "halted": "risk_bot_governor_halted",
}


@dataclass(frozen=True)
class Position:
    pair: str
    side: str
    leverage: float
    liquidation_distance: float | None  # fraction of the current price; None: not known
    profit_abs: float
    funding_fees: float


@dataclass
class BotStatus:
    name: str
    unit: str  # systemd's ActiveState: active, failed, inactive...
    mode: str = "?"  # dry_run or live, from the bot's own configuration
    strategy: str = "?"
    state: str = "?"  # freqtrade's state: running, stopped...
    positions: list[Position] = field(default_factory=list)
    today_pnl: float | None = None
    drawdown: float | None = None
    drawdown_limit: float | None = None
    halted: bool | None = None
    error: str = ""


@dataclass(frozen=True)
class Alert:
    name: str
    severity: str
    bot: str
    summary: str


def liquidation_distance(trade: dict[str, Any]) -> float | None:
    """How far the price may move against the position before liquidation, as a fraction of
    the current price (both sides: a long is liquidated below, a short above)."""
    liq = trade.get("liquidation_price")
    rate = trade.get("current_rate")
    if not liq or not rate:
        return None
    return abs(float(rate) - float(liq)) / float(rate)


def position(trade: dict[str, Any]) -> Position:
    return Position(
        pair=str(trade.get("pair", "?")),
        side="short" if trade.get("is_short") else "long",
        leverage=float(trade.get("leverage") or 1.0),
        liquidation_distance=liquidation_distance(trade),
        profit_abs=float(trade.get("profit_abs") or 0.0),
        funding_fees=float(trade.get("funding_fees") or 0.0),
    )


def today_pnl(daily: Any) -> float | None:
    """Realised profit of the current UTC day from freqtrade's /daily (newest day first)."""
    rows = daily.get("data") if isinstance(daily, dict) else None
    if not rows:
        return None
    return float(rows[0].get("abs_profit") or 0.0)


def vector_by_bot(result: Any) -> dict[str, float]:
    """An instant query's result vector: [{"metric": {...}, "value": [t, "v"]}]."""
    out: dict[str, float] = {}
    for sample in result if isinstance(result, list) else []:
        bot = sample.get("metric", {}).get("bot")
        if bot is not None:
            out[str(bot)] = float(sample["value"][1])
    return out


def firing(alerts: Any) -> list[Alert]:
    """Alertmanager's list of alerts (API v2), reduced to the active ones (not silenced or
    inhibited)."""
    out = []
    for a in alerts if isinstance(alerts, list) else []:
        if a.get("status", {}).get("state", "active") != "active":
            continue
        labels = a.get("labels", {})
        out.append(
            Alert(
                name=str(labels.get("alertname", "?")),
                severity=str(labels.get("severity", "")),
                bot=str(labels.get("bot", "")),
                summary=str(a.get("annotations", {}).get("summary", "")),
            )
        )
    return sorted(out, key=lambda x: (x.bot, x.name))


def _pct(x: float | None) -> str:
    return "?" if x is None else f"{100 * x:.1f} %"


def _usdt(x: float | None) -> str:
    return "?" if x is None else f"{x:+.2f} USDT"


def render(bots: Sequence[BotStatus], alerts: Sequence[Alert] | None) -> str:
    lines = []
    for b in bots:
        lines.append(f"{b.name}: unit {b.unit}, {b.mode}, {b.strategy}, freqtrade {b.state}")
        if b.error:
            lines.append(f"  API: {b.error}")
        halted = " HALTED" if b.halted else ""
        lines.append(
            f"  today {_usdt(b.today_pnl)}; drawdown {_pct(b.drawdown)}"
            f" of limit {_pct(b.drawdown_limit)}{halted}"
        )
        if not b.positions:
            lines.append("  no open position")
        for p in b.positions:
            lines.append(
                f"  {p.side:5} {p.pair:16} {p.leverage:g}x  liquidation"
                f" {_pct(p.liquidation_distance)} away  profit {_usdt(p.profit_abs)}"
                f"  funding {_usdt(p.funding_fees)}"
            )
    if alerts is None:
        lines.append("alerts: Alertmanager not reachable")
    elif not alerts:
        lines.append("alerts: none firing")
    else:
        lines.append(f"alerts: {len(alerts)} firing")
        lines.extend(f"  {a.name} [{a.severity}] {a.bot}: {a.summary}" for a in alerts)
    return "\n".join(lines)


# --- adapters -------------------------------------------------------------------------------


def run(cmd: list[str]) -> str:
    """The one way out to the system's tools (tests replace it)."""
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=20).stdout


def unit_state(name: str) -> str:
    try:
        return run(["systemctl", "show", "-P", "ActiveState", f"freqtrade@{name}"]).strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def ask_bot(bot: BotConfig, status: BotStatus, timeout: float) -> None:
    api = make_client(bot, timeout)
    try:
        cfg = checked(api.show_config(), "show_config")
        status.mode = "dry_run" if cfg.get("dry_run") else "live"
        status.strategy = str(cfg.get("strategy", "?"))
        status.state = str(cfg.get("state", "?"))
        status.positions = [position(t) for t in checked(api.status(), "status")]
        status.today_pnl = today_pnl(checked(api.daily(1), "daily"))
    except (BotApiError, OSError, ValueError, AttributeError) as exc:
        status.error = str(exc)[:200]


Login = tuple[str, str] | None  # (user, password) for Prometheus and Alertmanager


def get_json(url: str, login: Login) -> Any:
    """One GET to Prometheus or Alertmanager on loopback (tests replace it)."""
    request = urllib.request.Request(url)
    if login is not None:
        token = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=20) as answer:
        return json.load(answer)


def web_login(web_auth: WebAuthConfig | None) -> Login:
    if web_auth is None:
        return None
    try:
        return web_auth.username, web_auth.password()
    except ConfigError:  # not root? the figures show as unknown, the bots' part still works
        return None


def governor(prometheus: str, login: Login) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key, metric in GOVERNOR_METRICS.items():
        url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': metric})}"
        try:
            out[key] = vector_by_bot(get_json(url, login)["data"]["result"])
        except (OSError, ValueError, KeyError, TypeError):
            out[key] = {}
    return out


def alerts(alertmanager: str, login: Login) -> list[Alert] | None:
    url = f"{alertmanager}/api/v2/alerts?active=true&silenced=false&inhibited=false"
    try:
        return firing(get_json(url, login))
    except (OSError, ValueError):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ft-status", description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="/etc/risk-exporter/config.yml")
    ap.add_argument("--prometheus", default="http://127.0.0.1:9090")
    ap.add_argument("--alertmanager", default="http://127.0.0.1:9093")
    ap.add_argument("--json", action="store_true", help="one JSON document instead of text")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    login = web_login(cfg.web_auth)
    gov = governor(args.prometheus.rstrip("/"), login)
    bots = []
    for bot in cfg.bots:
        status = BotStatus(name=bot.name, unit=unit_state(bot.name))
        ask_bot(bot, status, cfg.request_timeout_seconds)
        status.drawdown = gov["drawdown"].get(bot.name)
        status.drawdown_limit = gov["drawdown_limit"].get(bot.name)
        halted = gov["halted"].get(bot.name)
        status.halted = None if halted is None else halted > 0
        bots.append(status)
    now_firing = alerts(args.alertmanager.rstrip("/"), login)
    if args.json:
        doc = {
            "bots": [asdict(b) for b in bots],
            "alerts": None if now_firing is None else [asdict(a) for a in now_firing],
        }
        print(json.dumps(doc, indent=2))
    else:
        print(render(bots, now_firing))
    # Non-zero when a bot is not running as it should, for scripts and cron.
    return 0 if all(b.unit == "active" and not b.error for b in bots) else 1


if __name__ == "__main__":
    raise SystemExit(main())
