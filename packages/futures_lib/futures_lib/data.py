"""Futures data through freqtrade's data provider, shared by the project's strategies.

Funding-rate candles reach a strategy as informative pairs, so backtests and live bots
compute the same signal. The timeframe follows the exchange's options (freqtrade reads 1h
funding by default; backtests on 8h files set ``_ft_has_params``). Protections come from the
bot configuration.
"""

from __future__ import annotations

from typing import Any

from freqtrade.enums import CandleType
from pandas import DataFrame

from futures_lib import features as ff
from futures_lib import risk


class FuturesDataMixin:
    """Mixed into an IStrategy: needs ``self.dp`` and ``self.config``."""

    dp: Any
    config: dict[str, Any]

    @property
    def protections(self) -> list[dict[str, Any]]:
        # The deployment renders protections into the bot config (freqtrade refuses a
        # top-level `protections` key there), so each bot's inventory decides them.
        return list(self.config.get("deploy_protections", []))

    def _funding_tf(self) -> str:
        try:
            timeframe: str = self.dp.get_funding_rate_timeframe()
            return timeframe
        except Exception:
            return "8h"

    def futures_informative_pairs(self) -> list[tuple[str, str, CandleType]]:
        pairs = self.dp.current_whitelist() if self.dp else []
        return [(pair, self._funding_tf(), CandleType.FUNDING_RATE) for pair in pairs]

    def merge_futures_data(self, dataframe: DataFrame, pair: str) -> None:
        """Add funding_rate and funding_bias, with no look-ahead."""
        funding = self.dp.get_pair_dataframe(pair, self._funding_tf(), CandleType.FUNDING_RATE)
        ff.merge_funding(dataframe, funding)
        dataframe["funding_bias"] = risk.classify_funding_array(
            dataframe["funding_rate"].to_numpy()
        )
