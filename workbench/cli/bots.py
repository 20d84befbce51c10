"""``workbench bot ...``, ``workbench backtest`` and ``workbench sweep``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

from workbench.accounts import local_user
from workbench.backtest import backtest_config, run_sweep
from workbench.backtest.configs import (
    free_config,
    save_config_backtest,
    save_sweep_best,
    stored_candles,
)
from workbench.backtest.result import BacktestResult
from workbench.bots import create_bot, delete_bot, get_bot, list_bots, update_bot
from workbench.bots.configs import bot_fields
from workbench.bots.exchanges import exchange_for_bot
from workbench.bots.replay import replay_bot
from workbench.bots.runner import run_tick
from workbench.cli.common import JsonOption, db_session, print_json, print_table
from workbench.cli.data import parse_date
from workbench.db import default_engine
from workbench.errors import ValidationError
from workbench.rules import RuleParams
from workbench.strategies import get_strategy
from workbench.strategies.sweep import parse_range

app = typer.Typer(no_args_is_help=True, help="Bots: create, list, show, set, tick, replay.")

FieldOption = typer.Option([], "-p", "--param", help="FIELD=VALUE, any bot config field")
Fees = typer.Option(0.001, "--fees", help="Fee per fill, as a fraction (0.001 = 0.1 %)")
Slippage = typer.Option(0.0, "--slippage", help="Slippage per fill, as a fraction")
ExchangeOption = typer.Option(None, "--exchange")
SymbolOption = typer.Option(None, "--symbol")
TimeframeOption = typer.Option(None, "--timeframe")
StrategyOption = typer.Option(None, "--strategy")
Start = typer.Option(None, "--start", help="First bar, YYYY-MM-DD (UTC)")
End = typer.Option(None, "--end", help="End (exclusive), YYYY-MM-DD (UTC)")


def parse_fields(pairs: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValidationError({pair: "expected FIELD=VALUE, e.g. ema_fast=9"}, entity="command")
        fields[name.strip()] = value.strip()
    return fields


def bot_row(bot: Any) -> dict[str, Any]:
    return {"id": bot.id, **bot_fields(bot)}


def _window(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    return (parse_date(start, "start") if start else None, parse_date(end, "end") if end else None)


@app.command()
def create(
    name: str = typer.Option(..., "--name"),
    exchange: str = typer.Option(..., "--exchange"),
    symbol: str = typer.Option(..., "--symbol"),
    timeframe: str = typer.Option(..., "--timeframe"),
    strategy: str = typer.Option(..., "--strategy"),
    fields: list[str] = FieldOption,
    live: bool = typer.Option(False, "--live", help="Trade for real (default: dry run)"),
    json_out: bool = JsonOption,
) -> None:
    """Create a bot (a dry run on the paper exchange unless --live)."""
    get_strategy(strategy)
    with db_session() as session:
        owner = local_user(session=session)
        bot = create_bot(
            session=session,
            user_id=owner.id,
            name=name,
            exchange=exchange,
            symbol=symbol,
            timeframe=timeframe,
            strategy=strategy,
            dry_run=not live,
            **parse_fields(fields),
        )
        row = bot_row(bot)
    if json_out:
        print_json(row)
    else:
        typer.echo(f"created bot {row['id']}: {name} ({'LIVE' if live else 'dry run'})")


@app.command("list")
def list_command(json_out: bool = JsonOption) -> None:
    """Every bot."""
    with db_session() as session:
        rows = [bot_row(b) for b in list_bots(session=session)]
    if json_out:
        print_json(rows)
    else:
        print_table(
            rows,
            ["id", "name", "exchange", "symbol", "timeframe", "strategy", "is_active", "dry_run"],
        )


@app.command()
def show(bot_id: int, json_out: bool = JsonOption) -> None:
    """Every field of one bot."""
    with db_session() as session:
        row = bot_row(get_bot(session=session, bot_id=bot_id))
    if json_out:
        print_json(row)
    else:
        for key, value in row.items():
            typer.echo(f"{key:24} {'' if value is None else value}")


@app.command("set")
def set_command(
    bot_id: int,
    fields: list[str] = typer.Argument(..., help="FIELD=VALUE ..."),
    json_out: bool = JsonOption,
) -> None:
    """Change fields of a bot (validated as a whole)."""
    with db_session() as session:
        row = bot_row(update_bot(session=session, bot_id=bot_id, **parse_fields(fields)))
    if json_out:
        print_json(row)
    else:
        typer.echo(f"updated bot {bot_id}")


@app.command()
def delete(
    bot_id: int, force: bool = typer.Option(False, "--force", help="Delete even with trades (kept)")
) -> None:
    """Delete a bot; refused when it has trades unless --force (the trades are kept)."""
    with db_session() as session:
        kept = delete_bot(session=session, bot_id=bot_id, force=force)
    typer.echo(f"deleted bot {bot_id}" + (f"; its {kept} trades are kept" if kept else ""))


@app.command()
def tick(bot_id: int, json_out: bool = JsonOption) -> None:
    """Run one tick of a bot now."""
    engine = default_engine()
    with db_session() as session:
        exchange = exchange_for_bot(
            session=session, engine=engine, bot=get_bot(session=session, bot_id=bot_id)
        )
    result = run_tick(bot_id, engine=engine, exchange=exchange)
    if json_out:
        print_json(
            {
                "bot_id": bot_id,
                "decision": result.decision,
                "reason": result.reason,
                "bar_time": result.bar_time,
                "indicators": result.indicators,
                "order": None if result.order is None else vars(result.order),
            }
        )
    else:
        typer.echo(result.summary())


def trades_json(trades: Any) -> list[dict[str, Any]]:
    return [
        {k: (None if v != v else v) for k, v in row.items()}  # NaN -> null
        for row in trades.to_dict(orient="records")
    ]


@app.command()
def replay(
    bot_id: int,
    start: str | None = Start,
    end: str | None = End,
    fees: float = Fees,
    slippage: float = Slippage,
    json_out: bool = JsonOption,
) -> None:
    """Replay a bot tick by tick over stored candles on a fresh paper account."""
    first, last = _window(start, end)
    result = replay_bot(
        bot_id,
        engine=default_engine(),
        start=first,
        end=last,
        fee=fees,
        slippage=slippage,
        progress=not json_out,
    )
    if json_out:
        print_json(
            {
                "ticks": len(result.ticks),
                "final_balance": result.final_balance,
                "trades": trades_json(result.trades),
            }
        )
    else:
        typer.echo(
            f"{len(result.ticks)} ticks, {len(result.trades)} trades, "
            f"final balance {result.final_balance}"
        )


def _candles(exchange: str, symbol: str, timeframe: str, start: str | None, end: str | None) -> Any:
    first, last = _window(start, end)
    return stored_candles(
        engine=default_engine(),
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        start=first,
        end=last,
    )


def _config(
    bot_id: int | None,
    exchange: str | None,
    symbol: str | None,
    timeframe: str | None,
    strategy: str | None,
    fields: list[str],
) -> Any:
    if bot_id is not None:
        with db_session() as session:
            return get_bot(session=session, bot_id=bot_id)
    missing = [
        n
        for n, v in (
            ("--exchange", exchange),
            ("--symbol", symbol),
            ("--timeframe", timeframe),
            ("--strategy", strategy),
        )
        if not v
    ]
    if missing:
        raise ValidationError(
            {"options": f"give --bot, or {', '.join(missing)}"}, entity="backtest"
        )
    return free_config(
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        strategy=strategy,
        fields=parse_fields(fields),
    )


def backtest(
    bot: int | None = typer.Option(None, "--bot", help="Backtest this bot's config"),
    exchange: str | None = ExchangeOption,
    symbol: str | None = SymbolOption,
    timeframe: str | None = TimeframeOption,
    strategy: str | None = StrategyOption,
    fields: list[str] = FieldOption,
    start: str | None = Start,
    end: str | None = End,
    fees: float = Fees,
    slippage: float = Slippage,
    save: str | None = typer.Option(None, "--save", help="Save the result under this name"),
    json_out: bool = JsonOption,
) -> None:
    """Backtest a bot, or a strategy with free parameters, over stored candles."""
    config = _config(bot, exchange, symbol, timeframe, strategy, fields)
    candles = _candles(config.exchange, config.symbol, config.timeframe, start, end)
    result = backtest_config(candles, config, fee=fees, slippage=slippage)
    saved = _save(result, config, save, bot) if save else None
    stats = result.stats()
    if json_out:
        print_json({"stats": stats, "saved_id": saved, "trades": trades_json(result.trades)})
        return
    for key in (
        "start",
        "end",
        "final_value",
        "total_return",
        "max_drawdown",
        "total_trades",
        "win_rate",
        "sharpe_ratio",
    ):
        typer.echo(f"{key:16} {stats[key]}")
    if saved:
        typer.echo(f"saved as backtest {saved}")


def _save(result: BacktestResult, config: Any, name: str, bot_id: int | None) -> int:
    with db_session() as session:
        return save_config_backtest(
            session=session, result=result, config=config, name=name, bot_id=bot_id
        ).id


def sweep(
    ranges: list[str] = typer.Option(..., "-r", "--range", help="NAME=START:STOP[:STEP]"),
    bot: int | None = typer.Option(None, "--bot", help="Sweep around this bot's config"),
    exchange: str | None = ExchangeOption,
    symbol: str | None = SymbolOption,
    timeframe: str | None = TimeframeOption,
    strategy: str | None = StrategyOption,
    fields: list[str] = FieldOption,
    start: str | None = Start,
    end: str | None = End,
    fees: float = Fees,
    slippage: float = Slippage,
    top: int = typer.Option(10, "--top"),
    save: int = typer.Option(0, "--save", help="Save the best N sets as backtests"),
    json_out: bool = JsonOption,
) -> None:
    """Backtest every combination of parameter ranges; prints (and saves) the best sets."""
    config = _config(bot, exchange, symbol, timeframe, strategy, fields)
    candles = _candles(config.exchange, config.symbol, config.timeframe, start, end)
    grid = dict(parse_range(r) for r in ranges)
    rules = RuleParams.from_config(config, fee=fees, slippage=slippage)
    table = run_sweep(
        candles, strategy=config.strategy, grid=grid, rules=rules, progress=not json_out
    )
    best = table.head(top)
    saved: list[int] = []
    if save:
        with db_session() as session:
            rows = save_sweep_best(
                session=session, table=table, candles=candles, config=config, rules=rules, top=save
            )
            saved = [row.id for row in rows]
    if json_out:
        print_json({"sets": len(table), "best": best.to_dict(orient="records"), "saved_ids": saved})
    else:
        typer.echo(f"{len(table)} parameter sets; best {len(best)}:")
        print_table(best.round(4).to_dict(orient="records"))
        if saved:
            typer.echo(f"saved as backtests {', '.join(map(str, saved))}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="bot")
    root.command()(backtest)
    root.command()(sweep)
