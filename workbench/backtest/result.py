"""What a backtest produces: stats, equity, drawdown and trades, as DataFrames and figures."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import vectorbt  # noqa: F401  (registers the .vbt accessors used for return statistics)

from workbench.rules import engine as e
from workbench.rules.params import RuleParams
from workbench.rules.simulate import F_BAR, F_FEE, F_PNL, F_PRICE, F_QTY, F_REASON, F_SIDE

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
    """Round trips (long: buy then sell) from the engine's fills; an open one has no exit."""
    rows: list[dict[str, Any]] = []
    entry: np.ndarray | None = None
    for fill in fills:
        if fill[F_SIDE] == e.ENTER:
            entry = fill
        elif entry is not None:
            rows.append(
                {
                    "entry_time": index[int(entry[F_BAR])],
                    "exit_time": index[int(fill[F_BAR])],
                    "side": "long",
                    "entry_price": entry[F_PRICE],
                    "exit_price": fill[F_PRICE],
                    "size": entry[F_QTY],
                    "fees": entry[F_FEE] + fill[F_FEE],
                    "pnl": fill[F_PNL],
                    "exit_reason": e.REASONS[int(fill[F_REASON])],
                }
            )
            entry = None
    if entry is not None:
        rows.append(
            {
                "entry_time": index[int(entry[F_BAR])],
                "exit_time": pd.NaT,
                "side": "long",
                "entry_price": entry[F_PRICE],
                "exit_price": math.nan,
                "size": entry[F_QTY],
                "fees": entry[F_FEE],
                "pnl": math.nan,
                "exit_reason": "open",
            }
        )
    return pd.DataFrame(rows, columns=TRADE_COLUMNS)


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
        """Headline figures, plus vectorbt's return statistics of the equity curve."""
        initial = self.rules.initial_capital
        final = float(self.equity.iloc[-1]) if len(self.equity) else initial
        closed = self.closed_trades
        wins = closed[closed["pnl"] > 0]
        bar = (
            pd.Timedelta(int(np.median(np.diff(self.equity.index.asi8))), unit="ns")
            if len(self.equity) > 2
            else pd.Timedelta(days=1)
        )
        returns = self.equity.pct_change().fillna(0.0)
        accessor = returns.vbt.returns(freq=bar)
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
            "sharpe_ratio": _finite(accessor.sharpe_ratio()),
            "sortino_ratio": _finite(accessor.sortino_ratio()),
            "annualized_volatility": _finite(accessor.annualized_volatility()),
        }
        return out

    def figure(self) -> go.Figure:
        """Equity (with entries and exits) over drawdown, one figure."""
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
