"""Live vs backtest, watched: a paper bot ticked over stored candles agrees with its
backtest; each cause of divergence, injected, shows with its class in `bot drift`, in the
daily report and as one alert per bar."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.bots.conftest import Setup, make_setup
from workbench.bots import update_bot
from workbench.bots.drift_compare import alert_divergences, alert_frame, bot_drift
from workbench.bots.report import daily_report
from workbench.bots.runner import TickResult, run_tick
from workbench.cli import app
from workbench.db import session_scope
from workbench.db.models import Alert, BotDrift
from workbench.market.candles import read_candles, upsert_candles
from workbench.market.paper import PaperExchange, PaperTerms
from workbench.settings import Settings

BARS = 300


def paper_with(setup: Setup, **terms: str) -> PaperExchange:
    """The setup's replay prices on a paper account with other terms (fee, slippage)."""
    return PaperExchange(
        engine=setup.engine,
        prices=setup.prices,
        account="terms",
        terms=PaperTerms(**{k: Decimal(v) for k, v in terms.items()}),
        initial_balances={"BTC": Decimal(10)},
    )


def tick_all(
    setup: Setup, exchange: PaperExchange | None = None, skip: frozenset[int] = frozenset()
) -> list[TickResult]:
    """Tick once per closed bar (bar i is decided at the open of bar i + 1), but not the
    bars in ``skip``."""
    results = []
    for i, moment in enumerate(setup.times[1:]):
        if i in skip:
            continue
        setup.prices.advance_to(moment)
        results.append(
            run_tick(setup.bot_id, engine=setup.engine, exchange=exchange or setup.paper)
        )
    return results


def causes(engine: Engine, bot_id: int) -> list[tuple[datetime, str]]:
    return [(d.bar_time, d.cause) for d in bot_drift(engine=engine, bot_id=bot_id).divergences]


def divergence_alerts(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        query = sa.select(Alert.dedupe_key).where(Alert.kind == "divergence")
        return list(conn.scalars(query.order_by(Alert.id)))


@pytest.fixture
def setup(engine: Engine, shared_data: Path) -> Setup:
    return make_setup(engine, shared_data, bars=BARS)


def test_a_paper_bot_agrees_with_its_backtest(setup: Setup) -> None:
    results = tick_all(setup)
    orders = [r for r in results if r.order is not None]
    assert len(orders) >= 6, "too few orders to say anything"

    report = bot_drift(engine=setup.engine, bot_id=setup.bot_id)
    assert report.bars == BARS - 1 and report.agreeing == BARS - 1
    assert report.divergences == [] and report.candles_unchecked == 0
    with setup.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                BotDrift.bar_time,
                BotDrift.live_decision,
                BotDrift.backtest_decision,
                BotDrift.live_price,
                BotDrift.backtest_price,
            ).order_by(BotDrift.bar_time)
        ).all()
    assert [r.bar_time for r in rows] == setup.times[: BARS - 1]
    assert [r.live_decision for r in rows] == [r.backtest_decision for r in rows]
    # Every live order has the backtest's fill beside it, at the same price.
    filled = [r for r in rows if r.live_price is not None]
    assert len(filled) == len(orders)
    assert all(float(r.backtest_price) == pytest.approx(float(r.live_price)) for r in filled)
    assert divergence_alerts(setup.engine) == []


def test_a_stored_candle_changed_after_the_tick_is_a_candle_divergence(
    setup: Setup, settings: Settings
) -> None:
    tick_all(setup)
    stored = read_candles(engine=setup.engine, exchange="binance", symbol="ETH/BTC", timeframe="5m")
    changed = stored.iloc[[150]].copy()
    changed["close"] = (changed["high"] + changed["low"]) / 2  # the exchange's revision
    assert changed["close"].iloc[0] != stored["close"].iloc[150]
    upsert_candles(
        engine=setup.engine, exchange="binance", symbol="ETH/BTC", timeframe="5m", frame=changed
    )
    bar = setup.times[150]

    result = CliRunner().invoke(app, ["bot", "drift", str(setup.bot_id), "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["bars"] == BARS - 1 and found["diverging"] == 1
    assert found["by_cause"]["candles"] == 1 and sum(found["by_cause"].values()) == 1
    (divergence,) = found["divergences"]
    assert divergence["bar_time"] == bar.isoformat() and divergence["cause"] == "candles"
    assert "close" in divergence["detail"] and "open" not in divergence["detail"]

    text = CliRunner().invoke(app, ["bot", "drift", str(setup.bot_id)])
    assert text.exit_code == 0, text.output
    assert f"{BARS - 1} bars compared, {BARS - 2} agree, 1 diverge (candles 1)" in text.stdout

    report = daily_report(engine=setup.engine, day=bar.date())
    assert report.drift[["bot_id", "cause"]].values.tolist() == [[setup.bot_id, "candles"]]
    assert report.drift["bar_time"].tolist() == [pd.Timestamp(bar)]
    row = report.summary.set_index("bot_id").loc[setup.bot_id]
    assert row["divergences"] == 1
    other_day = [d for d in {t.date() for t in setup.times} if d != bar.date()]
    assert daily_report(engine=setup.engine, day=other_day[0]).drift.empty
    # Found only now, alerted by the report, once.
    assert divergence_alerts(setup.engine) == []
    assert alert_frame(engine=setup.engine, frame=report.drift) == 1
    assert alert_frame(engine=setup.engine, frame=report.drift) == 0
    assert divergence_alerts(setup.engine) == [f"divergence:{setup.bot_id}:{bar.isoformat()}"]


def test_fills_beyond_the_slippage_are_fill_divergences_alerted_once_per_bar(
    setup: Setup,
) -> None:
    results = tick_all(setup, paper_with(setup, slippage="0.002"))
    order_bars = [r.bar_time for r in results if r.order is not None]
    found = causes(setup.engine, setup.bot_id)
    assert {cause for _, cause in found} == {"fill"}
    # Each order but the last (its backtest fill is a bar later) filled 0.2 % worse.
    fills = [bar for bar, cause in found if cause == "fill"]
    assert set(order_bars[:-1]) <= set(fills)
    report = bot_drift(engine=setup.engine, bot_id=setup.bot_id)
    detail = next(d.detail for d in report.divergences if d.bar_time == order_bars[0])
    assert "0.2000% worse" in detail

    keys = divergence_alerts(setup.engine)
    assert len(keys) == len(set(keys)) == report.diverging
    assert f"divergence:{setup.bot_id}:{order_bars[0].isoformat()}" in keys
    with session_scope(setup.engine) as session:
        assert alert_divergences(session=session, divergences=report.divergences) == 0


def test_a_fee_other_than_the_configured_rate_is_a_fee_divergence(setup: Setup) -> None:
    results = tick_all(setup, paper_with(setup, fee_rate="0.0005"))
    order_bars = [r.bar_time for r in results if r.order is not None]
    report = bot_drift(engine=setup.engine, bot_id=setup.bot_id)
    assert {d.cause for d in report.divergences} == {"fees"}
    assert [d.bar_time for d in report.divergences] == order_bars
    assert "is 0.0500% of" in report.divergences[0].detail
    assert "configured 0.1000%" in report.divergences[0].detail


def test_a_skipped_bar_where_the_backtest_acted_is_a_missed_tick(
    engine: Engine, shared_data: Path
) -> None:
    clean = make_setup(engine, shared_data, bars=BARS, account="clean")
    entries = [i for i, r in enumerate(tick_all(clean)) if r.decision == "enter"]
    skipped = make_setup(engine, shared_data, bars=BARS, account="skipped")
    tick_all(skipped, skip=frozenset({entries[1]}))

    found = causes(engine, skipped.bot_id)
    assert found[0] == (skipped.times[entries[1]], "missed_tick")
    assert {cause for _, cause in found} == {"missed_tick"}  # what follows, follows from it
    assert causes(engine, clean.bot_id) == []
    report = bot_drift(engine=engine, bot_id=skipped.bot_id)
    assert report.bars == BARS - 1  # the missed bar is compared too
    assert "no live tick decided this bar; the backtest would enter" in report.divergences[0].detail


def test_a_daily_loss_halt_the_backtest_did_not_have_is_a_halt(setup: Setup) -> None:
    # Fills 2 % worse than the backtest's lose the live bot 1 % of the day: it halts.
    with session_scope(setup.engine) as session:
        update_bot(session=session, bot_id=setup.bot_id, max_daily_loss_perc="1")
    results = tick_all(setup, paper_with(setup, slippage="0.02"))
    halted = {r.bar_time for r in results if r.reason.startswith("halted for the day")}
    assert halted, "the live fills never lost enough to halt"

    report = bot_drift(engine=setup.engine, bot_id=setup.bot_id)
    halts = [d for d in report.divergences if d.cause == "halt"]
    assert halts and {d.bar_time for d in halts} <= halted
    assert all(d.live.startswith("hold (halted for the day") for d in halts)
    assert all(d.backtest.startswith(("enter", "exit")) for d in halts)
    assert report.by_cause()["fill"] >= 1


def test_drift_of_an_unknown_bot_is_a_clear_error(settings: Settings) -> None:
    result = CliRunner().invoke(app, ["bot", "drift", "999"])
    assert result.exit_code == 2  # rejected: bad input
    assert "no bot with id 999" in result.stderr


def test_an_order_settled_by_the_next_tick_after_a_crash_still_agrees(setup: Setup) -> None:
    """A tick that dies after the exchange took its order records nothing; the tick run
    again settles the order and records it at the bar it was decided for."""
    from tests.bots.test_runner import Crash, CrashingExchange

    entered = False
    for moment in setup.times[1:]:
        setup.prices.advance_to(moment)
        exchange = setup.paper if entered else CrashingExchange(setup.paper, "after_accept")
        try:
            run_tick(setup.bot_id, engine=setup.engine, exchange=exchange)
        except Crash:
            entered = True  # the scheduler runs the tick again, in the same bar
            again = run_tick(setup.bot_id, engine=setup.engine, exchange=setup.paper)
            assert again.decision == "enter" and again.order is not None
    assert entered
    report = bot_drift(engine=setup.engine, bot_id=setup.bot_id)
    assert report.bars == BARS - 1 and report.divergences == []


def test_a_tick_gap_that_halts_the_bot_is_a_halt_not_alerted_twice(setup: Setup) -> None:
    for moment in setup.times[1:31]:
        setup.prices.advance_to(moment)
        run_tick(setup.bot_id, engine=setup.engine, exchange=setup.paper)
    setup.prices.advance_to(setup.times[42])
    halted = run_tick(setup.bot_id, engine=setup.engine, exchange=setup.paper, catch_up_bars=10)
    assert halted.decision == "halt"

    report = bot_drift(engine=setup.engine, bot_id=setup.bot_id)
    at_halt = [d for d in report.divergences if d.bar_time == halted.bar_time]
    assert [d.cause for d in at_halt] == ["halt"] and at_halt[0].live.startswith("halt (")
    assert report.bars == 42  # bars 0 to 41: the 11 no tick decided are compared too
    with setup.engine.connect() as conn:
        kinds = list(conn.scalars(sa.select(Alert.kind)))
    assert kinds.count("halt") == 1
    assert f"divergence:{setup.bot_id}:{halted.bar_time.isoformat()}" not in divergence_alerts(
        setup.engine
    )
