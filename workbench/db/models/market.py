"""Candles: bulk market data, float columns for speed.

A series (exchange, symbol, timeframe) gets a small integer id, so each candle is keyed by
(series_id, open_time): a compact primary key that keeps bulk loads and range reads fast.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db.base import Base


class CandleSeries(Base):
    __tablename__ = "candle_series"
    __table_args__ = (UniqueConstraint("exchange", "symbol", "timeframe"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exchange: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(8))


class Candle(Base):
    __tablename__ = "candles"

    # No foreign key on purpose: PostgreSQL checks one per row, which triples bulk-load time.
    # Series ids come only from ``candles.series_id(...)``, and series are never deleted.
    series_id: Mapped[int] = mapped_column(primary_key=True)
    # Open time in milliseconds since the epoch (UTC), as ccxt returns it.
    open_time: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[float] = mapped_column(Float)
