"""``workbench strategy list|show|check``: the strategies, their parameters and safety nets.

Strategy files are loaded only by these commands (and those that run a strategy), so the
CLI starts without importing them.
"""

from __future__ import annotations

from typing import Any

import typer

from workbench.cli.common import EXIT_REJECTED, JsonOption, print_json, print_table

app = typer.Typer(no_args_is_help=True, help="Strategies: list, show, check for look-ahead.")
ParamOption = typer.Option([], "-p", "--param", help="NAME=VALUE, a strategy parameter")


def describe(strategy: Any) -> dict[str, Any]:
    return {
        "name": strategy.name,
        "description": strategy.description,
        "parameters": [p.describe() for p in strategy.params],
        "source": strategy.where,
        "fingerprint": strategy.fingerprint,
        "builtin": strategy.builtin,
    }


@app.command("list")
def list_command(json_out: bool = JsonOption) -> None:
    """Every strategy: built-ins and those of strategy files."""
    from workbench.strategies import all_strategies

    rows = [describe(s) for s in all_strategies().values()]
    if json_out:
        print_json(rows)
        return
    print_table(
        [
            {
                "name": r["name"],
                "parameters": " ".join(
                    f"{p['name']}={p['default']}[{_bounds(p)}]" for p in r["parameters"]
                ),
                "fingerprint": r["fingerprint"],
                "source": r["source"],
            }
            for r in rows
        ]
    )


def _bounds(param: dict[str, Any]) -> str:
    if "choices" in param:
        return "|".join(map(str, param["choices"]))
    if param["kind"] == "bool":
        return "bool"
    return f"{param['low']}..{param['high']}"


@app.command()
def show(name: str, json_out: bool = JsonOption) -> None:
    """One strategy: what it does, its parameters with bounds, where its code is."""
    from workbench.strategies import get_strategy

    strategy = get_strategy(name)
    row = describe(strategy)
    if json_out:
        print_json(row)
        return
    typer.echo(f"{row['name']}: {row['description']}")
    if strategy.entry_rule:
        typer.echo(f"  entry: {strategy.entry_rule}")
        typer.echo(f"  exit:  {strategy.exit_rule}")
    typer.echo(f"  source: {row['source']}  fingerprint: {row['fingerprint']}")
    for p in row["parameters"]:
        help_text = f"  {p['help']}" if p.get("help") else ""
        typer.echo(
            f"  {p['name']:20} {p['kind']:6} default {p['default']!s:8} {_bounds(p)}{help_text}"
        )


@app.command()
def check(
    name: str,
    params: list[str] = ParamOption,
    exchange: str | None = typer.Option(None, "--exchange"),
    symbol: str | None = typer.Option(None, "--symbol"),
    timeframe: str | None = typer.Option(None, "--timeframe"),
    bars: int = typer.Option(6000, "--bars", min=20, help="Newest stored bars to check on"),
    json_out: bool = JsonOption,
) -> None:
    """Look-ahead check (signals on truncated histories vs the full one) and warm-up
    measure; exits 2 naming the first differing bar and series on look-ahead."""
    from workbench.backtest.configs import stored_candles
    from workbench.cli.bots import parse_fields
    from workbench.db import default_engine
    from workbench.errors import ValidationError
    from workbench.strategies import get_strategy
    from workbench.strategies.check import check_strategy

    missing = [
        n
        for n, v in (("--exchange", exchange), ("--symbol", symbol), ("--timeframe", timeframe))
        if not v
    ]
    if missing:
        raise ValidationError({"options": f"give {', '.join(missing)}"}, entity="check")
    strategy = get_strategy(name)
    values = strategy.validate(parse_fields(params), text=True)
    candles = stored_candles(
        engine=default_engine(),
        exchange=str(exchange),
        symbol=str(symbol),
        timeframe=str(timeframe),
    ).tail(bars)
    report = check_strategy(strategy, candles, values)
    if json_out:
        print_json(report.as_dict())
    else:
        typer.echo(report.summary())
        if report.passed:
            typer.echo(f"a live tick reads at least {report.history_bars} bars")
    if not report.passed:
        raise typer.Exit(EXIT_REJECTED)
