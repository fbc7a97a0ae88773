"""Futures library of the project's strategies: ``risk`` (pure risk math), ``features``
(causal pandas features), ``data`` and ``manager`` (freqtrade adapters)."""
