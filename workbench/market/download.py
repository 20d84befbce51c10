"""Paginated candle downloads that fetch only what the store does not hold yet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine

from workbench.market.candles import frame_from_ohlcv, missing_ranges, upsert_candles
from workbench.market.exchange import Exchange
from workbench.market.timeframes import timeframe_ms
from workbench.progress import progress_bar


def download_ohlcv(
    exchange: Exchange,
    symbol: str,
    timeframe: str,
    start_ms: int,
    end_ms: int,
    *,
    page_limit: int = 1000,
    progress: bool = True,
) -> Iterator[pd.DataFrame]:
    """Candle frames for bars opening in [start_ms, end_ms), one page at a time."""
    step = timeframe_ms(timeframe)
    total = max(0, -(-(end_ms - start_ms) // step))
    with progress_bar(
        total=total, unit="bar", desc=f"{symbol} {timeframe}", disable=not progress
    ) as bar:
        since = start_ms
        while since < end_ms:
            rows = [
                r
                for r in exchange.fetch_ohlcv(symbol, timeframe, since, page_limit)
                if since <= r[0] < end_ms
            ]
            if not rows:
                break  # the exchange has nothing more in this range (e.g. before listing)
            yield frame_from_ohlcv(rows)
            bar.update(len(rows))
            since = int(rows[-1][0]) + step


def fetch_missing(
    *,
    engine: Engine,
    exchange: Exchange,
    symbol: str,
    timeframe: str,
    since: datetime,
    until: datetime,
    progress: bool = True,
    page_limit: int = 1000,
) -> int:
    """Download and store the closed bars of [since, until) that are not stored yet;
    returns how many rows were written. Stored bars are never fetched again."""
    written = 0
    ranges = missing_ranges(
        engine=engine,
        exchange=exchange.id,
        symbol=symbol,
        timeframe=timeframe,
        since=since,
        until=until,
    )
    for start_ms, end_ms in ranges:
        for frame in download_ohlcv(
            exchange, symbol, timeframe, start_ms, end_ms, page_limit=page_limit, progress=progress
        ):
            written += upsert_candles(
                engine=engine, exchange=exchange.id, symbol=symbol, timeframe=timeframe, frame=frame
            )
    return written
