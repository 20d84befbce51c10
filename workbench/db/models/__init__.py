"""All ORM models; importing this module registers every table on ``Base.metadata``."""

from workbench.db.models.accounts import ApiKey, User
from workbench.db.models.backtests import Backtest
from workbench.db.models.bots import BotConfig, BotEvent, BotState
from workbench.db.models.drift import BotDrift
from workbench.db.models.jobs import JobRun, JobSchedule, MissedRuns, RunStatus
from workbench.db.models.market import Candle, CandleSeries
from workbench.db.models.notify import Alert, Notifier
from workbench.db.models.paper import PaperAccount, PaperBalance, PaperOrder, PaperPosition
from workbench.db.models.trades import Trade
from workbench.types import MarketType, Side  # the vocabulary of these rows

__all__ = [
    "Alert",
    "ApiKey",
    "Backtest",
    "BotConfig",
    "BotDrift",
    "BotEvent",
    "BotState",
    "Candle",
    "CandleSeries",
    "JobRun",
    "JobSchedule",
    "MarketType",
    "MissedRuns",
    "Notifier",
    "PaperAccount",
    "PaperBalance",
    "PaperOrder",
    "PaperPosition",
    "RunStatus",
    "Side",
    "Trade",
    "User",
]
