"""The live bot's decision: the last closed bar only, the same signals as the backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.strategies.reference import PARAMS
from workbench.errors import ValidationError
from workbench.strategies import STRATEGIES, explain_tick, get_strategy, last_closed_signal

FIVE = pd.Timedelta(minutes=5)


def test_the_open_bar_is_ignored(eth: pd.DataFrame) -> None:
    now = eth.index[-1] + pd.Timedelta(minutes=2)  # the last row is still open
    decision = last_closed_signal(eth, "ema_cross", PARAMS["ema_cross"], now)
    assert decision.bar_time == eth.index[-2] and decision.closed_at == eth.index[-1]
    assert decision.open_bars_ignored == 1
    closed = get_strategy("ema_cross").signals(eth.iloc[:-1], **PARAMS["ema_cross"])
    assert decision.indicators["ema_9"] == closed.indicators["ema_9"].iloc[-1]
    assert decision.indicators["close"] == eth["close"].iloc[-2]
    # Whatever the open bar does, the decision is the same.
    wild = eth.copy()
    wild.iloc[-1, :4] *= 10.0
    assert last_closed_signal(wild, "ema_cross", PARAMS["ema_cross"], now) == decision
    # Once its time is up (open time + 5m <= now), the last bar is closed and counts.
    done = last_closed_signal(eth, "ema_cross", PARAMS["ema_cross"], eth.index[-1] + FIVE)
    assert done.bar_time == eth.index[-1] and done.open_bars_ignored == 0


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_decisions_replay_the_backtest_signals(eth: pd.DataFrame, name: str) -> None:
    """A bot ticking through history (each tick sees one open bar) decides what the
    backtest's signals say, bar for bar."""
    strategy, params = get_strategy(name), PARAMS[name]
    full = strategy.signals(eth, **params)
    fired = np.flatnonzero(full.entries | full.exits)
    bars = sorted({*fired[:15].tolist(), *range(300, 340)})
    for t in bars:
        now = eth.index[t + 1] + pd.Timedelta(seconds=30)
        decision = last_closed_signal(eth.iloc[: t + 2], name, params, now, timeframe="5m")
        expected = "exit" if full.exits.iloc[t] else "enter" if full.entries.iloc[t] else "hold"
        assert decision.action == expected, t
        assert decision.bar_time == eth.index[t]
        assert decision.indicators == {
            **{k: float(v) for k, v in full.indicators.iloc[t].items()},
            "close": float(eth["close"].iloc[t]),
        }
        assert decision.reason and "n/a" not in decision.reason


def test_reasons_say_why(eth: pd.DataFrame) -> None:
    full = get_strategy("ema_cross").signals(eth, **PARAMS["ema_cross"])
    t_in, t_out = np.flatnonzero(full.entries)[0], np.flatnonzero(full.exits)[0]

    def at(t: int, name: str = "ema_cross") -> str:
        candles = eth.iloc[: t + 1]
        return last_closed_signal(candles, name, PARAMS[name], eth.index[t] + FIVE).reason

    assert at(t_in).startswith("EMA(9) crossed above EMA(21)")
    assert at(t_out).startswith("EMA(9) crossed below EMA(21)")
    assert at(t_in + 1).startswith("no cross: EMA(9) stays above EMA(21)")
    rsi = get_strategy("rsi").signals(eth, **PARAMS["rsi"])
    assert "rose through oversold 30" in at(np.flatnonzero(rsi.entries)[0], "rsi")
    assert "rose above overbought 70" in at(np.flatnonzero(rsi.exits)[0], "rsi")
    ema_rsi = get_strategy("ema_rsi").signals(eth, **PARAMS["ema_rsi"])
    entry = at(np.flatnonzero(ema_rsi.entries)[0], "ema_rsi")
    assert "rose through oversold 35" in entry and "above EMA(50)" in entry
    warm = last_closed_signal(eth.iloc[:10], "rsi", None, eth.index[9] + FIVE)
    assert warm.action == "hold" and warm.reason.startswith("warming up")


def test_bar_length_and_clock(eth: pd.DataFrame) -> None:
    now = eth.index[-1] + pd.Timedelta(minutes=3)
    inferred = last_closed_signal(eth, "rsi", None, now)
    assert last_closed_signal(eth, "rsi", None, now, timeframe="5m") == inferred
    hourly = last_closed_signal(eth, "rsi", None, now, timeframe="1h")
    assert hourly.open_bars_ignored == 12  # bars of an hour opened in the last hour
    assert last_closed_signal(eth, "rsi").open_bars_ignored == 0  # default: the clock now
    naive = now.tz_convert(None).to_pydatetime()  # a naive moment is taken as UTC
    assert last_closed_signal(eth, "rsi", None, naive) == inferred
    with pytest.raises(ValidationError, match="no bar has closed"):
        last_closed_signal(eth, "rsi", None, eth.index[0] + pd.Timedelta(minutes=4))
    with pytest.raises(ValidationError, match="fewer than two bars"):
        last_closed_signal(eth.iloc[:1], "rsi", None, eth.index[0] + FIVE)
    with pytest.raises(ValidationError, match="tz-aware"):
        last_closed_signal(eth.tz_localize(None), "rsi", None, now)
    with pytest.raises(ValidationError, match="less than ema_slow"):
        last_closed_signal(eth, "ema_cross", {"ema_fast": 30, "ema_slow": 20}, now)


def test_the_tick_says_why_on_its_last_bar(eth: pd.DataFrame) -> None:
    """What the live tick adds to its result and event: the strategy's own sentence."""
    strategy = get_strategy("ema_cross")
    config = {"strategy": "ema_cross", **PARAMS["ema_cross"]}
    full = strategy.signals(eth, **PARAMS["ema_cross"])
    entry = int(np.flatnonzero(full.entries)[0])
    candles = eth.iloc[: entry + 1]
    signals = strategy.signals(candles, **PARAMS["ema_cross"])
    said = explain_tick("", strategy, config, signals, candles)
    decision = last_closed_signal(
        candles, "ema_cross", PARAMS["ema_cross"], eth.index[entry] + FIVE
    )
    assert said == f"strategy says enter: {decision.reason}"
    assert "EMA(9) crossed above EMA(21)" in said
    later = explain_tick("entry dropped", strategy, config, signals, candles)
    assert later == f"entry dropped; {said}"
    warm = eth.iloc[:5]
    early = explain_tick("", strategy, config, strategy.signals(warm, **PARAMS["ema_cross"]), warm)
    assert early.startswith("strategy says hold: warming up")
