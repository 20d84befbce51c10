"""workbench: a Jupyter-centred research and trading workbench for crypto bots.

The notebook-facing API is re-exported here as it grows (``import workbench as wb``).
"""

import sys
from types import ModuleType

from workbench.errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
    OperationalError,
    RejectedError,
    TemporaryError,
    ValidationError,
    WorkbenchError,
)

__version__ = "0.1.0"

# The notebook API (workbench.api), loaded on first use so the CLI starts fast.
API = (
    "backtest",
    "backtest_explorer",
    "backtests",
    "bot_form",
    "bots",
    "candles",
    "check_strategy",
    "compare",
    "create_bot",
    "daily_report",
    "events",
    "heatmap",
    "init",
    "connect",
    "job_bot",
    "job_dashboard",
    "markets",
    "plot_candles",
    "plot_signals",
    "replay",
    "run",
    "runs",
    "sample_trades",
    "save",
    "save_strategy",
    "signals",
    "strategies",
    "sweep",
    "tick",
    "tick_figure",
    "trade_browser",
    "trades",
)


# Writing a strategy (``@wb.strategy``, ``wb.Int``...): from workbench.strategies, without
# the notebook API's plotting imports (strategy files import these).
STRATEGY_API = ("Bool", "Choice", "Float", "Int", "Signals", "strategy")


class _Package(ModuleType):
    """``wb.bots()`` and ``wb.backtest()`` share their names with subpackages; importing a
    subpackage would rebind the name to it, so that one binding is skipped (the subpackage
    stays importable: ``from workbench.bots import ...``)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in API and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> object:
    if name in ("Settings", "get_settings"):  # pydantic-settings, loaded on first use
        from workbench import settings

        return getattr(settings, name)
    if name in API:
        from workbench import api

        return getattr(api, name)
    if name in STRATEGY_API:
        import importlib

        return getattr(importlib.import_module("workbench.strategies"), name)
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *API, *STRATEGY_API, "Settings", "get_settings"])


__all__ = [
    *API,
    *STRATEGY_API,
    "ConfigError",
    "ConflictError",
    "NotFoundError",
    "OperationalError",
    "RejectedError",
    "Settings",
    "TemporaryError",
    "ValidationError",
    "WorkbenchError",
    "__version__",
    "get_settings",
]
