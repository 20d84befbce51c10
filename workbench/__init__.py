"""workbench: a Jupyter-centred research and trading workbench for crypto bots.

The notebook API (``import workbench as wb``), re-exported here by name. Names group
under tab completion: ``wb.list_*`` (bots, backtests, runs, trades, events, markets,
strategies), ``wb.run_*`` (backtest, sweep, notebook), ``wb.save_*``, ``wb.plot_*``; the
widgets (``wb.bot_form()``...), the strategy API (``@wb.strategy``, ``wb.Int``...) and
every error class (``wb.ValidationError``...).

Importing ``workbench`` is cheap: the API's modules (pandas, plotly...) load on first use
of one of its names, so the CLI starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from workbench.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    NotFoundError,
    OperationalError,
    OrderRejectedError,
    RejectedError,
    TemporaryError,
    ValidationError,
    WorkbenchError,
)

if TYPE_CHECKING:
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
    from workbench.settings import Settings, get_settings
    from workbench.strategies import Bool, Choice, Float, Int, Signals, strategy

    # the short names (see ALIASES)
    backtests = list_backtests
    compare = compare_backtests
    events = list_events
    heatmap = plot_heatmap
    markets = list_markets
    run = run_notebook
    runs = list_runs
    save = save_backtest
    sweep = run_sweep
    tick_figure = plot_tick
    trades = list_trades

__version__ = "0.1.0"

# Where each public name lives; loaded on first use (PEP 562).
_HOMES = {
    "workbench.api": (
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
    ),
    # writing a strategy: without the notebook API's plotting imports (strategy files)
    "workbench.strategies": ("Bool", "Choice", "Float", "Int", "Signals", "strategy"),
    "workbench.settings": ("Settings", "get_settings"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

# Short names kept where they name no subpackage (``backtest``, ``bots`` and
# ``strategies`` are subpackages: use run_backtest, list_bots, list_strategies).
ALIASES = {
    "backtests": "list_backtests",
    "compare": "compare_backtests",
    "events": "list_events",
    "heatmap": "plot_heatmap",
    "markets": "list_markets",
    "run": "run_notebook",
    "runs": "list_runs",
    "save": "save_backtest",
    "sweep": "run_sweep",
    "tick_figure": "plot_tick",
    "trades": "list_trades",
}


def __getattr__(name: str) -> object:
    target = ALIASES.get(name, name)
    home = _HOME_OF.get(target)
    if home is None:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), target)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME_OF, *ALIASES})


__all__ = [
    "AuthenticationError",
    "Bool",
    "Choice",
    "ConfigError",
    "ConflictError",
    "Float",
    "Int",
    "NotFoundError",
    "OperationalError",
    "OrderRejectedError",
    "RejectedError",
    "Settings",
    "Signals",
    "TemporaryError",
    "ValidationError",
    "WorkbenchError",
    "__version__",
    "backtest_explorer",
    "backtests",
    "bot_form",
    "candles",
    "check_strategy",
    "compare",
    "compare_backtests",
    "connect",
    "create_bot",
    "daily_report",
    "events",
    "get_settings",
    "heatmap",
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
    "markets",
    "plot_candles",
    "plot_heatmap",
    "plot_signals",
    "plot_tick",
    "replay",
    "run",
    "run_backtest",
    "run_notebook",
    "run_sweep",
    "runs",
    "sample_trades",
    "save",
    "save_backtest",
    "save_strategy",
    "signals",
    "strategy",
    "sweep",
    "tick",
    "tick_figure",
    "trade_browser",
    "trades",
]
