"""vectorbt-style backtests and sweeps over stored candles, with results saved and plotted."""

from workbench.backtest.result import BacktestResult
from workbench.backtest.runner import (
    backtest_config,
    run_backtest,
    run_sweep,
    sweep_config,
    sweep_heatmap,
)
from workbench.backtest.store import compare_backtests, save_backtest, save_best_of_sweep

__all__ = [
    "BacktestResult",
    "backtest_config",
    "compare_backtests",
    "run_backtest",
    "run_sweep",
    "save_backtest",
    "save_best_of_sweep",
    "sweep_config",
    "sweep_heatmap",
]
