"""What a backtest produces: stats, equity, drawdown and trades, as DataFrames and figures."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench.analytics import return_stats, round_trip_stats
from workbench.analytics.trades import OPEN
from workbench.rules import engine as e
from workbench.rules.params import RuleParams
from workbench.rules.simulate import F_BAR, F_FEE, F_PNL, F_PRICE, F_QTY, F_REASON

if TYPE_CHECKING:
    import plotly.graph_objects as go

UNLIMITED_DAILY_TRADES = 1_000_000  # RuleParams' default: no cap

TRADE_COLUMNS = [
    "entry_time",
    "exit_time",
    "side",
    "entry_price",
    "exit_price",
    "size",
    "fees",
    "pnl",
    "exit_reason",
]


# Exit reasons by the engine's reason code, and "open" (a position still held) after them.
EXIT_REASONS = (*e.REASONS, OPEN)
R_OPEN = len(e.REASONS)
_EXIT_REASONS = pd.array(EXIT_REASONS, dtype="str")
_LONG = pd.array(["long"], dtype="str")


def round_trips(fills: np.ndarray) -> dict[str, np.ndarray]:
    """The trade table's columns as new arrays, from the engine's fills: times as bar
    numbers (``entry_bar``, ``exit_bar``: -1 while open), exit reasons as positions in
    ``EXIT_REASONS``, and no side (long).

    Fills alternate entry, exit, entry, ... (the engine enters only when flat), so a last
    entry without its exit is the position still open."""
    entries, exits = fills[0::2], fills[1::2]
    closed = len(exits)

    def entry_column(column: int) -> np.ndarray:
        return np.ascontiguousarray(entries[:, column])

    def exit_column(column: int, open_value: float) -> np.ndarray:
        values = np.full(len(entries), open_value, dtype=np.float64)
        values[:closed] = exits[:, column]
        return values

    return {
        "entry_bar": entry_column(F_BAR).astype(np.int64),
        "exit_bar": exit_column(F_BAR, -1).astype(np.int64),
        "entry_price": entry_column(F_PRICE),
        "exit_price": exit_column(F_PRICE, math.nan),
        "size": entry_column(F_QTY),
        "fees": entry_column(F_FEE) + exit_column(F_FEE, 0.0),
        "pnl": exit_column(F_PNL, math.nan),
        "exit_reason": exit_column(F_REASON, R_OPEN).astype(np.int64),
    }


def trades_from_fills(fills: np.ndarray, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Round trips (long: buy then sell) from the engine's fills; an open one has no exit
    (``round_trips`` on ``index``'s times)."""
    trips = round_trips(fills)
    times = index.array
    return pd.DataFrame(
        {
            "entry_time": times.take(trips["entry_bar"]),
            "exit_time": times.take(trips["exit_bar"], allow_fill=True, fill_value=pd.NaT),
            "side": _LONG.take(np.zeros(len(trips["size"]), dtype=np.int64)),
            **{k: trips[k] for k in ("entry_price", "exit_price", "size", "fees", "pnl")},
            "exit_reason": _EXIT_REASONS.take(trips["exit_reason"]),
        },
        copy=False,  # every column a new array
    )


@dataclass
class BacktestResult:
    """A finished backtest. ``equity`` is marked at each bar's close."""

    strategy: str
    params: dict[str, Any]
    rules: RuleParams
    equity: pd.Series
    trades: pd.DataFrame
    fills: np.ndarray = field(repr=False)
    market: dict[str, str] | None = None  # exchange, symbol, timeframe, when known

    @property
    def drawdown(self) -> pd.Series:
        return self.equity / self.equity.cummax() - 1.0

    @property
    def closed_trades(self) -> pd.DataFrame:
        return self.trades[self.trades["exit_reason"] != OPEN]

    def stats(self) -> dict[str, Any]:
        """Headline figures, return and trade statistics (``workbench.analytics``) and the
        rules the run traded under."""
        initial = self.rules.initial_capital
        final = float(self.equity.iloc[-1]) if len(self.equity) else initial
        returns = return_stats(self.equity)
        return {
            "start": self.equity.index[0] if len(self.equity) else None,
            "end": self.equity.index[-1] if len(self.equity) else None,
            "bars": len(self.equity),
            "initial_capital": initial,
            "final_value": final,
            "total_return": final / initial - 1.0,
            # Below the smallest order nothing more opens: the account is done.
            "wiped_out": final < self.rules.smallest_order,
            "max_drawdown": returns["max_drawdown"],
            **self._trade_stats(),
            "sharpe_ratio": returns["sharpe_ratio"],
            "sortino_ratio": returns["sortino_ratio"],
            "annualized_volatility": returns["annualized_volatility"],
            "cagr": returns["cagr"],
            "rules": rules_summary(self.rules),
        }

    def _trade_stats(self) -> dict[str, Any]:
        """``trade_stats(self.trades)``, from the arrays the trade table is made of."""
        trips = round_trips(self.fills)
        return round_trip_stats(
            pnl=trips["pnl"], fees=trips["fees"], reasons=trips["exit_reason"], names=EXIT_REASONS
        )

    def figure(self) -> go.Figure:
        """Equity (with entries and exits) over drawdown, one figure."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        fig = make_subplots(
            rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04
        )
        fig.add_trace(go.Scatter(x=self.equity.index, y=self.equity, name="equity"), 1, 1)
        closed = self.closed_trades
        marks = self.equity.reindex(closed["entry_time"])
        fig.add_trace(
            go.Scatter(
                x=closed["entry_time"],
                y=marks,
                mode="markers",
                name="entry",
                marker_symbol="triangle-up",
            ),
            1,
            1,
        )
        marks = self.equity.reindex(closed["exit_time"])
        fig.add_trace(
            go.Scatter(
                x=closed["exit_time"],
                y=marks,
                mode="markers",
                name="exit",
                marker_symbol="triangle-down",
            ),
            1,
            1,
        )
        fig.add_trace(
            go.Scatter(x=self.drawdown.index, y=self.drawdown, name="drawdown", fill="tozeroy"),
            2,
            1,
        )
        fig.update_layout(title=f"{self.strategy} {self.params}", height=520)
        fig.update_yaxes(tickformat=".0%", row=2, col=1)
        return fig


FILL_MODE = "signals and stops on closed bars, filled at the next bar's open"


def rules_summary(rules: RuleParams) -> dict[str, Any]:
    """The rules a run traded under, in a user's terms (percent; None = off)."""

    def perc(fraction: float) -> float | None:
        return round(fraction * 100, 10) if fraction else None

    unlimited = rules.max_daily_trades >= UNLIMITED_DAILY_TRADES
    return {
        "market": "futures" if rules.futures else "spot",
        "leverage": rules.leverage,
        "position_size_perc": perc(rules.size_perc),
        "position_size_fixed": rules.size_fixed or None,
        "fee_perc": perc(rules.fee) or 0.0,
        "slippage_perc": perc(rules.slippage) or 0.0,
        "stop_loss_perc": perc(rules.stop_loss),
        "take_profit_perc": perc(rules.take_profit),
        "trailing_stop_perc": perc(rules.trailing_stop),
        "max_daily_trades": None if unlimited else int(rules.max_daily_trades),
        "max_daily_loss_perc": perc(rules.max_daily_loss),
        "daily_target_perc": perc(rules.daily_target),
        "min_order": rules.smallest_order,
        "fill": FILL_MODE,
    }
