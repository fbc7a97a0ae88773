"""Configuration file (YAML) → typed, validated settings. See docs/monitoring.md."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from futures_lib import margin

from . import riskmath

DEFAULT_ERROR_PATTERNS = (
    "TemporaryError",
    "ExchangeError",
    "DDosProtection",
    "InvalidOrderException",
    "InsufficientFundsError",
    "RetryableOrderError",
    "PricingError",
    "Could not ",
    "retrying",
    "Giving up",
)


log = logging.getLogger(__name__)


class ConfigError(ValueError):
    pass


Tiers = dict[str, tuple[margin.Bracket, ...]]


class LeverageTiers:
    """Binance's leverage brackets from freqtrade's own tiers file.

    The path leads through freqtrade's `current` release link, so the file is read again
    whenever the file behind the path changes (a release switch or a rollback): the brackets
    are always those of the freqtrade the bots run. A file that cannot be read at start-up
    is a configuration error; later, the last brackets read stay in use and a warning is
    logged."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._identity: tuple[int, int, int] | None = None
        self._tiers: Tiers = {}
        self._lock = threading.Lock()
        if path is not None:
            self._refresh(at_start=True)

    def _refresh(self, at_start: bool = False) -> None:
        assert self.path is not None
        try:
            st = self.path.stat()
            identity = (st.st_dev, st.st_ino, st.st_mtime_ns)
            if identity == self._identity:
                return
            with self._lock:
                self._tiers = load_leverage_tiers(self.path)
                self._identity = identity
        except ConfigError as exc:
            if at_start:
                raise
            log.warning("leverage tiers not re-read, keeping the last ones: %s", exc)
        except OSError as exc:
            if at_start:
                raise ConfigError(f"leverage_tiers_file {self.path}: {exc}") from exc
            log.warning("leverage tiers not re-read, keeping the last ones: %s", exc)

    def get(self, pair: str) -> tuple[margin.Bracket, ...] | None:
        if self.path is None:
            return None
        self._refresh()
        return self._tiers.get(pair)

    def __len__(self) -> int:
        return len(self._tiers)


@dataclass(frozen=True)
class BacktestExpectation:
    expected_daily_return_ratio: float | None = None
    profit_ratio: float | None = None
    period_days: float | None = None


@dataclass(frozen=True)
class BotConfig:
    name: str
    url: str
    username: str | None = None
    password_file: Path | None = None
    strategy: str | None = None
    backtest: BacktestExpectation = field(default_factory=BacktestExpectation)
    max_open_trades: int | None = None
    max_stake_per_trade_usdt: float | None = None
    max_total_notional_usdt: float | None = None
    liquidation_distance_threshold_ratio: float | None = None
    governor_status_file: Path | None = None

    def password(self) -> str | None:
        # Read at connect time so a rotated secret needs a restart, never a config edit.
        if self.password_file is None:
            return None
        return self.password_file.read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class WebAuthConfig:
    """The login /metrics requires (the monitoring's web login, see docs/monitoring.md)."""

    username: str
    password_file: Path

    def password(self) -> str:
        try:
            password = self.password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"web_auth.password_file {self.password_file}: {exc}") from exc
        if not password:
            raise ConfigError(f"web_auth.password_file {self.password_file} is empty")
        return password


@dataclass(frozen=True)
class FundingConfig:
    enabled: bool = False
    exchange_url: str = "https://fapi.binance.com"


@dataclass(frozen=True)
class ReconcileConfig:
    """The account's positions against the bots' trades (reconcile.py). The API key and
    secret are not in the file: reconcile_credentials() reads them from the environment."""

    enabled: bool = False
    exchange_url: str = "https://fapi.binance.com"
    # 0: report orphans only. Otherwise close a position no live bot knows once it has
    # stayed that long (reconcile.py); the key must then be able to trade.
    close_orphans_after_seconds: float = 0.0


# Above ccxt's 30 s order timeout and two bot loops, with room for a slow poll.
MIN_CLOSE_ORPHANS_AFTER_S = 60.0

RECONCILE_KEY_ENV = "RISK_EXPORTER_EXCHANGE_KEY"
RECONCILE_SECRET_ENV = "RISK_EXPORTER_EXCHANGE_SECRET"


def reconcile_credentials(env: Mapping[str, str]) -> tuple[str, str]:
    """(key, secret) for the reconciliation, from systemd's root-only environment file."""
    key, secret = env.get(RECONCILE_KEY_ENV, ""), env.get(RECONCILE_SECRET_ENV, "")
    missing = [n for n, v in ((RECONCILE_KEY_ENV, key), (RECONCILE_SECRET_ENV, secret)) if not v]
    if missing:
        raise ConfigError(f"reconcile.enabled needs {' and '.join(missing)} in the environment")
    return key, secret


@dataclass(frozen=True)
class Config:
    bots: tuple[BotConfig, ...]
    listen_address: str = "127.0.0.1"
    listen_port: int = 9110
    poll_interval_seconds: float = 15.0
    request_timeout_seconds: float = 5.0
    state_file: Path | None = None
    backup_status_file: Path | None = None
    liquidation_distance_threshold_ratio: float = 0.05
    default_maintenance_margin_rate: float = 0.005
    maintenance_margin_rates: dict[str, float] = field(default_factory=dict)
    funding: FundingConfig = field(default_factory=FundingConfig)
    reconcile: ReconcileConfig = field(default_factory=ReconcileConfig)
    exchange_error_patterns: tuple[str, ...] = DEFAULT_ERROR_PATTERNS
    log_limit: int = 200
    leverage_tiers_file: Path | None = None
    leverage_tiers: LeverageTiers = field(default_factory=lambda: LeverageTiers(None))
    web_auth: WebAuthConfig | None = None  # None: /metrics without a login

    def mm_rate(self, pair: str) -> float:
        return self.maintenance_margin_rates.get(pair, self.default_maintenance_margin_rate)

    def maintenance_margin(self, pair: str, notional_value: float) -> float:
        """Binance brackets when a tiers file covers the pair, else the configured rate."""
        tiers = self.leverage_tiers.get(pair)
        if tiers:
            return margin.maintenance_margin(tiers, notional_value)
        return riskmath.maintenance_margin(notional_value, self.mm_rate(pair))

    def liq_threshold(self, bot: BotConfig) -> float:
        if bot.liquidation_distance_threshold_ratio is not None:
            return bot.liquidation_distance_threshold_ratio
        return self.liquidation_distance_threshold_ratio


def load_leverage_tiers(path: Path) -> Tiers:
    """freqtrade's binance_leverage_tiers.json format (ccxt fetch_leverage_tiers):
    {pair: [{minNotional, maxNotional, maxLeverage, maintenanceMarginRate, info: {cum}}, ...]}."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {
            str(pair): tuple(
                sorted((margin.Bracket.from_ccxt(t) for t in tiers), key=lambda b: b.notional_floor)
            )
            for pair, tiers in raw.items()
            if tiers
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"leverage_tiers_file {path}: {exc}") from exc


def _opt_float(d: dict[str, Any], key: str) -> float | None:
    v = d.get(key)
    return None if v is None else float(v)


def _opt_path(d: dict[str, Any], key: str) -> Path | None:
    v = d.get(key)
    return None if not v else Path(v)


def _bot(raw: dict[str, Any]) -> BotConfig:
    for key in ("name", "url"):
        if not raw.get(key):
            raise ConfigError(f"bot entry lacks '{key}': {raw!r}")
    bt = raw.get("backtest") or {}
    if not isinstance(bt, dict):
        raise ConfigError(f"bot {raw['name']}: backtest must be a mapping")
    mot = raw.get("max_open_trades")
    return BotConfig(
        name=str(raw["name"]),
        url=str(raw["url"]).rstrip("/"),
        username=raw.get("username"),
        password_file=_opt_path(raw, "password_file"),
        strategy=raw.get("strategy"),
        backtest=BacktestExpectation(
            expected_daily_return_ratio=_opt_float(bt, "expected_daily_return_ratio"),
            profit_ratio=_opt_float(bt, "profit_ratio"),
            period_days=_opt_float(bt, "period_days"),
        ),
        max_open_trades=None if mot is None else int(mot),
        max_stake_per_trade_usdt=_opt_float(raw, "max_stake_per_trade_usdt"),
        max_total_notional_usdt=_opt_float(raw, "max_total_notional_usdt"),
        liquidation_distance_threshold_ratio=_opt_float(
            raw, "liquidation_distance_threshold_ratio"
        ),
        governor_status_file=_opt_path(raw, "governor_status_file"),
    )


def _web_auth(raw: Any) -> WebAuthConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw.get("username") or not raw.get("password_file"):
        raise ConfigError("web_auth needs username and password_file")
    return WebAuthConfig(username=str(raw["username"]), password_file=Path(raw["password_file"]))


def _reconcile(raw: Any) -> ReconcileConfig:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError("reconcile must be a mapping")
    url = str(raw.get("exchange_url", ReconcileConfig.exchange_url)).rstrip("/")
    enabled = bool(raw.get("enabled", False))
    try:
        close_after = float(raw.get("close_orphans_after_seconds", 0))
    except (TypeError, ValueError) as exc:
        raise ConfigError("reconcile.close_orphans_after_seconds must be a number") from exc
    if close_after and (close_after < MIN_CLOSE_ORPHANS_AFTER_S or not enabled):
        raise ConfigError(
            "reconcile.close_orphans_after_seconds must be 0 (off) or at least "
            f"{MIN_CLOSE_ORPHANS_AFTER_S:.0f} with reconcile.enabled, got {close_after:g}"
        )
    return ReconcileConfig(
        enabled=enabled, exchange_url=url, close_orphans_after_seconds=close_after
    )


def parse_config(raw: dict[str, Any]) -> Config:
    if not isinstance(raw, dict):
        raise ConfigError("config must be a mapping")
    bots = tuple(_bot(b) for b in raw.get("bots") or [])
    if not bots:
        raise ConfigError("config needs at least one bot under 'bots'")
    names = [b.name for b in bots]
    if len(set(names)) != len(names):
        raise ConfigError(f"bot names must be unique: {names}")
    funding_raw = raw.get("funding") or {}
    kwargs: dict[str, Any] = {
        "bots": bots,
        "funding": FundingConfig(
            enabled=bool(funding_raw.get("enabled", False)),
            exchange_url=str(funding_raw.get("exchange_url", FundingConfig.exchange_url)).rstrip(
                "/"
            ),
        ),
        "reconcile": _reconcile(raw.get("reconcile")),
        "state_file": _opt_path(raw, "state_file"),
        "backup_status_file": _opt_path(raw, "backup_status_file"),
        "leverage_tiers_file": _opt_path(raw, "leverage_tiers_file"),
        "web_auth": _web_auth(raw.get("web_auth")),
        "maintenance_margin_rates": {
            str(k): float(v) for k, v in (raw.get("maintenance_margin_rates") or {}).items()
        },
    }
    for key, typ in (
        ("listen_address", str),
        ("listen_port", int),
        ("poll_interval_seconds", float),
        ("request_timeout_seconds", float),
        ("liquidation_distance_threshold_ratio", float),
        ("default_maintenance_margin_rate", float),
        ("log_limit", int),
    ):
        if raw.get(key) is not None:
            kwargs[key] = typ(raw[key])
    if raw.get("exchange_error_patterns"):
        kwargs["exchange_error_patterns"] = tuple(str(p) for p in raw["exchange_error_patterns"])
    kwargs["leverage_tiers"] = LeverageTiers(kwargs["leverage_tiers_file"])
    cfg = Config(**kwargs)
    if cfg.poll_interval_seconds <= 0:
        raise ConfigError("poll_interval_seconds must be > 0")
    return cfg


def load_config(path: str | Path) -> Config:
    with open(path, encoding="utf-8") as fh:
        return parse_config(yaml.safe_load(fh))
