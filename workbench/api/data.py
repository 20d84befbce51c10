"""The database and candles: ``init``, ``connect``, ``list_markets``, ``candles``,
``plot_candles``."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from workbench.api._common import Moment, moment
from workbench.db import default_engine, migrate
from workbench.errors import ConfigError, NotFoundError
from workbench.settings import get_settings, make_private_dir


def init(*, sample: bool = False) -> pd.DataFrame:
    """Make the workbench ready in this process: the home folder, the secret key and the
    database at the newest revision. ``sample=True`` (the tour notebooks) also stores a
    synthetic sample market when no candles are stored; never in production. Returns
    :func:`list_markets`."""
    from workbench.market.candles import summary, upsert_candles
    from workbench.market.sample import SYNTHETIC_EXCHANGE, sample_candles

    settings = get_settings()
    if sample and settings.env == "production":
        raise ConfigError(
            "sample data is never written in production (WORKBENCH_ENV=production); "
            "import or fetch real candles with `workbench data import|fetch`"
        )
    make_private_dir(settings.home)
    settings.fernet_keys()
    migrate.upgrade(settings.database_url)
    if sample and not summary(engine=default_engine()):
        from workbench.demo import BARS, SEED, SYMBOL, TIMEFRAME

        frame = sample_candles(BARS, timeframe=TIMEFRAME, seed=SEED)
        upsert_candles(
            engine=default_engine(),
            frame=frame,
            exchange=SYNTHETIC_EXCHANGE,
            symbol=SYMBOL,
            timeframe=TIMEFRAME,
        )
    return list_markets()


def connect() -> None:
    """Use the configured database as it is (job notebooks): nothing is created, migrated
    or written. Raises ConfigError unless the database is at the newest revision."""
    from workbench.db.ready import require_ready

    require_ready(get_settings().database_url)


def list_markets() -> pd.DataFrame:
    """The stored candle series: exchange, symbol, timeframe, first, last, count, gaps."""
    from workbench.market.candles import summary

    return pd.DataFrame(summary(engine=default_engine()))


def candles(
    symbol: str | None = None,
    timeframe: str | None = None,
    *,
    exchange: str | None = None,
    start: Moment = None,
    end: Moment = None,
) -> pd.DataFrame:
    """Stored candles (open, high, low, close, volume) on a UTC index, with their market
    in ``frame.attrs["market"]``. Without arguments: the first stored market.
    ``start``/``end`` take dates like ``"2024-01-31"``."""
    from workbench.market.candles import read_candles
    from workbench.market.names import normalize_given

    exchange, symbol, timeframe = normalize_given(exchange, symbol, timeframe)
    stored = list_markets()
    if stored.empty:
        raise NotFoundError("no candles stored; run wb.init() or `workbench data sample`")
    chosen = stored
    for column, value in (("symbol", symbol), ("timeframe", timeframe), ("exchange", exchange)):
        if value is not None:
            chosen = chosen[chosen[column] == value]
    if chosen.empty:
        have = ", ".join(f"{r.exchange} {r.symbol} {r.timeframe}" for r in stored.itertuples())
        raise NotFoundError(f"no stored candles match; stored: {have}")
    market = chosen.iloc[0]
    frame = read_candles(
        engine=default_engine(),
        exchange=market["exchange"],
        symbol=market["symbol"],
        timeframe=market["timeframe"],
        start=moment(start, "start"),
        end=moment(end, "end"),
    )
    frame.attrs["market"] = {k: market[k] for k in ("exchange", "symbol", "timeframe")}
    return frame


def plot_candles(frame: pd.DataFrame, *, indicators: pd.DataFrame | None = None) -> go.Figure:
    """A candlestick chart, with indicator lines (e.g. ``signals(...)``'s EMA columns)."""
    market = frame.attrs.get("market", {})
    fig = go.Figure(
        go.Candlestick(
            x=frame.index,
            open=frame["open"],
            high=frame["high"],
            low=frame["low"],
            close=frame["close"],
            name="price",
        )
    )
    if indicators is not None:
        for column in indicators.columns:
            if column.startswith("ema"):
                fig.add_scatter(x=indicators.index, y=indicators[column], name=column, mode="lines")
    title = " ".join(str(v) for v in market.values())
    fig.update_layout(title=title, xaxis_rangeslider_visible=False, height=450)
    return fig
