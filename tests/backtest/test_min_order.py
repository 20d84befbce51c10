"""An account wiped out by liquidations opens nothing below the smallest order, and its
stats say so (it used to trade dust down to 1e-51)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import workbench as wb
from workbench.market.candles import read_file

MARKET = {"exchange": "binance", "symbol": "XRP/USDT:USDT", "timeframe": "5m"}


def test_a_wiped_out_account_trades_no_dust(shared_data: Path) -> None:
    frame = read_file(shared_data / "XRP_USDT-USDT-5m-futures.csv", "5m")
    result = wb.run_backtest(
        frame,
        **MARKET,
        ema_fast=5,
        ema_slow=13,
        position_type="futures",
        leverage=125,
        position_size_perc=100,
        max_daily_trades=1000,
    )
    stats = result.stats()
    trades = result.trades
    assert "liquidation" in trades["exit_reason"].tolist()
    smallest = stats["rules"]["min_order"]
    assert smallest == 1000 * 1e-4
    assert stats["wiped_out"] is True and stats["final_value"] < smallest
    notional = trades["size"] * trades["entry_price"]
    assert (notional >= smallest).all(), notional.min()
    last_entry = pd.Timestamp(trades["entry_time"].max())
    assert result.equity[result.equity.index > last_entry].min() >= 0.0
    healthy = wb.run_backtest(
        frame.iloc[:300], **MARKET, ema_fast=5, ema_slow=13, position_type="futures"
    ).stats()
    assert healthy["wiped_out"] is False
