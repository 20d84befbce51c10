"""Trade statistics from round trips in the backtest's trade columns (pnl, fees, exit_reason).

One definition everywhere: a trade is a closed round trip; a position still open at the end
is reported as ``open_trades``, never counted in ``total_trades``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

OPEN = "open"


def trade_stats(trades: pd.DataFrame) -> dict[str, Any]:
    """Count, win rate, profit factor, fees and exit reasons of ``trades``."""
    closed = trades[trades["exit_reason"] != OPEN]
    pnl = closed["pnl"].astype("float64")
    wins = int((pnl > 0).sum())
    losses = float(-pnl[pnl < 0].sum())
    return {
        "total_trades": len(closed),
        "open_trades": len(trades) - len(closed),
        "win_rate": wins / len(closed) if len(closed) else None,
        "profit_factor": float(pnl[pnl > 0].sum()) / losses if losses > 0 else None,
        "fees_paid": float(trades["fees"].astype("float64").sum()),
        "exit_reasons": {str(k): int(v) for k, v in closed["exit_reason"].value_counts().items()},
    }
