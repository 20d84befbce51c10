"""What the live-bot job notebook (``notebooks/jobs/live_bot.ipynb``) calls: one tick of
one bot and a chart of it, loading only what a tick needs.

The notebook API (``import workbench as wb``) brings plotting and everything a research
notebook uses; a job that runs every minute pays each import in every fresh kernel. Here
the tick is :func:`workbench.bots.exchanges.tick_bot` (as ``wb.tick``), and the chart is
plotly's figure JSON built from the bars (shown by JupyterLab and in the run's HTML page
by plotly.js), so the plotly package is never imported in the job's kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from workbench.errors import ValidationError
from workbench.timeutil import parse_moment

if TYPE_CHECKING:
    import pandas as pd

    from workbench.bots.runner import TickResult

PLOTLY_MIME = "application/vnd.plotly.v1+json"
CHART_BARS = 120


def warm_up() -> None:
    """Load what a tick uses before it is asked for one: the job notebook names this as
    its kernel's warm-up (``metadata.workbench.warm_up``), run while the job's process
    starts papermill. Imports the tick's modules and reads the compiled code of the rule
    engine and of the built-in strategies from numba's on-disk cache, exercising each on
    scratch values of the types a tick passes (nothing is read or written)."""
    import numpy as np
    import pandas as pd

    from workbench.bots import exchanges  # noqa: F401  (the tick, the ORM, pandas)
    from workbench.db import ready  # noqa: F401
    from workbench.rules import RuleParams
    from workbench.rules import engine as e
    from workbench.strategies.registry import STRATEGIES

    params = RuleParams().to_array()
    book = e.new_state(params)
    e.begin_bar(book, params, 0, 1.0)
    e.fill_pending(book, params, 1.0)
    e.on_close(book, params, 1.0, 1.0, 1.0, False, False)
    e.entry_budget(book, params, 1.0)
    e.apply_entry(book, params, 1.0, 1.0, 0.0)
    e.apply_exit(book, params, 1.0, 0.0)
    prices = np.linspace(1.0, 2.0, 64)
    bars = pd.DataFrame(
        {"open": prices, "high": prices, "low": prices, "close": prices, "volume": 1.0},
        index=pd.date_range("2024-01-01", periods=len(prices), freq="min", tz="UTC"),
    )
    for strategy in STRATEGIES.values():
        strategy.signals(bars, **strategy.defaults)


def tick(bot_id: Any, *, paper: bool = False, as_of: Any = None) -> TickResult:
    """One tick of the active bot ``bot_id`` (the job's parameter: exactly that bot, never
    a guess), as ``wb.tick`` runs it, on the database as it is (nothing created, migrated
    or written but the tick's own records). ``as_of`` (ISO time) replays a past moment on
    stored candles, on paper."""
    from workbench.bots.exchanges import tick_bot
    from workbench.db.engine import default_engine
    from workbench.db.ready import require_ready
    from workbench.settings import get_settings

    if bot_id is None:
        raise ValidationError(
            {"bot_id": "no bot given; run the job with `-p bot_id N` (see `workbench bot list`)"},
            entity="job parameters",
        )
    require_ready(get_settings().database_url)
    as_of = parse_moment(as_of, "as_of", entity="job parameters")
    return tick_bot(int(bot_id), engine=default_engine(), paper=paper, as_of=as_of)


@dataclass(frozen=True)
class Chart:
    """A plotly figure as JSON: displayed by JupyterLab's plotly renderer, exported to
    HTML by :func:`workbench.jobs.notebooks.export_html`."""

    figure: dict[str, Any]
    title: str

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {PLOTLY_MIME: self.figure, "text/plain": f"<chart: {self.title}>"}


def chart(result: TickResult, bars: int = CHART_BARS) -> Chart:
    """The bars a tick saw, its bot's EMA lines, and what it decided on the last bar."""
    from workbench.bots.configs import get_bot
    from workbench.bots.runner import HISTORY_BARS
    from workbench.bots.strategy_guard import history_bars
    from workbench.db.engine import default_engine, session_scope
    from workbench.market.candles import read_candles
    from workbench.market.timeframes import timeframe_ms
    from workbench.strategies import get_strategy

    engine = default_engine()
    with session_scope(engine) as session:
        bot = get_bot(session=session, bot_id=result.bot_id)
        strategy = get_strategy(bot.strategy)
        params = strategy.params_from_config(bot)
        market = {"exchange": bot.exchange, "symbol": bot.symbol, "timeframe": bot.timeframe}
        seen = history_bars(bot, HISTORY_BARS) or HISTORY_BARS  # as many bars as the tick read
    start = end = None
    if result.bar_time is not None:
        end = result.bar_time + timedelta(milliseconds=1)
        start = result.bar_time - timedelta(milliseconds=timeframe_ms(market["timeframe"]) * seen)
    frame = read_candles(engine=engine, **market, start=start, end=end)
    title = " ".join(market.values()) + " (UTC)"
    if frame.empty:
        return Chart({"data": [], "layout": {"title": {"text": title}}}, title)
    lines = strategy.signals(frame, **params).indicators.tail(bars)
    shown = frame.tail(bars)
    data: list[dict[str, Any]] = [
        {
            "type": "candlestick",
            "name": "price",
            "x": _times(shown.index),
            **{column: _values(shown[column]) for column in ("open", "high", "low", "close")},
        }
    ]
    data += [
        {
            "type": "scatter",
            "mode": "lines",
            "name": str(column),
            "x": _times(lines.index),
            "y": _values(lines[column]),
        }
        for column in lines.columns
        if str(column).startswith("ema")
    ]
    layout: dict[str, Any] = {
        "title": {"text": title},
        "height": 450,
        "xaxis": {"rangeslider": {"visible": False}},
    }
    if result.bar_time is not None:
        layout["annotations"] = [
            {
                "x": _time(result.bar_time),
                "y": float(frame["high"].iloc[-1]),
                "text": f"{result.decision}: {result.reason}",
                "showarrow": True,
            }
        ]
    return Chart({"data": data, "layout": layout}, title)


def _times(index: pd.Index) -> list[str]:
    return [_time(t) for t in index]


def _time(moment: datetime) -> str:
    """UTC without an offset: plotly.js reads dates as wall times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _values(series: pd.Series) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in series.to_numpy(dtype=float)]
