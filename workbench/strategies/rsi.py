"""rsi and ema_rsi: mean reversion on Wilder's RSI, optionally only above a trend EMA.

rsi, at bar t (closed):
    entry  RSI crosses up through oversold:   rsi[t-1] <= oversold   and rsi[t] > oversold
           (it has been oversold and is turning up; merely *being* below oversold is not
           an entry, so a falling knife does not fire on every bar)
    exit   RSI crosses up through overbought: rsi[t-1] <= overbought and rsi[t] > overbought
           (it has just become overbought: take the profit on the way up)
    warm-up: RSI exists from bar ``rsi_period``; a crossing needs the bar before, so the
    first ``rsi_period + 1`` bars never signal.  Indicators: ``rsi``.

ema_rsi: the rsi rule with a trend filter, EMA = EMA(close, ema_period):
    entry  the rsi entry fires and close[t] > EMA[t]
    exit   the rsi exit fires, or the close crosses below the EMA:
           close[t] < EMA[t] and close[t-1] >= EMA[t-1]
    warm-up: max(ema_period, rsi_period + 1) bars.  Indicators: ``ema_{ema_period}``
    (e.g. ``ema_200``), ``rsi``.

An entry and an exit on the same bar (RSI jumping from oversold to overbought at once):
the exit wins.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numba import njit

from workbench.strategies import indicators as ind
from workbench.strategies.base import Params
from workbench.strategies.define import batch_function, make_strategy
from workbench.strategies.params import Param
from workbench.strategies.text import fmt

NO_TREND = -1


@njit(cache=True, nogil=True)
def rsi_rule_rows(
    close: np.ndarray,
    rsis: np.ndarray,
    emas: np.ndarray,
    rsi_row: np.ndarray,
    ema_row: np.ndarray,
    oversold: np.ndarray,
    overbought: np.ndarray,
    warm: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Signals of every set j (sets x bars); ``ema_row[j] == -1`` means no trend filter."""
    k, n = rsi_row.shape[0], close.shape[0]
    entries = np.zeros((k, n), dtype=np.bool_)
    exits = np.zeros((k, n), dtype=np.bool_)
    for j in range(k):
        r = rsis[rsi_row[j]]
        low = oversold[j]
        high = overbought[j]
        trend = ema_row[j] != NO_TREND
        e = emas[ema_row[j]] if trend else close
        for i in range(max(1, warm[j]), n):
            enter = r[i] > low and r[i - 1] <= low
            leave = r[i] > high and r[i - 1] <= high
            if trend:
                enter = enter and close[i] > e[i]
                leave = leave or (close[i] < e[i] and close[i - 1] >= e[i - 1])
            exits[j, i] = leave
            entries[j, i] = enter and not leave
    return entries, exits


def _rows(values: set[int]) -> tuple[np.ndarray, dict[int, int]]:
    periods = np.array(sorted(values), dtype=np.int64)
    return periods, {int(p): i for i, p in enumerate(periods)}


def _batch(close: np.ndarray, sets: list[Params], trend: bool) -> tuple[np.ndarray, np.ndarray]:
    rsi_periods, rsi_at = _rows({s["rsi_period"] for s in sets})
    rsis = ind.rsi_rows(close, rsi_periods)  # each period once
    if trend:
        ema_periods, ema_at = _rows({s["ema_period"] for s in sets})
        emas = ind.ema_rows(close, ema_periods)
        ema_row = np.array([ema_at[s["ema_period"]] for s in sets], dtype=np.int64)
    else:
        emas = np.empty((0, close.shape[0]))
        ema_row = np.full(len(sets), NO_TREND, dtype=np.int64)
    return rsi_rule_rows(
        close,
        rsis,
        emas,
        np.array([rsi_at[s["rsi_period"]] for s in sets], dtype=np.int64),
        ema_row,
        np.array([s["rsi_oversold"] for s in sets], dtype=np.float64),
        np.array([s["rsi_overbought"] for s in sets], dtype=np.float64),
        np.array([(ema_rsi_warmup if trend else rsi_warmup)(s) for s in sets], dtype=np.int64),
    )


def rsi_batch(close: np.ndarray, sets: list[Params]) -> tuple[np.ndarray, np.ndarray]:
    return _batch(close, sets, trend=False)


def ema_rsi_batch(close: np.ndarray, sets: list[Params]) -> tuple[np.ndarray, np.ndarray]:
    return _batch(close, sets, trend=True)


def rsi_indicators(close: np.ndarray, p: Params) -> dict[str, np.ndarray]:
    return {"rsi": ind.rsi_rows(close, np.array([p["rsi_period"]], dtype=np.int64))[0]}


def ema_rsi_indicators(close: np.ndarray, p: Params) -> dict[str, np.ndarray]:
    trend = ind.ema_rows(close, np.array([p["ema_period"]], dtype=np.int64))[0]
    return {f"ema_{p['ema_period']}": trend, **rsi_indicators(close, p)}


def rsi_warmup(p: Params) -> int:
    return p["rsi_period"] + 1


def ema_rsi_warmup(p: Params) -> int:
    return max(p["ema_period"], p["rsi_period"] + 1)


def check(p: Params) -> dict[str, str]:
    if p["rsi_oversold"] >= p["rsi_overbought"]:
        return {
            "rsi_oversold": f"must be less than rsi_overbought ({p['rsi_overbought']}), "
            f"got {p['rsi_oversold']}"
        }
    return {}


def _rsi_move(p: Params, now: Mapping[str, float], before: Mapping[str, float]) -> str:
    return f"RSI({p['rsi_period']}) {fmt(before['rsi'])} -> {fmt(now['rsi'])}"


def rsi_explain(
    action: str, p: Params, now: Mapping[str, float], before: Mapping[str, float]
) -> str:
    move, low, high = _rsi_move(p, now, before), p["rsi_oversold"], p["rsi_overbought"]
    if action == "enter":
        return f"{move}: rose through oversold {low}"
    if action == "exit":
        return f"{move}: rose above overbought {high}"
    if now["rsi"] <= low:
        return f"{move}: oversold (<= {low}), waiting for it to turn up through {low}"
    if now["rsi"] > high:
        return f"{move}: overbought (> {high}), no new crossing"
    return f"{move}: no crossing of {low} or {high}"


def ema_rsi_explain(
    action: str, p: Params, now: Mapping[str, float], before: Mapping[str, float]
) -> str:
    move, low, high = _rsi_move(p, now, before), p["rsi_oversold"], p["rsi_overbought"]
    ema = f"ema_{p['ema_period']}"
    side = "above" if now["close"] > now[ema] else "not above"
    trend = f"close {fmt(now['close'])} {side} EMA({p['ema_period']}) {fmt(now[ema])}"
    if action == "enter":
        return f"{move}: rose through oversold {low}, with {trend}"
    if action == "exit":
        reasons = []
        if before["rsi"] <= high < now["rsi"]:
            reasons.append(f"{move}: rose above overbought {high}")
        if now["close"] < now[ema] and before["close"] >= before[ema]:
            reasons.append(f"close fell below the EMA: {trend}")
        return "; ".join(reasons)
    if before["rsi"] <= low < now["rsi"]:
        return f"{move}: rose through oversold {low}, but {trend}: no entry"
    return f"{move}: no crossing of {low} or {high}; {trend}"


RSI_PARAMS = {
    "rsi_period": Param("", 14, 2, 10_000, "bars of Wilder's RSI"),
    "rsi_oversold": Param("", 30, 1, 99, "entry level (less than rsi_overbought)"),
    "rsi_overbought": Param("", 70, 1, 99, "exit level"),
}
EMA_RSI_PARAMS = {"ema_period": Param("", 200, 1, 10_000, "bars of the trend EMA"), **RSI_PARAMS}

RSI = make_strategy(
    batch_function("rsi", tuple(RSI_PARAMS), rsi_batch, rsi_indicators),
    RSI_PARAMS,
    name="rsi",
    description="Mean reversion on Wilder's RSI.",
    entry_rule="RSI crosses up through rsi_oversold",
    exit_rule="RSI crosses up through rsi_overbought",
    warmup=lambda **p: rsi_warmup(p),
    builtin=True,
    batch=rsi_batch,
    indicator_fn=rsi_indicators,
    explain_fn=rsi_explain,
    check=check,
    source=__file__,
)

EMA_RSI = make_strategy(
    batch_function("ema_rsi", tuple(EMA_RSI_PARAMS), ema_rsi_batch, ema_rsi_indicators),
    EMA_RSI_PARAMS,
    name="ema_rsi",
    description="The RSI rule, only in an uptrend (close above a long EMA).",
    entry_rule="RSI crosses up through rsi_oversold while the close is above EMA(ema_period)",
    exit_rule="RSI crosses up through rsi_overbought, or the close crosses below the EMA",
    warmup=lambda **p: ema_rsi_warmup(p),
    builtin=True,
    batch=ema_rsi_batch,
    indicator_fn=ema_rsi_indicators,
    explain_fn=ema_rsi_explain,
    check=check,
    source=__file__,
)
