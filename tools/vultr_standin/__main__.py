"""Run the stand-in: python -m tools.vultr_standin --api-key-file FILE [--port 0].

Prints the API endpoint (for the modules' api_endpoint) on its first line of output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .server import StandinServer
from .store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--api-key-file", type=Path, required=True)
    parser.add_argument("--log", type=Path, help="append one JSON line per request")
    parser.add_argument(
        "--provision-polls",
        type=int,
        default=1,
        help="reads of a new instance that still see it pending",
    )
    args = parser.parse_args()
    api_key = args.api_key_file.read_text().strip()
    if not api_key:
        parser.error("--api-key-file is empty")
    store = Store(provision_polls=args.provision_polls)
    server = StandinServer((args.host, args.port), store, api_key, args.log)
    host, port = server.server_address[:2]
    print(f"http://{host}:{port}/v2", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
