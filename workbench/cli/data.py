"""``workbench data ...``: import, fetch, sample, list, export and delete candles."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from workbench.cli.common import JsonOption, print_json, print_table
from workbench.errors import NotFoundError, ValidationError
from workbench.timeutil import parse_moment

app = typer.Typer(
    no_args_is_help=True, help="Candles: import, fetch, sample, list, export, delete."
)

Exchange = typer.Option(..., "--exchange", help="Exchange id, e.g. binance")
Symbol = typer.Option(..., "--symbol", help="Market symbol, e.g. BTC/USDT")
Timeframe = typer.Option(..., "--timeframe", help="Bar length, e.g. 1m, 5m, 1h, 1d")


def parse_date(value: str, field: str) -> datetime:
    """ISO date or datetime typed on the command line, as UTC (see ``workbench.timeutil``)."""
    return parse_moment(value, field, entity="command")


def _report(result: dict[str, object], json_out: bool, text: str) -> None:
    if json_out:
        print_json(result)
    else:
        typer.echo(text)


@app.command("import")
def import_command(
    file: Path,
    exchange: str = Exchange,
    symbol: str = Symbol,
    timeframe: str = Timeframe,
    json_out: bool = JsonOption,
) -> None:
    """Import candles from a CSV or Parquet FILE (timestamp, open, high, low, close, volume).

    timestamp: ms since 1970 (seconds and µs are recognised by size) or ISO 8601 text
    (UTC unless it names a zone). The bars must be TIMEFRAME apart and on its grid;
    nothing is written when any row is refused.
    """

    from workbench.db import default_engine
    from workbench.market import candles as store
    from workbench.market.names import normalize_market

    exchange, symbol, timeframe = normalize_market(exchange, symbol, timeframe)
    frame = store.read_file(file, timeframe)
    written = store.upsert_candles(
        engine=default_engine(), exchange=exchange, symbol=symbol, timeframe=timeframe, frame=frame
    )
    result = {
        "exchange": exchange,
        "symbol": symbol,
        "timeframe": timeframe,
        "rows": written,
        "first": frame.index.min(),
        "last": frame.index.max(),
    }
    _report(result, json_out, f"imported {written} candles of {symbol} {timeframe} ({exchange})")


@app.command()
def sample(
    symbol: str = Symbol,
    timeframe: str = Timeframe,
    bars: int = typer.Option(..., "--bars", help="How many bars (1 to 1,000,000)"),
    seed: int = typer.Option(7, "--seed", help="The same seed gives the same market"),
    exchange: str = typer.Option("synthetic", "--exchange"),  # the sample's SYNTHETIC_EXCHANGE
    json_out: bool = JsonOption,
) -> None:
    """Store a deterministic SYNTHETIC market (not real data) for offline work."""

    from workbench.db import default_engine
    from workbench.market import candles as store
    from workbench.market.names import normalize_market
    from workbench.market.sample import sample_candles

    exchange, symbol, timeframe = normalize_market(exchange, symbol, timeframe)
    frame = sample_candles(bars, timeframe=timeframe, seed=seed)
    written = store.upsert_candles(
        engine=default_engine(), exchange=exchange, symbol=symbol, timeframe=timeframe, frame=frame
    )
    result = {
        "exchange": exchange,
        "symbol": symbol,
        "timeframe": timeframe,
        "rows": written,
        "synthetic": True,
        "seed": seed,
    }
    _report(
        result,
        json_out,
        f"stored {written} bars of synthetic data (not a real market) as "
        f"{exchange} {symbol} {timeframe}, seed {seed}",
    )


@app.command("list")
def list_command(json_out: bool = JsonOption) -> None:
    """What is stored: exchange, symbol, timeframe, first, last, count, missing bars."""

    from workbench.db import default_engine
    from workbench.market import candles as store

    rows = store.summary(engine=default_engine())
    if json_out:
        print_json(rows)
    else:
        print_table(rows)


@app.command("cache")
def cache_command(json_out: bool = JsonOption) -> None:
    """How the market-data cache serves: hits, misses, stale copies served, fetch errors
    and the last refresh, per key family (symbols, candles), as every process counts them."""
    from dataclasses import asdict

    from workbench.cache import get_cache

    with get_cache() as cache:
        rows = [{"family": family, **asdict(stats)} for family, stats in cache.stats().items()]
    if json_out:
        print_json(rows)
    else:
        print_table(rows)


@app.command()
def export(
    file: Path,
    exchange: str = Exchange,
    symbol: str = Symbol,
    timeframe: str = Timeframe,
    json_out: bool = JsonOption,
) -> None:
    """Write stored candles to FILE: the suffix picks the format (.csv or .parquet)."""

    from workbench.db import default_engine
    from workbench.market import candles as store
    from workbench.market.names import normalize_market

    exchange, symbol, timeframe = normalize_market(exchange, symbol, timeframe)
    frame = store.read_candles(
        engine=default_engine(), exchange=exchange, symbol=symbol, timeframe=timeframe
    )
    if frame.empty:
        raise ValidationError(
            {
                "symbol": f"no {symbol} {timeframe} candles from {exchange} "
                "are stored; see `workbench data list`"
            },
            entity="export",
        )
    store.write_file(frame, file)
    _report({"file": file, "rows": len(frame)}, json_out, f"wrote {len(frame)} candles to {file}")


@app.command()
def fetch(
    exchange: str = Exchange,
    symbol: str = Symbol,
    timeframe: str = Timeframe,
    since: str = typer.Option(..., "--since", help="First day, YYYY-MM-DD (UTC)"),
    until: str | None = typer.Option(None, "--until", help="End (exclusive); default now"),
    json_out: bool = JsonOption,
) -> None:
    """Download candles from an exchange: only closed bars not stored yet are fetched."""

    from workbench.db import default_engine
    from workbench.market.ccxt_adapter import CcxtExchange
    from workbench.market.download import fetch_missing
    from workbench.market.names import normalize_market

    exchange, symbol, timeframe = normalize_market(exchange, symbol, timeframe)
    start = parse_date(since, "since")
    end = parse_date(until, "until") if until else datetime.now(UTC)
    written = fetch_missing(
        engine=default_engine(),
        exchange=CcxtExchange(exchange),
        symbol=symbol,
        timeframe=timeframe,
        since=start,
        until=end,
        progress=not json_out,
    )
    result = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "rows": written}
    _report(result, json_out, f"fetched {written} new candles of {symbol} {timeframe}")


@app.command()
def delete(
    exchange: str = Exchange,
    symbol: str = Symbol,
    timeframe: str = Timeframe,
    yes: bool = typer.Option(False, "--yes", help="Delete without asking."),
    json_out: bool = JsonOption,
) -> None:
    """Remove a stored series and all its candles (asks first unless --yes)."""

    from workbench.db import default_engine
    from workbench.market import candles as store
    from workbench.market.names import normalize_market

    exchange, symbol, timeframe = normalize_market(exchange, symbol, timeframe)
    engine = default_engine()
    listed = [
        r
        for r in store.summary(engine=engine)
        if (r["exchange"], r["symbol"], r["timeframe"]) == (exchange, symbol, timeframe)
    ]
    if not listed:
        raise NotFoundError(
            f"no {symbol} {timeframe} candles from {exchange} are stored; see `workbench data list`"
        )
    what = f"{listed[0]['count']} candles of {symbol} {timeframe} ({exchange})"
    if not yes:
        if not sys.stdin.isatty():
            raise ValidationError(
                {"--yes": f"deleting {what} needs --yes (or run it in a terminal)"},
                entity="command",
            )
        typer.confirm(f"delete {what}?", abort=True)
    removed = store.delete_series(
        engine=engine, exchange=exchange, symbol=symbol, timeframe=timeframe
    )
    result = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "deleted": removed}
    _report(result, json_out, f"deleted {removed} candles of {symbol} {timeframe} ({exchange})")
