"""Entry point: python -m risk_exporter --config /etc/risk-exporter/config.yml"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from functools import partial

from prometheus_client import CollectorRegistry, make_wsgi_app

from .client import BotApi, make_client
from .collector import RiskCollector
from .config import Config, load_config, reconcile_credentials
from .poller import BotState, FundingRates, poll_once, run_forever
from .reconcile import Reconciliation, close_position, fetch_positions
from .snapshot import BotSnapshot
from .state import PeakStore
from .webauth import basic_auth, serve

log = logging.getLogger("risk_exporter")


def build(
    cfg: Config,
) -> tuple[CollectorRegistry, list[BotState], FundingRates | None, Reconciliation | None]:
    now = time.time()
    states = [BotState(bot=b, started_at=now) for b in cfg.bots]
    funding = FundingRates() if cfg.funding.enabled else None
    reconciliation = Reconciliation() if cfg.reconcile.enabled else None
    registry = CollectorRegistry()
    registry.register(RiskCollector(cfg, states, funding, reconciliation=reconciliation))
    return registry, states, funding, reconciliation


def snapshots(states: Sequence[BotState]) -> list[BotSnapshot | None]:
    out = []
    for st in states:
        with st.lock:
            out.append(st.snapshot)
    return out


def start_pollers(
    cfg: Config,
    states: Sequence[BotState],
    funding: FundingRates | None,
    stop: threading.Event,
    reconciliation: Reconciliation | None = None,
) -> list[threading.Thread]:
    peaks = PeakStore(cfg.state_file)
    threads = []
    for st in states:
        api = make_client(st.bot, cfg.request_timeout_seconds)

        def step(st: BotState = st, api: BotApi = api) -> None:
            poll_once(st, api, cfg, peaks, time.time(), time.monotonic)

        threads.append(
            threading.Thread(
                target=run_forever,
                args=(stop, cfg.poll_interval_seconds, step),
                name=f"poll-{st.bot.name}",
                daemon=True,
            )
        )
    if funding is not None:
        refresh = partial(funding.refresh, cfg.funding.exchange_url, cfg.request_timeout_seconds)
        threads.append(
            threading.Thread(
                target=run_forever,
                args=(stop, max(cfg.poll_interval_seconds, 60.0), refresh),
                name="funding",
                daemon=True,
            )
        )
    if reconciliation is not None:
        key, secret = reconcile_credentials(os.environ)
        url, timeout = cfg.reconcile.exchange_url, cfg.request_timeout_seconds
        fetch = partial(fetch_positions, url, key, secret, timeout)
        if cfg.reconcile.close_orphans_after_seconds:
            reconciliation.closer = partial(close_position, url, key, secret, timeout)
            reconciliation.close_after_s = cfg.reconcile.close_orphans_after_seconds
        step = partial(reconciliation.refresh, fetch, partial(snapshots, states))
        threads.append(
            threading.Thread(
                target=run_forever,
                args=(stop, cfg.poll_interval_seconds, step),
                name="reconcile",
                daemon=True,
            )
        )
    for t in threads:
        t.start()
    return threads


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="risk_exporter", description=__doc__)
    ap.add_argument("--config", required=True, help="YAML config (see docs/monitoring.md)")
    ap.add_argument("--log-level", default="INFO")
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    cfg = load_config(args.config)
    if cfg.reconcile.enabled:
        reconcile_credentials(os.environ)  # refuse to start without them, naming the variable
    registry, states, funding, reconciliation = build(cfg)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    app = make_wsgi_app(registry)
    if cfg.web_auth is not None:
        # Read once: a new password (the role writes it) comes with a restart.
        app = basic_auth(app, cfg.web_auth.username, cfg.web_auth.password())
    server, _thread = serve(app, cfg.listen_address, cfg.listen_port)
    log.info(
        "listening on %s:%d (%s), %d bot(s)",
        cfg.listen_address,
        cfg.listen_port,
        "basic auth" if cfg.web_auth is not None else "no login",
        len(cfg.bots),
    )
    start_pollers(cfg, states, funding, stop, reconciliation)
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
