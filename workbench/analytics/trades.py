"""Trade statistics from round trips in the backtest's trade columns (pnl, fees, exit_reason).

One definition everywhere: a trade is a closed round trip; a position still open at the end
is reported as ``open_trades``, never counted in ``total_trades``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

OPEN = "open"


def trade_stats(trades: pd.DataFrame) -> dict[str, Any]:
    """Count, win rate, profit factor, fees and exit reasons of ``trades``."""
    codes, names = pd.factorize(trades["exit_reason"])  # NaN: -1
    return round_trip_stats(
        pnl=trades["pnl"].to_numpy(dtype="float64"),
        fees=trades["fees"].to_numpy(dtype="float64"),
        reasons=codes,
        names=[str(name) for name in names],
    )


def round_trip_stats(
    *, pnl: np.ndarray, fees: np.ndarray, reasons: np.ndarray, names: Sequence[str]
) -> dict[str, Any]:
    """``trade_stats`` of trades given as arrays: each one's pnl and fees, and its exit
    reason as a position in ``names`` (-1: none given); a trade whose reason is ``open``
    is still open."""
    closed = reasons != (names.index(OPEN) if OPEN in names else -2)
    total = int(closed.sum())
    pnl = pnl[closed]
    wins = int((pnl > 0).sum())
    losses = float(-pnl[pnl < 0].sum())
    return {
        "total_trades": total,
        "open_trades": len(reasons) - total,
        "win_rate": wins / total if total else None,
        "profit_factor": float(pnl[pnl > 0].sum()) / losses if losses > 0 else None,
        "fees_paid": float(np.nansum(fees)),  # as pandas sums: NaN counts as nothing
        "exit_reasons": _counted(reasons[closed], names),
    }


def _counted(codes: np.ndarray, names: Sequence[str]) -> dict[str, int]:
    """How many trades ended for each reason (``codes``: positions in ``names``), most
    first, ties in order of first appearance: as ``value_counts`` orders them."""
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    met = [code for code in range(len(names)) if counts[code]]
    met.sort(key=lambda code: (-counts[code], int(np.argmax(codes == code))))
    return {names[code]: int(counts[code]) for code in met}
