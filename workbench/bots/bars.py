"""What the tick's decide step reads: the closed bars of the bot's market and the strategy's
signals on them. Live ticks fetch the bars from the exchange and run the strategy over them;
a replay computes the signals once over its candles and hands out the bars closed by its
clock (the strategy is a pure function of closed candles, and look-ahead is checked, so
each bar's signal is the one a tick at that moment would compute)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from workbench.errors import NotFoundError
from workbench.market.candles import frame_from_ohlcv
from workbench.market.timeframes import timeframe_ms

if TYPE_CHECKING:
    from workbench.db.models import BotConfig
    from workbench.market.exchange import Exchange
    from workbench.strategies.base import Params, Signals


@dataclass(frozen=True)
class Bars:
    """Closed bars, oldest first: open times (epoch ms) and OHLC rows."""

    times: np.ndarray  # int64
    ohlc: np.ndarray  # float64, one row per bar: open, high, low, close (C order)
    frame: pd.DataFrame | None = None  # the candle frame they came from, when there is one

    def __len__(self) -> int:
        return len(self.times)

    @property
    def open(self) -> np.ndarray:
        return self.ohlc[:, 0]

    @property
    def high(self) -> np.ndarray:
        return self.ohlc[:, 1]

    @property
    def low(self) -> np.ndarray:
        return self.ohlc[:, 2]

    @property
    def close(self) -> np.ndarray:
        return self.ohlc[:, 3]

    @property
    def newest_ms(self) -> int:
        return int(self.times[-1])

    def time(self, i: int) -> datetime:
        return datetime.fromtimestamp(int(self.times[i]) / 1000, tz=UTC)


@dataclass(frozen=True)
class BarSignals:
    """The strategy's flags and indicator values on each of the same bars, and the
    parameters they were computed with."""

    entries: np.ndarray  # bool
    exits: np.ndarray  # bool
    indicator_names: tuple[str, ...]
    indicators: np.ndarray  # float, one row per bar
    params: Params

    def indicators_at(self, i: int) -> dict[str, float]:
        return dict(zip(self.indicator_names, map(float, self.indicators[i]), strict=True))


class BarFeed(Protocol):
    def closed(self, now: datetime) -> Bars:
        """The closed bars by ``now``, newest last (NotFoundError when there are none)."""
        ...

    def signals(self, bars: Bars) -> BarSignals:
        """The strategy's signals on ``bars`` (as returned by ``closed``)."""
        ...


def _signal_arrays(signals: Signals) -> BarSignals:
    indicators = signals.indicators
    return BarSignals(
        entries=signals.entries.to_numpy(dtype=bool),
        exits=signals.exits.to_numpy(dtype=bool),
        indicator_names=tuple(str(c) for c in indicators.columns),
        indicators=indicators.to_numpy(dtype=float),
        params=signals.params,
    )


def _bars_of(frame: pd.DataFrame) -> Bars:
    columns = [frame[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close")]
    return Bars(times=frame.index.as_unit("ms").asi8, ohlc=np.column_stack(columns), frame=frame)


class ExchangeFeed:
    """The newest ``history`` bars (None: all the exchange gives) of the bot's market,
    fetched from ``exchange``; the bar still open is dropped."""

    def __init__(self, exchange: Exchange, bot: BotConfig, history: int | None) -> None:
        self.exchange, self.bot, self.history = exchange, bot, history

    def closed(self, now: datetime) -> Bars:
        bot = self.bot
        step = timeframe_ms(bot.timeframe)
        now_ms = int(now.timestamp() * 1000)
        rows = [
            r
            for r in self.exchange.fetch_ohlcv(bot.symbol, bot.timeframe, None, self.history)
            if r[0] + step <= now_ms
        ]  # a live exchange also sends the bar still open
        if not rows:
            raise NotFoundError(f"no closed {bot.symbol} {bot.timeframe} candles yet")
        return _bars_of(frame_from_ohlcv(rows))

    def signals(self, bars: Bars) -> BarSignals:
        from workbench.strategies import get_strategy

        assert bars.frame is not None
        strategy = get_strategy(self.bot.strategy)
        return _signal_arrays(strategy.signals(bars.frame, **strategy.params_from_config(self.bot)))


class PrecomputedFeed:
    """A replay's bars: ``candles`` and the strategy's signals over all of them, computed
    once; ``closed`` hands out the bars closed by the replayed moment."""

    def __init__(self, candles: pd.DataFrame, signals: Signals, timeframe: str) -> None:
        self.all = _bars_of(candles)
        self.all_signals = _signal_arrays(signals)
        self.step = timeframe_ms(timeframe)

    def closed(self, now: datetime) -> Bars:
        end = int(np.searchsorted(self.all.times, int(now.timestamp() * 1000) - self.step, "right"))
        if end == 0:
            raise NotFoundError(f"no candle of this replay has closed by {now.isoformat()}")
        return Bars(self.all.times[:end], self.all.ohlc[:end])  # views, no copy

    def signals(self, bars: Bars) -> BarSignals:
        n, s = len(bars), self.all_signals
        return BarSignals(s.entries[:n], s.exits[:n], s.indicator_names, s.indicators[:n], s.params)
