"""The notebook-facing API: short calls that return DataFrames, results, figures and widgets.

>>> import workbench as wb
>>> wb.init()                      # database ready (wb.init(sample=True): a sample market)
>>> df = wb.candles()              # the first stored market, or wb.candles("BTC/USDT", "5m")
>>> result = wb.run_backtest(df, strategy="ema_cross", ema_fast=9, ema_slow=21)
>>> result.stats(); result.figure()
>>> table = wb.run_sweep(df, ema_fast=range(5, 30, 5), ema_slow=range(20, 80, 10))
>>> wb.plot_heatmap(table, "ema_fast", "ema_slow")
>>> wb.list_bots(); wb.list_trades(); wb.list_runs()
>>> wb.bot_form()                  # the widgets: bot_form, trade_browser, backtest_explorer,
...                                # job_dashboard

Everything uses the settings of this process (``WORKBENCH_HOME``, ``WORKBENCH_DATABASE_URL``).
"""

from workbench.api.bots import (
    create_bot,
    daily_report,
    job_bot,
    list_bots,
    list_events,
    list_trades,
    plot_tick,
    replay,
    sample_trades,
    tick,
)
from workbench.api.data import candles, connect, init, list_markets, plot_candles
from workbench.api.jobs import list_runs, run_notebook
from workbench.api.research import (
    check_strategy,
    compare_backtests,
    list_backtests,
    list_strategies,
    plot_heatmap,
    plot_signals,
    run_backtest,
    run_sweep,
    save_backtest,
    save_strategy,
    signals,
)
from workbench.api.widgets import backtest_explorer, bot_form, job_dashboard, trade_browser

__all__ = [
    "backtest_explorer",
    "bot_form",
    "candles",
    "check_strategy",
    "compare_backtests",
    "connect",
    "create_bot",
    "daily_report",
    "init",
    "job_bot",
    "job_dashboard",
    "list_backtests",
    "list_bots",
    "list_events",
    "list_markets",
    "list_runs",
    "list_strategies",
    "list_trades",
    "plot_candles",
    "plot_heatmap",
    "plot_signals",
    "plot_tick",
    "replay",
    "run_backtest",
    "run_notebook",
    "run_sweep",
    "sample_trades",
    "save_backtest",
    "save_strategy",
    "signals",
    "tick",
    "trade_browser",
]
