"""The rule engine on small hand-made markets, where every fill can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.rules import RuleParams, simulate
from workbench.rules import engine as e
from workbench.rules.simulate import F_BAR, F_PNL, F_PRICE, F_QTY, F_REASON, F_SIDE

HOUR = 3_600_000


def market(
    closes: list[float],
    *,
    start_ms: int = 0,
    step_ms: int = HOUR,
    lows: dict[int, float] | None = None,
    highs: dict[int, float] | None = None,
):
    """Bars whose open is the previous close; lows/highs override single bars."""
    close = np.array(closes, dtype=float)
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close)
    low = np.minimum(open_, close)
    for i, v in (lows or {}).items():
        low[i] = v
    for i, v in (highs or {}).items():
        high[i] = v
    times = start_ms + step_ms * np.arange(len(close), dtype=np.int64)
    return times, open_, high, low, close


NO_FEES = RuleParams(fee=0.0)


def run(closes, entries_at, exits_at=(), params=NO_FEES, **kw):
    times, o, h, lo, c = market(closes, **kw)
    entries = np.zeros(len(c), dtype=bool)
    exits = np.zeros(len(c), dtype=bool)
    entries[list(entries_at)] = True
    exits[list(exits_at)] = True
    return simulate(times, o, h, lo, c, entries, exits, params.to_array())


def reasons(fills: np.ndarray) -> list[str]:
    return [e.REASONS[int(r)] for r in fills[:, F_REASON]]


def test_signal_round_trip_fills_at_next_open_with_fees() -> None:
    params = RuleParams(initial_capital=1000, fee=0.001, size_perc=0.5)
    curve, fills, state = run([100, 100, 110, 120, 120, 130], [1], [3], params)
    assert fills[:, F_BAR].tolist() == [2, 4]  # decided at close of 1 and 3, filled next open
    assert fills[:, F_PRICE].tolist() == [100, 120]
    qty = 500 / 100  # half the equity; the fee comes on top
    assert fills[0, F_QTY] == pytest.approx(qty)
    pnl = qty * 20 - qty * 120 * 0.001 - qty * 100 * 0.001
    assert fills[1, F_PNL] == pytest.approx(pnl)
    assert curve[-1] == pytest.approx(1000 + pnl)
    assert state[e.S_QTY] == 0


def test_all_in_leaves_room_for_the_fee() -> None:
    params = RuleParams(initial_capital=1000, fee=0.001, size_perc=1.0)
    _, fills, state = run([100, 100, 100], [0], params=params)
    assert fills[0, F_QTY] == pytest.approx(1000 / 1.001 / 100)
    # A part per billion stays free, so an exchange's rounding never overspends.
    assert state[e.S_CASH] == pytest.approx(1000 * 1e-9, rel=1e-3)


def test_slippage_makes_buys_dearer_and_sells_cheaper() -> None:
    params = RuleParams(fee=0.0, slippage=0.01)
    _, fills, _ = run([100, 100, 100, 100], [0], [1], params)
    assert fills[:, F_PRICE].tolist() == pytest.approx([101, 99])


def test_stop_loss_on_the_bar_low_exits_next_open() -> None:
    params = RuleParams(fee=0.0, stop_loss=0.05)
    _, fills, _ = run([100, 100, 99, 98, 97, 90], [0], params=params, lows={3: 94})
    assert reasons(fills) == ["signal", "stop_loss"]
    assert fills[1, F_BAR] == 4 and fills[1, F_PRICE] == 98


def test_take_profit_on_the_bar_high() -> None:
    params = RuleParams(fee=0.0, take_profit=0.1)
    _, fills, _ = run([100, 100, 105, 108, 107], [0], params=params, highs={3: 111})
    assert reasons(fills) == ["signal", "take_profit"]
    assert fills[1, F_BAR] == 4


def test_trailing_stop_follows_the_peak() -> None:
    params = RuleParams(fee=0.0, trailing_stop=0.1)
    # entry at 100 (bar 1); peak climbs to 150; a low of 134 is >10 % under the peak.
    _, fills, _ = run([100, 100, 120, 150, 140, 136, 130], [0], params=params, lows={5: 134})
    assert reasons(fills) == ["signal", "trailing_stop"]
    assert fills[1, F_BAR] == 6


def test_max_daily_loss_closes_and_halts_until_tomorrow() -> None:
    params = RuleParams(fee=0.0, max_daily_loss=0.05)
    closes = [100] * 2 + [90] * 10 + [90] * 14 + [91] * 4  # 30 hourly bars, day 2 from bar 24
    entries = [1, 5, 8, 25]
    _, fills, _ = run(closes, entries, params=params)
    assert reasons(fills) == ["signal", "daily_loss", "signal"]
    assert fills[1, F_BAR] == 3
    assert fills[2, F_BAR] == 26  # the next entry only on the next UTC day


def test_daily_target_stops_new_entries_for_the_day() -> None:
    params = RuleParams(fee=0.0, daily_target=0.05)
    closes = [100, 100, 110, 110, 110, 110, 110, 110] + [110] * 20
    _, fills, _ = run(closes, [0, 5], [3], params=params)
    # target reached at bar 2 (+10 %): the exit still happens, no new entry that day
    assert reasons(fills) == ["signal", "signal"]
    assert fills[:, F_SIDE].tolist() == [e.ENTER, e.EXIT]


def test_max_trades_per_day() -> None:
    params = RuleParams(fee=0.0, max_daily_trades=2)
    closes = [100.0] * 30
    entries = [0, 2, 4, 6, 25]
    exits = [1, 3, 5, 7]
    _, fills, _ = run(closes, entries, exits, params)
    entry_bars = fills[fills[:, F_SIDE] == e.ENTER][:, F_BAR].tolist()
    assert entry_bars == [1, 3, 26]


def test_futures_leverage_and_liquidation_lose_the_margin() -> None:
    params = RuleParams(fee=0.0, futures=True, leverage=10, size_perc=0.5, maint_margin=0.004)
    liq = 100 * (1 - 1 / 10 + 0.004)
    curve, fills, _ = run([100, 100, 99, 95, 96], [0], params=params, lows={3: liq - 0.01})
    assert reasons(fills) == ["signal", "liquidation"]
    assert fills[0, F_QTY] == pytest.approx(500 * 10 / 100)
    assert fills[1, F_PRICE] == pytest.approx(liq)
    assert fills[1, F_PNL] == pytest.approx(-500)
    assert curve[-1] == pytest.approx(500)


def test_futures_profit_is_leveraged() -> None:
    params = RuleParams(fee=0.0, futures=True, leverage=5, size_perc=0.2)
    curve, fills, _ = run([100, 100, 110, 110], [0], [2], params)
    assert fills[1, F_PNL] == pytest.approx(200 * 5 * 0.1)
    assert curve[-1] == pytest.approx(1100)


def test_fixed_size_in_quote() -> None:
    params = RuleParams(fee=0.0, size_perc=0.0, size_fixed=250)
    _, fills, _ = run([100, 100, 100], [0], params=params)
    assert fills[0, F_QTY] == pytest.approx(2.5)
