"""Where the paper exchange gets its prices: a live exchange's public data, or stored candles
with a clock (replay, fully offline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

import numpy as np
from sqlalchemy import Engine

from workbench.errors import NotFoundError
from workbench.market.candles import read_candles
from workbench.market.exchange import Exchange, Market
from workbench.market.names import split_symbol
from workbench.market.timeframes import timeframe_ms
from workbench.timeutil import from_ms, to_ms
from workbench.types import MarketType


class PriceSource(Protocol):
    """Prices for the paper exchange. ``price`` is what a market order fills at now (before
    slippage); ``range_since`` is the (low, high) traded since a time, for limit orders and
    liquidations."""

    def now(self) -> datetime: ...

    def price(self, symbol: str) -> Decimal: ...

    def range_since(self, symbol: str, since: datetime) -> tuple[Decimal, Decimal] | None: ...

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[list[float]]: ...

    def markets(self) -> dict[str, Market]: ...


class LivePrices:
    """Prices from a real exchange's public endpoints (no keys needed)."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    def now(self) -> datetime:
        return datetime.now(UTC)

    def price(self, symbol: str) -> Decimal:
        return self.exchange.fetch_ticker(symbol).last

    def range_since(self, symbol: str, since: datetime) -> tuple[Decimal, Decimal] | None:
        last = self.price(symbol)
        return last, last

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[list[float]]:
        return self.exchange.fetch_ohlcv(symbol, timeframe, since_ms, limit)

    def markets(self) -> dict[str, Market]:
        return self.exchange.load_markets()


class ReplayPrices:
    """Stored candles played back by a clock: at time ``now`` the bar opening at ``now`` is the
    next price, and only bars that closed by ``now`` are visible."""

    def __init__(
        self, *, engine: Engine, exchange: str, timeframe: str, symbols: list[str], start: datetime
    ) -> None:
        self.timeframe = timeframe
        self.step = timeframe_ms(timeframe)
        self.clock = start
        self._bars: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for symbol in symbols:
            frame = read_candles(
                engine=engine, exchange=exchange, symbol=symbol, timeframe=timeframe
            )
            if frame.empty:
                raise NotFoundError(
                    f"no stored {symbol} {timeframe} candles from {exchange} to replay; "
                    "import or sample some first (`workbench data ...`)"
                )
            times = frame.index.as_unit("ms").asi8
            self._bars[symbol] = (
                times,
                frame[["open", "high", "low", "close", "volume"]].to_numpy(),
            )

    def advance_to(self, moment: datetime) -> None:
        self.clock = moment

    def now(self) -> datetime:
        return self.clock

    def _series(self, symbol: str) -> tuple[np.ndarray, np.ndarray]:
        try:
            return self._bars[symbol]
        except KeyError:
            raise NotFoundError(f"{symbol} is not part of this replay") from None

    def price(self, symbol: str) -> Decimal:
        times, values = self._series(symbol)
        now_ms = to_ms(self.clock)
        i = int(np.searchsorted(times, now_ms, side="left"))
        if i < len(times) and times[i] == now_ms:
            return Decimal(repr(float(values[i, 0])))  # the open of the bar starting now
        if i == 0:
            raise NotFoundError(f"the replay of {symbol} has no price before {self.clock}")
        return Decimal(repr(float(values[i - 1, 3])))  # between bars: the last close

    def range_since(self, symbol: str, since: datetime) -> tuple[Decimal, Decimal] | None:
        times, values = self._series(symbol)
        lo = int(np.searchsorted(times, to_ms(since), side="left"))
        hi = int(np.searchsorted(times, to_ms(self.clock) - self.step, side="right"))
        if hi <= lo:
            return None
        window = values[lo:hi]
        return Decimal(repr(float(window[:, 2].min()))), Decimal(repr(float(window[:, 1].max())))

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[list[float]]:
        if timeframe != self.timeframe:
            raise NotFoundError(f"this replay holds {self.timeframe} candles, not {timeframe}")
        times, values = self._series(symbol)
        end = int(np.searchsorted(times, to_ms(self.clock) - self.step, side="right"))
        start = 0 if since_ms is None else int(np.searchsorted(times, since_ms, side="left"))
        if limit is not None and since_ms is None:
            start = max(0, end - limit)
        elif limit is not None:
            end = min(end, start + limit)
        return [
            [float(t), *row]
            for t, row in zip(times[start:end].tolist(), values[start:end].tolist(), strict=True)
        ]

    def closed_bars(self, symbol: str) -> tuple[np.ndarray, np.ndarray]:
        """(open times, OHLCV rows) of every bar closed by now, without copying."""
        times, values = self._series(symbol)
        end = int(np.searchsorted(times, to_ms(self.clock) - self.step, side="right"))
        return times[:end], values[:end]

    def markets(self) -> dict[str, Market]:
        out = {}
        for symbol in self._bars:
            base, quote, settle = split_symbol(symbol)
            out[symbol] = Market(
                symbol=symbol,
                type=MarketType.FUTURES if settle else MarketType.SPOT,
                base=base,
                quote=quote,
            )
        return out

    def bar_times(self, symbol: str) -> list[datetime]:
        times, _ = self._series(symbol)
        return [from_ms(t) for t in times.tolist()]

    def bar_length(self) -> timedelta:
        return timedelta(milliseconds=self.step)
