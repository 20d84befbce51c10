"""A second engine agrees: the plain EMA cross run by backtesting.py over the real candles
makes the same trades and ends with the same equity as the workbench."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy

from workbench.backtest import run_backtest
from workbench.market.candles import read_file
from workbench.rules import RuleParams
from workbench.strategies import indicators as ind

CASH, FEE = 10_000_000, 0.001


def ema_cross_strategy(fast: int, slow: int) -> type[Strategy]:
    class EmaCross(Strategy):
        def init(self) -> None:
            close = np.asarray(self.data.Close, dtype=float)
            self.fast = self.I(ind.ema, close, fast)
            self.slow = self.I(ind.ema, close, slow)

        def next(self) -> None:
            if len(self.data) - 1 < slow:  # the same warm-up as the workbench
                return
            f, s = self.fast, self.slow
            if f[-1] > s[-1] and f[-2] <= s[-2] and not self.position:
                self.buy()
            elif f[-1] < s[-1] and f[-2] >= s[-2] and self.position:
                self.position.close()

    return EmaCross


@pytest.mark.parametrize(
    ("name", "fast", "slow"),
    [("ETH_BTC-5m.csv", 9, 21), ("ADA_BTC-5m.csv", 12, 26), ("UNITTEST_BTC-1m.csv", 5, 34)],
)
def test_backtesting_py_agrees(shared_data: Path, name: str, fast: int, slow: int) -> None:
    candles = read_file(shared_data / name)
    frame = candles.rename(columns=str.capitalize)
    frame.index = frame.index.tz_localize(None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its progress bar and pandas notices
        stats = Backtest(
            frame, ema_cross_strategy(fast, slow), cash=CASH, commission=FEE, finalize_trades=False
        ).run()
    ours = run_backtest(
        candles,
        strategy="ema_cross",
        params={"ema_fast": fast, "ema_slow": slow},
        rules=RuleParams(initial_capital=CASH, fee=FEE),
    )
    theirs = stats["_trades"].sort_values("EntryBar")
    closed = ours.closed_trades
    position = {t: i for i, t in enumerate(candles.index)}
    assert len(closed) == len(theirs) > 20
    assert [position[t] for t in closed["entry_time"]] == theirs["EntryBar"].tolist()
    assert [position[t] for t in closed["exit_time"]] == theirs["ExitBar"].tolist()
    np.testing.assert_allclose(closed["entry_price"], theirs["EntryPrice"], rtol=1e-12)
    # backtesting.py buys whole units; with this much cash that is below a part per million.
    assert ours.equity.iloc[-1] == pytest.approx(stats["Equity Final [$]"], rel=1e-6)
    assert isinstance(stats["_equity_curve"], pd.DataFrame)
