"""Backtest plumbing for the strategies: data copy, local exchange, freqtrade config.

freqtrade must load markets at start-up even when backtesting; offline that is the project's
local Binance stand-in (``exchange/``, package ``replay_exchange``). freqtrade also rewrites
datadirs (with ``funding_fee_timeframe: 8h`` it renames/deletes funding files), so the data is
always copied first and freqtrade is pointed at the copy.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# One definition of how ccxt is pointed at the local exchange: the exchange's own.
from replay_exchange.testing import ccxt_config

ROOT = Path(__file__).resolve().parents[2]
VENV_PY = ROOT / ".venv" / "bin" / "python"
REPO_DATA = ROOT / "files" / "data" / "binance"
SHARED_DATA = ROOT.parent / "shared" / "data" / "binance"

PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "BNB/USDT:USDT", "ADA/USDT:USDT"]


def default_data() -> Path:
    """The 33-month set in ../shared/data when present, else the repository slice."""
    return SHARED_DATA if (SHARED_DATA / "futures").is_dir() else REPO_DATA


def copy_data(src: Path, dst: Path, pairs: list[str] | None = None) -> Path:
    """Copy 15m/1h/4h futures, 8h mark and 8h funding files of ``pairs`` into ``dst``.

    Only the 8h funding file is copied (as -8h-), so freqtrade's 1h->8h funding migration has
    nothing to rename. Returns the datadir to give freqtrade (``dst``, containing futures/).
    """
    pairs = pairs or PAIRS
    out = dst / "futures"
    out.mkdir(parents=True, exist_ok=True)
    for pair in pairs:
        stem = pair.replace("/", "_").replace(":", "_")
        for kind in (
            "15m-futures",
            "1h-futures",
            "4h-futures",
            "8h-mark",
            "8h-funding_rate",
        ):
            f = src / "futures" / f"{stem}-{kind}.feather"
            if f.exists():
                shutil.copy2(f, out / f.name)
    return dst


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def local_exchange(data_dir: Path, work: Path) -> Iterator[str]:
    """Run ``python -m replay_exchange`` on a free port; yield its base URL."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "exchange"))
    log = (work / "exchange.log").open("w")
    proc = subprocess.Popen(
        [
            str(VENV_PY if VENV_PY.exists() else sys.executable),
            "-m",
            "replay_exchange",
            "--data",
            str(data_dir),
            "--state",
            str(work / "exchange-state.json"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/fapi/v1/exchangeInfo", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"local exchange did not start, see {work / 'exchange.log'}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def backtest_config(
    base_url: str,
    datadir: Path,
    *,
    pairs: list[str] | None = None,
    wallet: float = 10_000.0,
    max_open_trades: int = 5,
    timeframe: str = "4h",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A futures backtest/hyperopt config for these strategies (and freqtrade's sample).

    ``datadir`` is not put in the config: with ``--userdir`` freqtrade ignores it, so callers
    pass ``--datadir``; the argument is kept for symmetry with the callers.
    """
    cfg: dict[str, Any] = {
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "stake_currency": "USDT",
        "stake_amount": "unlimited",
        "tradable_balance_ratio": 0.99,
        "dry_run": True,
        "dry_run_wallet": wallet,
        "max_open_trades": max_open_trades,
        # freqtrade needs one timeframe for a --strategy-list run: the project's strategies'
        "timeframe": timeframe,
        "fee": 0.0005,
        "dataformat_ohlcv": "feather",
        "entry_pricing": {
            "price_side": "same",
            "use_order_book": True,
            "order_book_top": 1,
        },
        "exit_pricing": {"price_side": "same", "use_order_book": True, "order_book_top": 1},
        "exchange": {
            "name": "binance",
            "key": "",
            "secret": "",
            "pair_whitelist": pairs or PAIRS,
            "pair_blacklist": [],
            "ccxt_config": ccxt_config(base_url),
            "ccxt_async_config": ccxt_config(base_url),
            # the data set has complete 8h mark files; 1h mark is partial (see data README)
            "_ft_has_params": {"mark_ohlcv_timeframe": "8h", "funding_fee_timeframe": "8h"},
        },
        "pairlists": [{"method": "StaticPairList"}],
        "futures_risk": {"risk_per_trade": 0.005, "max_leverage": 10},
        "internals": {"process_throttle_secs": 5},
        "bot_name": "strategies-backtest",
        "initial_state": "running",
        "force_entry_enable": False,
    }
    if extra:
        cfg.update(extra)
    return cfg


def write_config(path: Path, cfg: dict[str, Any]) -> Path:
    path.write_text(json.dumps(cfg, indent=2))
    return path


def freqtrade(
    *args: str, cwd: Path | None = None, strategy_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run freqtrade. ``strategy_path`` goes on PYTHONPATH: hyperopt's worker processes
    unpickle the strategy and must be able to import the modules of its folder, which
    freqtrade makes importable in its main process only (the futures library is installed)."""
    exe = ROOT / ".venv" / "bin" / "freqtrade"
    env = dict(os.environ)
    if strategy_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(strategy_path), env.get("PYTHONPATH", "")) if p
        )
    return subprocess.run(
        [str(exe), *args], cwd=cwd or ROOT, text=True, capture_output=True, check=False, env=env
    )
