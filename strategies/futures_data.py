"""Futures data through freqtrade's data provider, shared by the project's strategies.

Funding-rate and mark-price candles reach a strategy as informative pairs, so backtests
and live bots compute the same signal. The timeframes follow the exchange's options
(freqtrade reads 1h mark/funding by default; backtests on 8h files set
``_ft_has_params``). Protections come from the bot configuration.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from freqtrade.enums import CandleType
from pandas import DataFrame

# freqtrade imports every file of the strategy folder by path, in any order.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.append(_HERE)

import futures_features as ff  # noqa: E402
import futures_risk as risk  # noqa: E402


class FuturesDataMixin:
    """Mixed into an IStrategy: needs ``self.dp`` and ``self.config``."""

    dp: Any
    config: dict

    @property
    def protections(self) -> list[dict]:
        # The deployment renders protections into the bot config (freqtrade refuses a
        # top-level `protections` key there), so each bot's inventory decides them.
        return list(self.config.get("deploy_protections", []))

    def _mark_tf(self) -> str:
        ex = getattr(self.dp, "_exchange", None) if self.dp else None
        return ex.get_option("mark_ohlcv_timeframe") if ex is not None else "8h"

    def _funding_tf(self) -> str:
        try:
            return self.dp.get_funding_rate_timeframe()
        except Exception:
            return "8h"

    def futures_informative_pairs(self) -> list[tuple[str, str, CandleType]]:
        pairs = self.dp.current_whitelist() if self.dp else []
        ff_tf, mark_tf = self._funding_tf(), self._mark_tf()
        out = []
        for pair in pairs:
            out.append((pair, ff_tf, CandleType.FUNDING_RATE))
            out.append((pair, mark_tf, CandleType.MARK))
        return out

    def merge_futures_data(self, dataframe: DataFrame, pair: str) -> None:
        """Add funding_rate, mark columns and funding_bias, with no look-ahead."""
        funding = self.dp.get_pair_dataframe(pair, self._funding_tf(), CandleType.FUNDING_RATE)
        mark = self.dp.get_pair_dataframe(pair, self._mark_tf(), CandleType.MARK)
        ff.merge_funding(dataframe, funding)
        ff.merge_mark(dataframe, mark, self._mark_tf())
        dataframe["funding_bias"] = risk.classify_funding_array(
            dataframe["funding_rate"].to_numpy()
        )
