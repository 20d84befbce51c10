"""The seed's custom_stop_loss / custom_take_profit / custom_trailing_stop override the
risk fields in backtests and ticks (both read RuleParams.from_config); fees and slippage
are bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.backtest import backtest_config
from workbench.backtest.configs import free_config
from workbench.errors import ValidationError
from workbench.market.candles import read_file
from workbench.rules import RuleParams

MARKET = {"exchange": "binance", "symbol": "ETH/BTC", "timeframe": "5m", "strategy": "ema_cross"}


def config(**fields: object) -> object:
    return free_config(**MARKET, fields={"ema_fast": 9, "ema_slow": 21, **fields})


def test_custom_risk_fields_override_and_change_the_backtest(shared_data: Path) -> None:
    candles = read_file(shared_data / "ETH_BTC-5m.csv").iloc[:3000]
    base = config(stop_loss_perc="3", take_profit_perc="4")
    custom = config(
        stop_loss_perc="3", take_profit_perc="4", custom_stop_loss="0.5",
        custom_take_profit="0.8", custom_trailing_stop="0.4",
    )  # fmt: skip
    same = config(stop_loss_perc="0.5", take_profit_perc="0.8",
                  trailing_stop_perc="0.4", trailing_stop_active=True)  # fmt: skip
    rules = RuleParams.from_config(custom)
    assert (rules.stop_loss, rules.take_profit, rules.trailing_stop) == pytest.approx(
        (0.005, 0.008, 0.004)
    )
    assert rules == RuleParams.from_config(same)
    got, expected = backtest_config(candles, custom), backtest_config(candles, same)
    assert got.trades.equals(expected.trades)
    reasons = set(got.trades["exit_reason"])
    assert reasons & {"stop_loss", "take_profit", "trailing_stop"}
    assert not backtest_config(candles, base).trades.equals(got.trades)


@pytest.mark.parametrize(("fee", "slippage"), [(-0.01, 0.0), (5.0, 0.0), (0.001, 2.0)])
def test_fees_and_slippage_are_bounded(fee: float, slippage: float) -> None:
    with pytest.raises(ValidationError, match=r"between 0 and 0\.1 per fill"):
        RuleParams(fee=fee, slippage=slippage)
