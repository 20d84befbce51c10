"""ipywidgets views over the package: thin forms and browsers, tested by setting values.

``BotForm``, ``TradeBrowser``, ``BacktestExplorer``, ``JobDashboard``; in a notebook,
``wb.bot_form()`` and friends make them.
"""

from workbench.widgets.backtests import BacktestExplorer
from workbench.widgets.bots import BotForm
from workbench.widgets.jobs import JobDashboard
from workbench.widgets.trades import TradeBrowser

__all__ = ["BacktestExplorer", "BotForm", "JobDashboard", "TradeBrowser"]
