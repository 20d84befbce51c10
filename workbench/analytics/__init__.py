"""Statistics computed once for backtests, replays and bots: returns and trades."""

from workbench.analytics.returns import (
    YEAR,
    bar_spacing,
    periods_per_year,
    return_stats,
)
from workbench.analytics.trades import round_trip_stats, trade_stats

__all__ = [
    "YEAR",
    "bar_spacing",
    "periods_per_year",
    "return_stats",
    "round_trip_stats",
    "trade_stats",
]
