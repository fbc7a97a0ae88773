"""Test stand-in for a freqtrade bot: keeps its SQLite database open and writes to it.

`fake_bot.py --seed N DB` creates a database with freqtrade's trades table (the columns a
freqtrade 2026 database has that matter here), N trades, and a padding table of random
bytes (so a copy does not fit on a tiny filesystem), in WAL mode like freqtrade's.
`fake_bot.py DB` runs like a bot: creates the tables if missing (as freqtrade does on an
empty database), then writes a heartbeat row every 0.2 s in its own transaction and logs
every 10 s.
"""

import argparse
import os
import random
import signal
import sqlite3
import sys
import time

TRADES = """CREATE TABLE IF NOT EXISTS trades (
    id INTEGER PRIMARY KEY, exchange VARCHAR(25) NOT NULL, pair VARCHAR(25) NOT NULL,
    base_currency VARCHAR(25), stake_currency VARCHAR(25), is_open BOOLEAN NOT NULL,
    fee_open FLOAT NOT NULL, fee_close FLOAT NOT NULL, open_rate FLOAT NOT NULL,
    open_rate_requested FLOAT, open_trade_value FLOAT, close_rate FLOAT, close_profit FLOAT,
    close_profit_abs FLOAT, stake_amount FLOAT NOT NULL, max_stake_amount FLOAT,
    amount FLOAT NOT NULL, amount_requested FLOAT, open_date DATETIME NOT NULL,
    close_date DATETIME, stop_loss FLOAT, exit_reason VARCHAR(255),
    strategy VARCHAR(100), enter_tag VARCHAR(255), timeframe INTEGER,
    trading_mode VARCHAR(7), leverage FLOAT, is_short BOOLEAN NOT NULL,
    liquidation_price FLOAT, interest_rate FLOAT NOT NULL, funding_fees FLOAT)"""
HEARTBEAT = "CREATE TABLE IF NOT EXISTS heartbeat (id INTEGER PRIMARY KEY, at FLOAT NOT NULL)"
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "BNB/USDT:USDT"]


def seed(path: str, count: int) -> None:
    rng = random.Random(f"{path}-{count}")
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")  # as freqtrade's databases
    db.execute(TRADES)
    db.execute(HEARTBEAT)
    for i in range(count):
        rate = rng.uniform(10, 60000)
        amount = rng.uniform(0.001, 5)
        is_open = i >= count - 2
        db.execute(
            "INSERT INTO trades (exchange, pair, base_currency, stake_currency, is_open,"
            " fee_open, fee_close, open_rate, open_trade_value, close_rate, close_profit,"
            " stake_amount, amount, open_date, close_date, exit_reason, strategy, timeframe,"
            " trading_mode, leverage, is_short, liquidation_price, interest_rate,"
            " funding_fees) VALUES"
            " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                "binance", PAIRS[i % 4], PAIRS[i % 4].split("/")[0], "USDT", is_open,
                0.0005, 0.0005, rate, rate * amount, None if is_open else rate * 1.01,
                None if is_open else 0.01, rate * amount / 3, amount,
                f"2026-10-{1 + i % 28:02d} {i % 24:02d}:00:00",
                None if is_open else f"2026-10-{1 + i % 28:02d} {i % 24:02d}:30:00",
                None if is_open else "roi", "FakeStrategy", 5, "FUTURES", 3.0, i % 3 == 0,
                rate * 0.7, 0.0, rng.uniform(-1, 1),
            ),
        )  # fmt: skip
    db.execute("CREATE TABLE padding (data BLOB)")
    db.execute("INSERT INTO padding VALUES (?)", (os.urandom(300_000),))
    db.commit()
    db.close()


def run(path: str) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    db = sqlite3.connect(path, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(TRADES)
    db.execute(HEARTBEAT)
    db.commit()
    beats = 0
    print(f"fake bot started on {path}", flush=True)
    try:
        while True:
            with db:
                db.execute("INSERT INTO heartbeat (at) VALUES (?)", (time.time(),))
                db.execute(
                    "DELETE FROM heartbeat WHERE id <= (SELECT max(id) - 100 FROM heartbeat)"
                )
            beats += 1
            if beats % 50 == 0:
                print(f"heartbeat {beats}", flush=True)
            time.sleep(0.2)
    finally:
        db.close()  # the last connection checkpoints and removes -wal and -shm


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int)
    parser.add_argument("db")
    args = parser.parse_args()
    if args.seed is not None:
        seed(args.db, args.seed)
    else:
        run(args.db)


if __name__ == "__main__":
    main()
