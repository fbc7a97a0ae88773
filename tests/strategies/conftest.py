"""Fixtures for the strategy tests; the helpers live in strat_helpers.py (a unique module name:
several test folders of the repository have a conftest.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from strat_helpers import PAIRS, load


@pytest.fixture(scope="session")
def candles() -> dict[str, pd.DataFrame]:
    return {p: load(p, "4h-futures") for p in PAIRS}


@pytest.fixture(scope="session")
def strategy_classes() -> dict[str, type]:
    from FuturesAIRiskStrategy import FuturesAIRiskStrategy
    from RossCameronFuturesStrategy import RossCameronFuturesStrategy

    return {
        "RossCameronFuturesStrategy": RossCameronFuturesStrategy,
        "FuturesAIRiskStrategy": FuturesAIRiskStrategy,
    }
