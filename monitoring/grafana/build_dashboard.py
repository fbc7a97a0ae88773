"""Generate dashboard.json (Grafana 10+ schema) for users who run Grafana elsewhere.

    python monitoring/grafana/build_dashboard.py  # rewrites monitoring/grafana/dashboard.json

Generated rather than hand-edited so that panels stay consistent; tests check that every
metric the panels query is one the exporter exposes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
BOT = '{bot=~"$bot"}'
_id = 0


def _next_id() -> int:
    global _id
    _id += 1
    return _id


def target(expr: str, legend: str = "", instant: bool = False, ref: str = "A") -> dict[str, Any]:
    return {
        "datasource": DS,
        "expr": expr,
        "legendFormat": legend,
        "refId": ref,
        "instant": instant,
        "range": not instant,
        "format": "table" if instant else "time_series",
    }


def thresholds(*steps: tuple[float | None, str]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in steps]}


def panel(
    kind: str,
    title: str,
    x: int,
    y: int,
    w: int,
    h: int,
    targets: list[dict[str, Any]],
    unit: str = "none",
    th: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": unit}
    if th:
        defaults["thresholds"] = th
        defaults["color"] = {"mode": "thresholds"}
    p = {
        "id": _next_id(),
        "type": kind,
        "title": title,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
    }
    p.update(extra)
    return p


def row(title: str, y: int) -> dict[str, Any]:
    return {
        "id": _next_id(),
        "type": "row",
        "title": title,
        "collapsed": False,
        "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
        "panels": [],
    }


# The exporter's leverage buckets (risk_exporter.closed.LEVERAGE_BOUNDS), in order.
LEVERAGE_LABELS = ("1x", "2x", "3x", "5x", "10x", "20x", "50x", "125x")
RED_AT = thresholds((None, "green"), (0.5, "orange"), (0.8, "red"))


def build() -> dict[str, Any]:
    ts = "timeseries"
    panels = [
        row("Bots", 0),
        panel(
            "stat",
            "API up",
            0,
            1,
            4,
            4,
            [target(f"risk_bot_up{BOT}", "{{bot}}")],
            th=thresholds((None, "red"), (1, "green")),
        ),
        panel(
            "stat",
            "Data age",
            4,
            1,
            4,
            4,
            [target(f"risk_bot_staleness_seconds{BOT}", "{{bot}}")],
            unit="s",
            th=thresholds((None, "green"), (60, "orange"), (300, "red")),
        ),
        panel(
            "gauge",
            "Live vs backtest",
            8,
            1,
            8,
            4,
            [target(f"risk_bot_live_vs_backtest_ratio{BOT}", "{{bot}}")],
            unit="percentunit",
            th=thresholds((None, "red"), (0.8, "green")),
        ),
        panel(
            "stat",
            "Daily realised PnL",
            16,
            1,
            8,
            4,
            [target(f"risk_bot_daily_realized_pnl_usdt{BOT}", "{{bot}}")],
            unit="currencyUSD",
        ),
        panel(
            ts,
            "Equity and peak",
            0,
            5,
            12,
            8,
            [
                target(f"risk_bot_equity_usdt{BOT}", "{{bot}} equity"),
                target(f"risk_bot_peak_equity_usdt{BOT}", "{{bot}} peak", ref="B"),
            ],
            unit="currencyUSD",
        ),
        panel(
            ts,
            "Drawdown (alert > 15 %)",
            12,
            5,
            12,
            8,
            [target(f"risk_bot_drawdown_ratio{BOT}", "{{bot}}")],
            unit="percentunit",
            th=thresholds((None, "green"), (0.1, "orange"), (0.15, "red")),
        ),
        panel(
            ts,
            "Exposure vs limit",
            0,
            13,
            8,
            8,
            [
                target(f"risk_bot_exposure_ratio{BOT}", "{{bot}} notional/limit"),
                target(f"risk_bot_open_positions_ratio{BOT}", "{{bot}} positions/max", ref="B"),
            ],
            unit="percentunit",
            th=thresholds((None, "green"), (1, "red")),
        ),
        panel(
            ts,
            "Account margin ratio",
            8,
            13,
            8,
            8,
            [target(f"risk_bot_margin_ratio{BOT}", "{{bot}}")],
            unit="percentunit",
            th=RED_AT,
        ),
        panel(
            ts,
            "Exchange errors / 10 min",
            16,
            13,
            8,
            8,
            [target(f"increase(risk_bot_exchange_errors_total{BOT}[10m])", "{{bot}}")],
            th=thresholds((None, "green"), (3, "red")),
        ),
        panel(
            "barchart",
            "Realised PnL by leverage (closed trades)",
            0,
            21,
            24,
            8,
            [
                target(
                    f'sum(risk_bot_closed_profit_by_leverage_usdt{{bot=~"$bot",leverage="{lev}"}})',
                    lev,
                    ref=chr(ord("A") + i),
                )
                for i, lev in enumerate(LEVERAGE_LABELS)
            ],
            unit="currencyUSD",
            # One series per bucket, in bucket order: a row each, the bar is its last value.
            transformations=[
                {
                    "id": "reduce",
                    "options": {"reducers": ["lastNotNull"], "mode": "seriesToRows"},
                }
            ],
            options={
                "xField": "Field",
                "orientation": "vertical",
                "showValue": "always",
                "legend": {"showLegend": False, "displayMode": "list", "placement": "bottom"},
                "tooltip": {"mode": "single", "sort": "none"},
            },
        ),
        row("Positions", 29),
        panel(
            "table",
            "Open positions",
            0,
            30,
            24,
            8,
            [
                target(f"risk_position_leverage{BOT}", instant=True, ref="A"),
                target(f"risk_position_notional_usdt{BOT}", instant=True, ref="B"),
                target(f"risk_position_margin_usdt{BOT}", instant=True, ref="C"),
                target(f"risk_position_margin_ratio{BOT}", instant=True, ref="D"),
                target(f"risk_position_liquidation_price_usdt{BOT}", instant=True, ref="E"),
                target(f"risk_position_liquidation_distance_ratio{BOT}", instant=True, ref="F"),
                target(f"risk_position_unrealized_pnl_usdt{BOT}", instant=True, ref="G"),
                target(f"risk_position_funding_fees_paid_usdt{BOT}", instant=True, ref="H"),
            ],
            transformations=[
                {"id": "merge", "options": {}},
                {
                    "id": "organize",
                    "options": {
                        "excludeByName": {"Time": True},
                        "renameByName": {
                            "Value #A": "leverage",
                            "Value #B": "notional",
                            "Value #C": "margin",
                            "Value #D": "margin ratio",
                            "Value #E": "liq. price",
                            "Value #F": "liq. distance",
                            "Value #G": "uPnL",
                            "Value #H": "funding paid",
                        },
                    },
                },
            ],
        ),
        panel(
            ts,
            "Margin ratio per position (alert > 80 %)",
            0,
            38,
            12,
            8,
            [target(f"risk_position_margin_ratio{BOT}", "{{bot}} {{side}} {{pair}}")],
            unit="percentunit",
            th=RED_AT,
        ),
        panel(
            ts,
            "Liquidation distance",
            12,
            38,
            12,
            8,
            [
                target(
                    f"risk_position_liquidation_distance_ratio{BOT}", "{{bot}} {{side}} {{pair}}"
                ),
                target(
                    f"risk_bot_liquidation_distance_threshold_ratio{BOT}",
                    "{{bot}} threshold",
                    ref="B",
                ),
            ],
            unit="percentunit",
        ),
        panel(
            ts,
            "Unrealised PnL vs funding paid",
            0,
            46,
            12,
            8,
            [
                target(f"risk_position_unrealized_pnl_usdt{BOT}", "{{bot}} {{pair}} uPnL"),
                target(
                    f"risk_position_funding_fees_paid_usdt{BOT}",
                    "{{bot}} {{pair}} funding",
                    ref="B",
                ),
            ],
            unit="currencyUSD",
        ),
        panel(
            ts,
            "Funding rate per period",
            12,
            46,
            12,
            8,
            [target("risk_funding_rate_ratio", "{{pair}}")],
            unit="percentunit",
        ),
        row("Host", 54),
        panel(
            ts,
            "Disk free",
            0,
            55,
            12,
            7,
            [
                target(
                    'node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|squashfs|overlay|nsfs"}'
                    ' / node_filesystem_size_bytes{fstype!~"tmpfs|ramfs|squashfs|overlay|nsfs"}',
                    "{{mountpoint}}",
                )
            ],
            unit="percentunit",
            th=thresholds((None, "red"), (0.05, "orange"), (0.10, "green")),
        ),
        panel(
            "stat",
            "Last successful backup",
            12,
            55,
            12,
            7,
            [target("time() - max(backup_last_success_timestamp_seconds)", "age")],
            unit="s",
            th=thresholds((None, "green"), (26 * 3600, "red")),
        ),
    ]
    return {
        "__inputs": [
            {
                "name": "DS_PROMETHEUS",
                "label": "Prometheus",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"}
        ],
        "uid": "freqtrade-risk",
        "title": "freqtrade futures risk",
        "tags": ["freqtrade", "futures", "risk"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "bot",
                    "label": "Bot",
                    "type": "query",
                    "datasource": DS,
                    "query": {"query": "label_values(risk_bot_up, bot)", "refId": "bot"},
                    "definition": "label_values(risk_bot_up, bot)",
                    "multi": True,
                    "includeAll": True,
                    "allValue": ".*",
                    "refresh": 2,
                    "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def main() -> None:
    out = Path(__file__).with_name("dashboard.json")
    out.write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
