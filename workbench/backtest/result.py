"""What a backtest produces: stats, equity, drawdown and trades, as DataFrames and figures."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench.backtest.ratios import DAYS_PER_YEAR, return_ratios
from workbench.rules import engine as e
from workbench.rules.params import RuleParams
from workbench.rules.simulate import F_BAR, F_FEE, F_PNL, F_PRICE, F_QTY, F_REASON, F_SIDE

if TYPE_CHECKING:
    import plotly.graph_objects as go

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

    @property
    def drawdown(self) -> pd.Series:
        return self.equity / self.equity.cummax() - 1.0

    @property
    def closed_trades(self) -> pd.DataFrame:
        return self.trades[self.trades["exit_reason"] != "open"]

    def stats(self) -> dict[str, Any]:
        """Headline figures, plus return statistics of the equity curve (vectorbt's)."""
        initial = self.rules.initial_capital
        final = float(self.equity.iloc[-1]) if len(self.equity) else initial
        closed = self.closed_trades
        wins = closed[closed["pnl"] > 0]
        bar = (
            pd.Timedelta(int(np.median(np.diff(self.equity.index.asi8))), unit="ns")
            if len(self.equity) > 2
            else pd.Timedelta(days=1)
        )
        returns = self.equity.pct_change().fillna(0.0).to_numpy(dtype="float64")
        sharpe, sortino, volatility = return_ratios(returns, pd.Timedelta(days=DAYS_PER_YEAR) / bar)
        out: dict[str, Any] = {
            "start": self.equity.index[0] if len(self.equity) else None,
            "end": self.equity.index[-1] if len(self.equity) else None,
            "bars": len(self.equity),
            "initial_capital": initial,
            "final_value": final,
            "total_return": final / initial - 1.0,
            "max_drawdown": float(-self.drawdown.min()) if len(self.equity) else 0.0,
            "total_trades": len(closed),
            "win_rate": len(wins) / len(closed) if len(closed) else None,
            "profit_factor": _profit_factor(closed["pnl"]),
            "fees_paid": float(self.trades["fees"].sum()),
            "exit_reasons": closed["exit_reason"].value_counts().to_dict(),
            "sharpe_ratio": _finite(sharpe),
            "sortino_ratio": _finite(sortino),
            "annualized_volatility": _finite(volatility),
        }
        return out

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


def _profit_factor(pnl: pd.Series) -> float | None:
    losses = -pnl[pnl < 0].sum()
    return float(pnl[pnl > 0].sum() / losses) if losses > 0 else None


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
