"""Recorded market data and the time shift that replays it along the wall clock.

Shifted ("exchange") time t maps to recorded time r(t) = D0 + ((t - offset - D0) mod L), where
[D0, D0+L) is the whole-day window every series covers and `offset` is a whole number of days.
Whole days keep every candle grid and the 00/08/16 UTC funding times aligned after the shift.
The replay therefore loops: after the last recorded candle it continues with the first one
(a visible price jump once per L; documented in docs/exchange.md).

Inside a candle the price follows a path open -> low -> high -> close for a rising candle and
open -> high -> low -> close for a falling one, with vertices at 1/3 and 2/3 of the candle.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .markets import SPECS

DAY_MS = 86_400_000

TF_MS: dict[str, int] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": DAY_MS,
}

Candle = tuple[int, float, float, float, float, float]  # open time, o, h, lo, c, volume


def path_vertices(o: float, h: float, lo: float, c: float) -> list[tuple[float, float]]:
    """(fraction, price) vertices of the intra-candle path."""
    if c >= o:
        return [(0.0, o), (1 / 3, lo), (2 / 3, h), (1.0, c)]
    return [(0.0, o), (1 / 3, h), (2 / 3, lo), (1.0, c)]


def path_price(o: float, h: float, lo: float, c: float, frac: float) -> float:
    verts = path_vertices(o, h, lo, c)
    frac = min(max(frac, 0.0), 1.0)
    for (f0, p0), (f1, p1) in itertools.pairwise(verts):
        if frac <= f1:
            return p0 + (p1 - p0) * (frac - f0) / (f1 - f0)
    return c


def path_segment(
    o: float, h: float, lo: float, c: float, fa: float, fb: float
) -> tuple[float, float, float, float]:
    """Open, high, low, close of the path between fractions fa <= fb."""
    pa = path_price(o, h, lo, c, fa)
    pb = path_price(o, h, lo, c, fb)
    inside = [p for f, p in path_vertices(o, h, lo, c) if fa < f < fb]
    prices = [pa, pb, *inside]
    return pa, max(prices), min(prices), pb


@dataclass
class Series:
    """One recorded OHLCV series on a fixed grid starting at the window start."""

    tf_ms: int
    o: np.ndarray
    h: np.ndarray
    lo: np.ndarray
    c: np.ndarray
    v: np.ndarray

    @property
    def n(self) -> int:
        return len(self.o)


@dataclass
class SymbolData:
    symbol: str
    trade: Series
    mark: Series
    funding_times: np.ndarray  # recorded ms, ascending
    funding_rates: np.ndarray


@dataclass
class Clock:
    window_start: int  # D0, recorded ms
    period: int  # L, ms
    offset: int  # ms, whole days

    def recorded(self, t: int) -> int:
        return self.window_start + (t - self.offset - self.window_start) % self.period


@dataclass
class MarketData:
    symbols: dict[str, SymbolData]
    window_start: int
    window_end: int
    overrides: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def period(self) -> int:
        return self.window_end - self.window_start

    def default_offset(self, now_ms: int, history_days: int) -> int:
        """Offset that maps `now` to `history_days` after the window start (whole days)."""
        days = min(history_days, self.period // DAY_MS - 1)
        target_day = self.window_start + days * DAY_MS
        return (now_ms // DAY_MS) * DAY_MS - target_day


def _read(path: Path) -> pd.DataFrame:
    df = pd.read_feather(path)
    df["ms"] = df["date"].dt.as_unit("ms").astype("int64")
    return df


def _find(futures: Path, base: str, kinds: Iterable[str]) -> Path | None:
    for kind in kinds:
        p = futures / f"{base}_USDT_USDT-{kind}.feather"
        if p.exists():
            return p
    return None


def _to_series(df: pd.DataFrame, tf_ms: int, start: int, end: int, name: str) -> Series:
    part = df[(df["ms"] >= start) & (df["ms"] < end)]
    expected = (end - start) // tf_ms
    ms = part["ms"].to_numpy()
    if len(part) != expected or (len(ms) and (ms[0] != start or np.any(np.diff(ms) != tf_ms))):
        raise ValueError(f"{name}: gaps in [{start}, {end}) ({len(part)} of {expected} candles)")
    o, h, lo, c = (part[col].to_numpy(dtype=np.float64) for col in ("open", "high", "low", "close"))
    return Series(tf_ms, o, h, lo, c, part["volume"].to_numpy(dtype=np.float64))


def load(datadir: Path | str) -> MarketData:
    """Load every known symbol with trade, mark and funding files under DIR/futures."""
    futures = Path(datadir) / "futures"
    if not futures.is_dir():
        raise FileNotFoundError(f"{futures} does not exist (expected a freqtrade datadir root)")
    raw: dict[str, tuple[pd.DataFrame, int, pd.DataFrame, int, pd.DataFrame]] = {}
    for symbol, spec in SPECS.items():
        trade_p = _find(futures, spec.base, (f"{tf}-futures" for tf in ("1m", "5m", "15m", "1h")))
        fund_p = _find(futures, spec.base, ("1h-funding_rate", "8h-funding_rate"))
        # The mark series that reaches furthest back wins (1h on a tie): in the 33-month set
        # 1h mark history of SOL and BNB starts late, their 8h mark covers everything.
        marks = [
            (_read(p), TF_MS[kind.split("-")[0]])
            for kind in ("1h-mark", "8h-mark")
            if (p := _find(futures, spec.base, (kind,)))
        ]
        if not (trade_p and marks and fund_p):
            continue
        mark_df, mark_tf = min(marks, key=lambda m: (m[0]["ms"].iloc[0], m[1]))
        trade_tf = TF_MS[trade_p.name.split("-")[1]]
        raw[symbol] = (_read(trade_p), trade_tf, mark_df, mark_tf, _read(fund_p))
    if not raw:
        raise FileNotFoundError(f"no complete symbol (futures + mark + funding_rate) in {futures}")
    start = max(max(t["ms"].iloc[0], m["ms"].iloc[0]) for t, _, m, _, _ in raw.values())
    end = min(
        min(t["ms"].iloc[-1] + ttf, m["ms"].iloc[-1] + mtf) for t, ttf, m, mtf, _ in raw.values()
    )
    start = math.ceil(start / DAY_MS) * DAY_MS
    end = (end // DAY_MS) * DAY_MS
    if end - start < 2 * DAY_MS:
        raise ValueError("the series share less than two whole days")
    symbols: dict[str, SymbolData] = {}
    for symbol, (tdf, ttf, mdf, mtf, fdf) in raw.items():
        col = "funding_rate" if "funding_rate" in fdf.columns else "open"
        f = fdf[(fdf["ms"] >= start) & (fdf["ms"] < end)]
        symbols[symbol] = SymbolData(
            symbol,
            _to_series(tdf, ttf, start, end, f"{symbol} trade"),
            _to_series(mdf, mtf, start, end, f"{symbol} mark"),
            f["ms"].to_numpy(dtype=np.int64),
            f[col].to_numpy(dtype=np.float64),
        )
    return MarketData(symbols, int(start), int(end))


class Replay:
    """Queries over the shifted, looping replay of a MarketData."""

    def __init__(self, data: MarketData, offset: int) -> None:
        self.data = data
        self.clock = Clock(data.window_start, data.period, offset)
        self.overrides: dict[str, dict[str, float]] = {}

    # --- base-candle helpers -------------------------------------------------------------
    def _base_index(self, s: Series, t: int) -> int:
        return ((self.clock.recorded(t) - self.clock.window_start) // s.tf_ms) % s.n

    def _base_at(self, s: Series, t: int) -> tuple[int, float, float, float, float, float]:
        i = self._base_index(s, t)
        return i, float(s.o[i]), float(s.h[i]), float(s.lo[i]), float(s.c[i]), float(s.v[i])

    def price_on(self, s: Series, t: int) -> float:
        _, o, h, lo, c, _ = self._base_at(s, t)
        start = t - (t - self.clock.offset) % s.tf_ms  # grid is aligned to whole days
        return path_price(o, h, lo, c, (t - start) / s.tf_ms)

    def span(self, s: Series, t0: int, t1: int) -> tuple[float, float, float, float, float]:
        """OHLCV of the replayed path over [t0, t1) (t0 < t1), across base candles."""
        o = hi = lo = cl = math.nan
        vol = 0.0
        t = t0
        first = True
        full_idx: list[int] = []
        while t < t1:
            cstart = t - (t - self.clock.offset) % s.tf_ms
            cend = cstart + s.tf_ms
            seg_end = min(cend, t1)
            if t == cstart and seg_end == cend:
                i = self._base_index(s, t)
                if first:
                    o = float(s.o[i])
                    first = False
                full_idx.append(i)
                cl = float(s.c[i])
            else:
                _, bo, bh, bl, bc, bv = self._base_at(s, t)
                fa, fb = (t - cstart) / s.tf_ms, (seg_end - cstart) / s.tf_ms
                so, sh, sl, sc = path_segment(bo, bh, bl, bc, fa, fb)
                if first:
                    o = so
                    first = False
                hi = sh if math.isnan(hi) else max(hi, sh)
                lo = sl if math.isnan(lo) else min(lo, sl)
                cl = sc
                vol += bv * (fb - fa)
            t = seg_end
            if len(full_idx) > 100_000:  # a very long gap: sample instead of growing unbounded
                break
        if full_idx:
            idx = np.asarray(full_idx)
            fh, fl = float(s.h[idx].max()), float(s.lo[idx].min())
            hi = fh if math.isnan(hi) else max(hi, fh)
            lo = fl if math.isnan(lo) else min(lo, fl)
            vol += float(s.v[idx].sum())
        return o, hi, lo, cl, vol

    # --- public queries --------------------------------------------------------------------
    def series(self, symbol: str, kind: str) -> Series:
        sd = self.data.symbols[symbol]
        return sd.mark if kind == "mark" else sd.trade

    def last_price(self, symbol: str, now: int) -> float:
        ov = self.overrides.get(symbol, {})
        if "last" in ov:
            return ov["last"]
        return self.price_on(self.data.symbols[symbol].trade, now)

    def mark_price(self, symbol: str, now: int) -> float:
        ov = self.overrides.get(symbol, {})
        if "mark" in ov:
            return ov["mark"]
        return self.price_on(self.data.symbols[symbol].mark, now)

    def extremes(self, symbol: str, kind: str, t0: int, t1: int) -> tuple[float, float]:
        """(low, high) of the price path over [t0, t1], overrides included."""
        price = self.mark_price if kind == "mark" else self.last_price
        override = self.overrides.get(symbol, {}).get("mark" if kind == "mark" else "last")
        if override is not None or t1 <= t0:
            p = price(symbol, t1)
            return p, p
        _, hi, lo, _, _ = self.span(self.series(symbol, kind), t0, t1)
        p = price(symbol, t1)
        return min(lo, p), max(hi, p)

    def traded(self, symbol: str, t0: int, t1: int) -> tuple[float, float, float | None]:
        """(low, high, volume) of the last-price path over [t0, t1]; volume None while a
        test sets the price (an override trades no recorded volume)."""
        p = self.last_price(symbol, t1)
        if "last" in self.overrides.get(symbol, {}):
            return p, p, None
        if t1 <= t0:
            return p, p, 0.0
        _, hi, lo, _, volume = self.span(self.series(symbol, "trade"), t0, t1)
        return min(lo, p), max(hi, p), volume

    def klines(
        self,
        symbol: str,
        kind: str,
        tf: str,
        now: int,
        start: int | None,
        end: int | None,
        limit: int,
    ) -> list[Candle]:
        """Candles like Binance: newest `limit` up to now, or from startTime / up to endTime."""
        return self.candles(symbol, kind, tf, self.kline_opens(tf, now, start, end, limit), now)

    def kline_opens(
        self, tf: str, now: int, start: int | None, end: int | None, limit: int
    ) -> list[int]:
        """Open times of the candles a klines request returns, oldest first."""
        step = TF_MS[tf]
        cur_open = now - (now - self.clock.offset) % step
        last = cur_open if end is None else min(cur_open, end - (end - self.clock.offset) % step)
        if start is not None:
            first = start + (-(start - self.clock.offset)) % step
            last = min(last, first + (limit - 1) * step)
        else:
            first = last - (limit - 1) * step
        return list(range(first, last + 1, step)) if last >= first else []

    def candles(self, symbol: str, kind: str, tf: str, opens: list[int], now: int) -> list[Candle]:
        """The candles opening at `opens` (ascending, on the tf grid) as of `now`."""
        step = TF_MS[tf]
        if kind == "premium":
            return [self._premium_candle(symbol, t, min(t + step, now + 1)) for t in opens]
        s = self.series(symbol, kind)
        out: list[Candle] = []
        fast = step >= s.tf_ms and step % s.tf_ms == 0
        closed = [t for t in opens if t + step <= now]
        if fast and closed:
            out.extend(self._aggregate(s, closed, step // s.tf_ms))
        else:
            closed = []
        for t in opens[len(closed) :]:
            o, h, lo, c, v = self.span(s, t, min(t + step, now + 1))
            out.append((t, o, h, lo, c, v))
        cur_open = now - (now - self.clock.offset) % step
        if out and out[-1][0] == cur_open:
            out[-1] = self._apply_override(symbol, kind, out[-1])
        return out

    def _aggregate(self, s: Series, opens: list[int], k: int) -> list[Candle]:
        t = np.asarray(opens, dtype=np.int64)
        base0 = ((t - self.clock.offset - self.clock.window_start) % self.clock.period) // s.tf_ms
        idx = (base0[:, None] + np.arange(k)[None, :]) % s.n
        o, c = s.o[idx[:, 0]], s.c[idx[:, -1]]
        h, lo, v = s.h[idx].max(axis=1), s.lo[idx].min(axis=1), s.v[idx].sum(axis=1)
        return [
            (int(ti), float(a), float(b), float(d), float(e), float(f))
            for ti, a, b, d, e, f in zip(t, o, h, lo, c, v, strict=True)
        ]

    def _apply_override(self, symbol: str, kind: str, cndl: Candle) -> Candle:
        ov = self.overrides.get(symbol, {}).get("mark" if kind in ("mark", "index") else "last")
        if ov is None:
            return cndl
        t, o, h, lo, _, v = cndl
        return (t, o, max(h, ov), min(lo, ov), ov, v)

    def _premium_candle(self, symbol: str, t0: int, t1: int) -> Candle:
        # No recorded premium index: derive it from the trade/mark basis of the same interval.
        sd = self.data.symbols[symbol]
        to, _, _, tc, _ = self.span(sd.trade, t0, t1)
        mo, _, _, mc, _ = self.span(sd.mark, t0, t1)
        po, pc = (to - mo) / mo, (tc - mc) / mc
        return (t0, po, max(po, pc), min(po, pc), pc, 0.0)

    # --- funding -------------------------------------------------------------------------
    def funding_events(self, symbol: str, t0: int, t1: int) -> list[tuple[int, float]]:
        """Shifted (time, rate) of funding events with t0 <= time < t1, ascending."""
        sd = self.data.symbols[symbol]
        if t1 <= t0 or not len(sd.funding_times):
            return []
        c = self.clock
        rel = sd.funding_times - c.window_start  # within [0, L)
        out: list[tuple[int, float]] = []
        m0 = (t0 - c.offset - c.window_start) // c.period
        m1 = (t1 - c.offset - c.window_start) // c.period
        for m in range(m0, m1 + 1):
            base = c.window_start + c.offset + m * c.period
            times = base + rel
            sel = (times >= t0) & (times < t1)
            out.extend(zip(times[sel].tolist(), sd.funding_rates[sel].tolist(), strict=True))
        return out

    def next_funding(self, symbol: str, now: int) -> tuple[int, float]:
        ev = self.funding_events(symbol, now + 1, now + 1 + DAY_MS)
        if ev:
            return ev[0]
        return now - now % (8 * 3_600_000) + 8 * 3_600_000, 0.0001
