"""python -m replay_exchange --data DIR --state FILE [--host H] [--port P] [--keys KEYS.json]"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from aiohttp import web

from .server import DEFAULT_HISTORY_DAYS, Exchange, make_app


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
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(message)s")
    keys = json.loads(Path(args.keys).read_text()) if args.keys else {}
    ex = Exchange(args.data, args.state, keys=keys, history_days=args.history_days)
    ex.limiter.limit = args.weight_limit
    ex.limiter.orders_10s, ex.limiter.orders_1m = (int(n) for n in args.order_limits.split(","))
    web.run_app(make_app(ex), host=args.host, port=args.port, access_log=None)


if __name__ == "__main__":
    main()
