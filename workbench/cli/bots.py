"""``workbench bot ...``, ``workbench backtest`` and ``workbench sweep``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

from workbench.cli.common import JsonOption, db_session, print_json, print_table
from workbench.cli.data import parse_date
from workbench.errors import ValidationError
from workbench.types import DEFAULT_FEE, BotConfigLike

if TYPE_CHECKING:
    from workbench.backtest.result import BacktestResult

app = typer.Typer(no_args_is_help=True, help="Bots: create, list, show, set, tick, replay.")

FieldOption = typer.Option([], "-p", "--param", help="FIELD=VALUE, any bot config field")
Fees = typer.Option(DEFAULT_FEE, "--fees", help="Fee per fill, as a fraction (0.001 = 0.1 %)")
Slippage = typer.Option(0.0, "--slippage", help="Slippage per fill, as a fraction")
ExchangeOption = typer.Option(None, "--exchange")
SymbolOption = typer.Option(None, "--symbol")
TimeframeOption = typer.Option(None, "--timeframe")
StrategyOption = typer.Option(None, "--strategy")
Start = typer.Option(None, "--start", help="First bar, YYYY-MM-DD (UTC)")
End = typer.Option(None, "--end", help="End (exclusive), YYYY-MM-DD (UTC)")


OPTION_OF = {"dry_run": "--live (or its absence)"}


def parse_fields(pairs: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValidationError({pair: "expected FIELD=VALUE, e.g. ema_fast=9"}, entity="command")
        fields[name.strip()] = value.strip()
    return fields


def printable(text: str) -> str:
    """A name as it can be printed safely: control characters (ANSI escapes, newlines
    from rows stored before names were checked) shown escaped, never interpreted."""
    from workbench.schemas.bots import has_control_characters

    return text.encode("unicode_escape").decode() if has_control_characters(text) else text


def bot_row(bot: Any) -> dict[str, Any]:
    from workbench.bots.configs import bot_fields

    return {"id": bot.id, **bot_fields(bot)}


def key_labels(session: Any) -> dict[int, str]:
    """Each stored API key's label (sandbox keys say so), by id."""
    from workbench.accounts import key_label, list_api_keys

    return {k.id: key_label(k) for k in list_api_keys(session=session)}


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
    """Create a bot (a dry run on the paper exchange unless --live). -p takes any bot
    config field or a parameter of the strategy (built-in or your own)."""
    from workbench.accounts import local_user
    from workbench.bots import create_bot

    given = {
        "name": name,
        "exchange": exchange,
        "symbol": symbol,
        "timeframe": timeframe,
        "strategy": strategy,
        "dry_run": not live,
    }
    extra = parse_fields(fields)
    twice = sorted(set(given) & set(extra))
    if twice:
        raise ValidationError(
            {n: f"give it once, with {OPTION_OF.get(n, '--' + n)}" for n in twice},
            entity="command",
        )
    with db_session() as session:
        owner = local_user(session=session)
        bot = create_bot(session=session, user_id=owner.id, **given, **extra)
        row = bot_row(bot)
    if json_out:
        print_json(row)
    else:
        typer.echo(f"created bot {row['id']}: {name} ({'LIVE' if live else 'dry run'})")


@app.command("list")
def list_command(json_out: bool = JsonOption) -> None:
    """Every bot."""
    from workbench.bots import list_bots

    with db_session() as session:
        keys = key_labels(session)
        rows = [bot_row(b) for b in list_bots(session=session)]
    if json_out:
        print_json(rows)
    else:
        print_table(
            [
                {**r, "name": printable(r["name"]), "api_key": keys.get(r["api_key_id"], "")}
                for r in rows
            ],
            [
                "id",
                "name",
                "exchange",
                "symbol",
                "timeframe",
                "strategy",
                "is_active",
                "dry_run",
                "api_key",
            ],
        )


@app.command()
def show(bot_id: int, json_out: bool = JsonOption) -> None:
    """Every field of one bot."""
    from workbench.bots import get_bot

    with db_session() as session:
        row = bot_row(get_bot(session=session, bot_id=bot_id))
        key = key_labels(session).get(row["api_key_id"])
    if json_out:
        print_json(row)
    else:
        for name, value in row.items():
            if name == "api_key_id" and key is not None:
                value = f"{value}: {key}"
            typer.echo(f"{name:24} {'' if value is None else value}")


@app.command("set")
def set_command(
    bot_id: int,
    fields: list[str] = typer.Argument(..., help="FIELD=VALUE ..."),
    json_out: bool = JsonOption,
) -> None:
    """Change fields of a bot or its strategy's parameters (validated as a whole)."""
    from workbench.bots import update_bot

    with db_session() as session:
        row = bot_row(update_bot(session=session, bot_id=bot_id, **parse_fields(fields)))
    if json_out:
        print_json(row)
    else:
        typer.echo(f"updated bot {bot_id}")


@app.command()
def delete(
    bot_id: int,
    force: bool = typer.Option(False, "--force", help="Delete even with trades (kept)"),
    abandon_position: bool = typer.Option(
        False, "--abandon-position", help="Delete even while it holds a position (left open)"
    ),
) -> None:
    """Delete a bot; refused when it has trades unless --force (the trades are kept), and
    while it holds a position unless --abandon-position."""
    from workbench.bots import delete_bot

    with db_session() as session:
        kept = delete_bot(
            session=session, bot_id=bot_id, force=force, abandon_position=abandon_position
        )
    typer.echo(f"deleted bot {bot_id}" + (f"; its {kept} trades are kept" if kept else ""))


@app.command()
def activate(bot_id: int, json_out: bool = JsonOption) -> None:
    """Activate a bot: check its strategy for look-ahead, record the code's fingerprint
    and warm-up. Run it again to accept changed strategy code deliberately."""
    from workbench.bots.activation import bot_schedules
    from workbench.bots.configs import activate_bot

    with db_session() as session:
        summary = activate_bot(session=session, bot_id=bot_id)
        row = bot_row(session.get_one(_bot_model(), bot_id))
        [schedule, *_] = [s for s in bot_schedules(session=session, bot_id=bot_id) if s.enabled]
        job = {"schedule_id": schedule.id, "cron": schedule.cron}
    if json_out:
        print_json({**row, "check": summary, "schedule": job})
    else:
        typer.echo(f"activated bot {bot_id}: {summary}")
        typer.echo(f"live-bot job: schedule {job['schedule_id']}, cron {job['cron']} (UTC)")


def _bot_model() -> Any:
    from workbench.db.models import BotConfig

    return BotConfig


@app.command()
def tick(
    bot_id: int,
    paper: bool = typer.Option(False, "--paper", help="Trade on paper even if the bot is live"),
    inactive: bool = typer.Option(False, "--inactive", help="Tick a bot that is not active"),
    json_out: bool = JsonOption,
) -> None:
    """Run one tick of a bot now, on its own venue (paper for a dry-run bot)."""
    from workbench.bots.exchanges import tick_bot
    from workbench.db import default_engine

    result = tick_bot(bot_id, engine=default_engine(), paper=paper, inactive=inactive)
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
    from workbench.bots.replay import replay_bot
    from workbench.db import default_engine

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
        print_json(  # numbers as JSON numbers, as `workbench backtest --json` gives them
            {
                "ticks": len(result.ticks),
                "final_value": float(result.final_value),
                "final_balance": float(result.final_balance),
                "rules": result.rules,
                "trades": trades_json(result.trades),
            }
        )
    else:
        stats = result.stats()
        typer.echo(
            f"{len(result.ticks)} ticks, {stats['total_trades']} trades "
            f"(+{stats['open_trades']} open), final value {result.final_value:.8f} "
            f"(cash {result.final_balance:.8f})"
        )


def _candles(exchange: str, symbol: str, timeframe: str, start: str | None, end: str | None) -> Any:
    from workbench.backtest.configs import stored_candles
    from workbench.db import default_engine

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
    from workbench.backtest.configs import free_config, with_fields
    from workbench.bots import get_bot

    if bot_id is not None:
        with db_session() as session:
            bot = get_bot(session=session, bot_id=bot_id)
            return with_fields(bot, parse_fields(fields)) if fields else bot
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
    """Backtest a bot, or a strategy (built-in or your own) with free parameters."""
    from workbench.backtest import backtest_config

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
    typer.echo(f"{'rules':16} {_rules_line(stats['rules'])}")
    if saved:
        typer.echo(f"saved as backtest {saved}")


def _rules_line(rules: dict[str, Any]) -> str:
    """The rules that are on, as ``name=value`` pairs (the fill mode last)."""
    on = [f"{k}={v}" for k, v in rules.items() if v is not None and k != "fill"]
    return f"{', '.join(on)}; {rules['fill']}"


def _save(result: BacktestResult, config: BotConfigLike, name: str, bot_id: int | None) -> int:
    from workbench.backtest.configs import save_config_backtest

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
    """Backtest every combination of parameter ranges; prints (and saves) the best sets.
    A user strategy's sets run on all cores; the speed is reported in bar-sets/s."""
    from workbench.backtest import sweep_config
    from workbench.backtest.configs import save_sweep_best
    from workbench.rules import RuleParams
    from workbench.strategies.sweep import parse_range

    config = _config(bot, exchange, symbol, timeframe, strategy, fields)
    candles = _candles(config.exchange, config.symbol, config.timeframe, start, end)
    ranges_of = dict(parse_range(r) for r in ranges)
    table = sweep_config(
        candles, config, ranges_of, fee=fees, slippage=slippage, progress=not json_out
    )
    rules = RuleParams.from_config(config, fee=fees, slippage=slippage)
    best = table.head(top)
    saved: list[int] = []
    if save:
        with db_session() as session:
            rows = save_sweep_best(
                session=session, table=table, candles=candles, config=config, rules=rules, top=save
            )
            saved = [row.id for row in rows]
    speed = table.attrs.get("bar_sets_per_second")
    if json_out:
        print_json(
            {
                "sets": len(table),
                "rules": table.attrs["rules"],
                "bar_sets_per_second": speed,
                "best": best.to_dict(orient="records"),
                "saved_ids": saved,
            }
        )
    else:
        typer.echo(f"rules: {_rules_line(table.attrs['rules'])}")
        typer.echo(f"{len(table)} parameter sets ({speed:,.0f} bar-sets/s); best {len(best)}:")
        print_table(best.round(4).to_dict(orient="records"))
        if saved:
            typer.echo(f"saved as backtests {', '.join(map(str, saved))}")


@app.command()
def stop(
    bot_id: int | None = typer.Argument(None, help="The bot to stop (or --all)"),
    all_bots: bool = typer.Option(False, "--all", help="Stop every bot"),
    close: bool = typer.Option(
        False, "--close", help="Also sell the open position at market, on the bot's venue"
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation"),
    json_out: bool = JsonOption,
) -> None:
    """Kill switch: deactivate now (no more scheduled ticks), optionally closing positions."""
    from workbench.bots.stop import stop_all, stop_bot
    from workbench.db import default_engine

    if (bot_id is None) == (not all_bots):
        raise ValidationError({"bot": "give a bot id or --all (not both)"}, entity="command")
    which = "EVERY bot" if all_bots else f"bot {bot_id}"
    closing = " and SELL its open positions at market" if close else ""
    if not yes:
        typer.confirm(f"Stop {which}{closing}?", abort=True)
    engine = default_engine()
    results = (
        stop_all(engine=engine, close=close)
        if all_bots
        else [stop_bot(bot_id, engine=engine, close=close)]  # type: ignore[arg-type]
    )
    if json_out:
        print_json(
            [
                {
                    "bot_id": r.bot_id,
                    "was_active": r.was_active,
                    "schedules_disabled": r.schedules,
                    "held": r.held,
                    "closed": None if r.order is None else vars(r.order),
                    "pnl": r.pnl,
                    "error": r.error,
                }
                for r in results
            ]
        )
    else:
        for result in results:
            typer.echo(result.summary())
    if any(r.error for r in results):
        raise typer.Exit(1)


@app.command()
def resolve(
    bot_id: int,
    adopt: bool = typer.Option(
        False, "--adopt", help="Make the bot's records hold what the exchange holds"
    ),
    close: bool = typer.Option(
        False,
        "--close",
        help="Cancel orders it never sent; sell what the exchange holds beyond its records",
    ),
    yes: bool = typer.Option(False, "--yes", help="Go ahead without asking"),
    json_out: bool = JsonOption,
) -> None:
    """Show why a bot was halted (reconciliation, a too long gap), then end the halt by adopting the
    exchange's view (--adopt) or closing the difference at market (--close)."""
    import sys

    from workbench.bots.exchanges import exchange_for_bot
    from workbench.bots.reconcile import halt_of
    from workbench.bots.reconcile import resolve as resolve_halt
    from workbench.db import default_engine, session_scope

    if adopt and close:
        raise ValidationError(
            {
                "--adopt/--close": "choose one: --adopt (take the exchange's position) or "
                "--close (close the difference at market)"
            },
            entity="command",
        )
    engine = default_engine()
    with session_scope(engine) as session:
        reason, evidence = halt_of(session=session, bot_id=bot_id)
        if adopt or close:
            bot = session.get_one(_bot_model(), bot_id)
            exchange = exchange_for_bot(session=session, engine=engine, bot=bot)
    if not (adopt or close):
        if json_out:
            print_json({"bot_id": bot_id, "reason": reason, "evidence": evidence})
        else:
            typer.echo(f"bot {bot_id} is halted: {reason}")
            for key, value in evidence.items():
                typer.echo(f"  {key:14} {value}")
            typer.echo("resolve it with --adopt or --close")
        return
    mode: Any = "adopt" if adopt else "close"
    if not yes:
        if not sys.stdin.isatty():
            raise ValidationError(
                {"--yes": f"resolving bot {bot_id} (--{mode}) needs --yes (or a terminal)"},
                entity="command",
            )
        typer.confirm(f"bot {bot_id} is halted: {reason}\n--{mode} it?", abort=True)
    typer.echo(resolve_halt(engine=engine, bot_id=bot_id, exchange=exchange, mode=mode))


@app.command("drift")
def drift_command(
    bot_id: int,
    start: str | None = Start,
    end: str | None = End,
    json_out: bool = JsonOption,
) -> None:
    """Live vs backtest: each bar where the bot's live decision, fill or fee differs from
    its backtest's, with its cause (candles, fill, fees, missed_tick, halt)."""
    from workbench.bots.drift_compare import bot_drift
    from workbench.db import default_engine

    first, last = _window(start, end)
    report = bot_drift(engine=default_engine(), bot_id=bot_id, start=first, end=last)
    if json_out:
        print_json(report.to_dict())
        return
    typer.echo(report.summary())
    if report.candles_unchecked:
        typer.echo(f"{report.candles_unchecked} bars not checked against stored candles")
    if report.divergences:
        rows = [d.to_dict() for d in report.divergences]
        print_table(rows, ["bar_time", "cause", "live", "backtest", "detail"])


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="bot")
    root.command()(backtest)
    root.command()(sweep)
