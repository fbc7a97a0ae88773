"""python -m replay_exchange --data DIR --state FILE [--host H] [--port P] [--keys KEYS.json]
[--tls HOST:PORT --tls-cert CRT --tls-key KEY]"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import ssl
from pathlib import Path

from aiohttp import web

from .core import DEFAULT_HISTORY_DAYS, Exchange
from .server import make_app


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="replay_exchange", description=__doc__)
    p.add_argument("--data", required=True, help="freqtrade datadir root containing futures/")
    p.add_argument("--state", required=True, help="state file (created if missing)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)
    p.add_argument("--keys", help='JSON {"<apiKey>": {"secret": ..., "canWithdraw": false}}')
    p.add_argument(
        "--history-days",
        type=int,
        default=DEFAULT_HISTORY_DAYS,
        help="days of recorded history before 'now' at first start",
    )
    p.add_argument(
        "--weight-limit",
        type=int,
        default=2400,
        help="request weight per IP and minute before 429 (Binance: 2400)",
    )
    p.add_argument(
        "--order-limits",
        default="300,1200",
        help="new orders per account per 10 s and per minute before 429 -1015 (Binance: 300,1200)",
    )
    p.add_argument(
        "--tls",
        metavar="HOST:PORT",
        help="also serve HTTPS there (the rehearsal: Binance's host names resolve to HOST)",
    )
    p.add_argument("--tls-cert", help="certificate chain (PEM) for --tls")
    p.add_argument("--tls-key", help="its private key (PEM)")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    tls = parse_tls(p, args.tls, args.tls_cert, args.tls_key)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(message)s")
    keys = json.loads(Path(args.keys).read_text()) if args.keys else {}
    ex = Exchange(args.data, args.state, keys=keys, history_days=args.history_days)
    ex.limiter.limit = args.weight_limit
    ex.limiter.orders_10s, ex.limiter.orders_1m = (int(n) for n in args.order_limits.split(","))
    asyncio.run(serve(make_app(ex), [(args.host, args.port, None), *tls]))


def parse_tls(
    p: argparse.ArgumentParser, where: str | None, cert: str | None, key: str | None
) -> list[tuple[str, int, ssl.SSLContext]]:
    """The HTTPS listener, if asked for: all three options or none."""
    if where is None and cert is None and key is None:
        return []
    if where is None or cert is None or key is None:
        p.error("--tls, --tls-cert and --tls-key go together")
    host, _, port = where.rpartition(":")
    if not host or not port.isdigit():
        p.error(f"--tls must be HOST:PORT, got {where!r}")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return [(host, int(port), context)]


async def serve(app: web.Application, sites: list[tuple[str, int, ssl.SSLContext | None]]) -> None:
    """One application on every listener (plain HTTP, and HTTPS when asked), until stopped."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        for host, port, context in sites:
            await web.TCPSite(runner, host, port, ssl_context=context).start()
            logging.getLogger("replay_exchange").info(
                "serving on %s://%s:%d", "https" if context else "http", host, port
            )
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    main()
