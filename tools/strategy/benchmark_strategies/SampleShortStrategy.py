"""freqtrade's own sample strategy (freqtrade/templates/sample_strategy.py) with shorts
enabled: the reference the project's strategies are compared with. Leverage 1x (freqtrade's
default ``leverage()``), stake from the config, on 15m candles (the sample's own is 5m, which
the data set does not have)."""

from freqtrade.templates.sample_strategy import SampleStrategy


class SampleShortStrategy(SampleStrategy):
    can_short: bool = True
    timeframe = "15m"
