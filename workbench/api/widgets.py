"""The ipywidgets views: thin forms and browsers over the functions of the package."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.widgets.backtests import BacktestExplorer
    from workbench.widgets.bots import BotForm
    from workbench.widgets.jobs import JobDashboard
    from workbench.widgets.trades import TradeBrowser


def bot_form() -> BotForm:
    """The bot configuration form."""
    from workbench.widgets.bots import BotForm

    return BotForm()


def trade_browser() -> TradeBrowser:
    """The trade browser: filters, pages, totals, equity and PnL per day."""
    from workbench.widgets.trades import TradeBrowser

    return TradeBrowser()


def backtest_explorer() -> BacktestExplorer:
    """The backtest explorer: run, sweep, save and compare backtests."""
    from workbench.widgets.backtests import BacktestExplorer

    return BacktestExplorer()


def job_dashboard() -> JobDashboard:
    """The job dashboard: schedules, run now, recent runs and their outputs."""
    from workbench.widgets.jobs import JobDashboard

    return JobDashboard()
