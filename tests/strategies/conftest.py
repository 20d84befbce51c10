"""Real candles for the strategy tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from workbench.market.candles import read_file


@pytest.fixture(scope="session")
def eth(shared_data: Path) -> pd.DataFrame:
    return read_file(shared_data / "ETH_BTC-5m.csv")


@pytest.fixture(scope="session", params=["ETH_BTC-5m", "ADA_BTC-5m", "XRP_USDT-USDT-5m-futures"])
def market(request: pytest.FixtureRequest, shared_data: Path) -> pd.DataFrame:
    return read_file(shared_data / f"{request.param}.csv")
