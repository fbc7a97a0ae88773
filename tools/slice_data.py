"""Cut the repository's market-data slice out of the full development set.

The full set (33 months, 5 pairs) lives in ``../shared/data`` and is not part of a
user's clone. The rehearsal and the tests need a small, real slice inside the
repository; this script makes it reproducibly and records where it came from.

Usage: python tools/slice_data.py SOURCE_DATADIR DEST_DATADIR [--start DAY] [--end DAY]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import pandas as pd

PAIRS = ("BTC", "ETH", "SOL", "BNB", "ADA")
SERIES = (
    "15m-futures",
    "1h-futures",
    "4h-futures",
    "1h-mark",
    "8h-mark",
    "1h-funding_rate",
    "8h-funding_rate",
)


def slice_file(src: Path, dst: Path, start: pd.Timestamp, end: pd.Timestamp) -> int:
    frame = pd.read_feather(src)
    part = frame[(frame["date"] >= start) & (frame["date"] < end)].reset_index(drop=True)
    if part.empty:
        raise SystemExit(f"{src}: no rows between {start} and {end}")
    # Same on-disk format freqtrade writes (lz4, level 9), so freqtrade reads it as its own.
    part.to_feather(dst, compression="lz4", compression_level=9)
    return len(part)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--start", default="2025-07-01")
    parser.add_argument("--end", default="2025-10-01")
    args = parser.parse_args()
    start = pd.Timestamp(args.start, tz="UTC")
    end = pd.Timestamp(args.end, tz="UTC")
    src_dir = args.source / "futures"
    dst_dir = args.dest / "futures"
    dst_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for pair in PAIRS:
        for series in SERIES:
            name = f"{pair}_USDT_USDT-{series}.feather"
            rows = slice_file(src_dir / name, dst_dir / name, start, end)
            digest = hashlib.sha256((src_dir / name).read_bytes()).hexdigest()[:16]
            lines.append(f"| {name} | {rows} | {digest} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
