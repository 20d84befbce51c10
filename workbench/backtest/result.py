"""What a backtest produces: stats, equity, drawdown and trades, as DataFrames and figures."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench.analytics import return_stats, trade_stats
from workbench.rules import engine as e
from workbench.rules.params import RuleParams
from workbench.rules.simulate import F_BAR, F_FEE, F_PNL, F_PRICE, F_QTY, F_REASON, F_SIDE

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


def trades_from_fills(fills: np.ndarray, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Round trips (long: buy then sell) from the engine's fills; an open one has no exit.

    Fills alternate entry, exit, entry, ... (the engine enters only when flat)."""
    entries = fills[fills[:, F_SIDE] == e.ENTER]
    exits = fills[fills[:, F_SIDE] == e.EXIT]
    closed = len(exits)
    opened = entries[closed:]
    entries = entries[:closed]
    frame = pd.DataFrame(
        {
            "entry_time": index[entries[:, F_BAR].astype(np.int64)],
            "exit_time": index[exits[:, F_BAR].astype(np.int64)],
            "side": "long",
            "entry_price": entries[:, F_PRICE],
            "exit_price": exits[:, F_PRICE],
            "size": entries[:, F_QTY],
            "fees": entries[:, F_FEE] + exits[:, F_FEE],
            "pnl": exits[:, F_PNL],
            "exit_reason": np.array(e.REASONS, dtype=object)[exits[:, F_REASON].astype(np.int64)],
        }
    )
    if len(opened):
        row = opened[0]
        frame.loc[len(frame)] = {
            "entry_time": index[int(row[F_BAR])],
            "exit_time": pd.NaT,
            "side": "long",
            "entry_price": row[F_PRICE],
            "exit_price": math.nan,
            "size": row[F_QTY],
            "fees": row[F_FEE],
            "pnl": math.nan,
            "exit_reason": "open",
        }
    return frame[TRADE_COLUMNS]


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
        return self.trades[self.trades["exit_reason"] != "open"]

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
            **trade_stats(self.trades),
            "sharpe_ratio": returns["sharpe_ratio"],
            "sortino_ratio": returns["sortino_ratio"],
            "annualized_volatility": returns["annualized_volatility"],
            "cagr": returns["cagr"],
            "rules": rules_summary(self.rules),
        }

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
