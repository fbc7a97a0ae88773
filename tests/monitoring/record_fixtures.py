"""Record a freqtrade bot's REST responses as JSON fixtures for the exporter's unit tests.

How the committed fixtures were made (see docs/monitoring.md, "Fixtures"): a real
`freqtrade trade` (2026.9, dry-run, futures, isolated) against the project's replay exchange
(`python -m replay_exchange`), positions opened with /forceenter, one closed with /forceexit,
then this script:

    python tests/monitoring/record_fixtures.py --url http://127.0.0.1:8081 \
        --username monitor --password monitor-pw --out tests/monitoring/fixtures/dryrun
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from freqtrade_client import FtRestClient

CALLS = {
    "show_config": lambda c: c.show_config(),
    "status": lambda c: c.status(),
    "balance": lambda c: c.balance(),
    "profit": lambda c: c.profit(),
    "daily": lambda c: c.daily(1),
    "health": lambda c: c.health(),
    "logs": lambda c: c.logs(200),
    "trades": lambda c: c.trades(limit=500, offset=0),
    "count": lambda c: c.count(),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--username", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    client = FtRestClient(args.url, args.username, args.password)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, call in CALLS.items():
        (args.out / f"{name}.json").write_text(json.dumps(call(client), indent=1) + "\n")
        print("recorded", name)


if __name__ == "__main__":
    main()
