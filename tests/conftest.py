"""Shared fixtures: real SQLite and PostgreSQL databases, real Redis, an isolated home.

PostgreSQL and Redis tests skip when the server is unreachable, except in CI (CI=true),
where a missing service fails the run.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from tests.fakes.binance import API_KEY, SECRET, FakeBinanceServer
from workbench.accounts.api_keys import Credentials
from workbench.cache import Cache, EmbeddedCache, RedisCache
from workbench.db import Base, make_engine
from workbench.market.ccxt_adapter import CcxtExchange
from workbench.market.retry import RetryPolicy
from workbench.settings import Settings, get_settings

if TYPE_CHECKING:
    from workbench.db.models import BotConfig

PG_ADMIN_URL = os.environ.get(
    "WORKBENCH_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("WORKBENCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"
# Notebooks the job tests run on purpose (failing, sleeping, killing the kernel): not for nbval.
collect_ignore_glob = ["jobs/notebooks/*.ipynb"]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# Tests that start Jupyter kernels (papermill job runs, nbval notebooks), a Celery worker, a
# browser, the demo, long replays or a process killed at every step: marked ``slow`` here,
# so ``pytest -m "not slow"`` is the quick development suite. CI (the README's test
# command) runs every test.
SLOW_PATHS = (
    "notebooks/",
    "tests/browser/",
    "tests/test_demo.py",
    "tests/jobs/test_celery.py",
    "tests/jobs/test_job_notebooks.py",
    "tests/jobs/test_job_notebook_endings.py",
)
SLOW_TESTS = {
    "tests/bots/test_parity.py": {"test_replay_makes_the_backtest_trades"},
    "tests/bots/test_runner.py": {"test_crashes_at_every_step_lose_and_double_nothing"},
    "tests/test_cli_bots.py": {"test_bot_lifecycle_backtest_and_replay_agree"},
    "tests/jobs/test_cli_jobs.py": {"test_run_success_then_failure_then_list_and_show"},
    "tests/jobs/test_runner.py": {
        "test_parameterized_notebook_succeeds",
        "test_failing_notebook_records_the_cell_and_keeps_the_output",
        "test_run_past_its_timeout_is_stopped_and_timed_out",
        "test_a_dying_kernel_fails_the_run_without_hanging",
        "test_planted_secrets_never_reach_an_output_file",
        "test_a_queued_run_executes_once",
        "test_a_terminated_run_ends_failed_not_running",
    },
    "tests/jobs/test_scheduler.py": {"test_local_executor_runs_the_notebook_in_a_child_process"},
    "tests/test_cli_lab.py": {"test_lab_serves_the_notebooks_from_anywhere"},
    "tests/widgets/test_jobs.py": {
        "test_run_now_records_runs_the_table_shows",
        "test_links_open_in_a_real_jupyterlab",
    },
}


def is_slow(path: str, name: str) -> bool:
    """``path`` relative to the repository, ``name`` the test function's (no parameters)."""
    return path.startswith(SLOW_PATHS) or name in SLOW_TESTS.get(path, ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = item.path.resolve().relative_to(config.rootpath.resolve()).as_posix()
        if is_slow(path, getattr(item, "originalname", item.name)):
            item.add_marker(pytest.mark.slow)


def _unavailable(service: str, why: object) -> None:
    message = f"{service} is not reachable ({why})"
    if IN_CI:
        pytest.fail(f"{message}; CI requires it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the maintenance database, for CREATE/DROP DATABASE."""
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as e:
        engine.dispose()
        _unavailable("PostgreSQL", str(e.orig).strip().splitlines()[0])
    yield engine
    engine.dispose()


def stamp_head(eng: Engine) -> None:
    """Mark a database made by ``create_all`` as being at the newest migration, as
    ``workbench init`` leaves it (commands that need a ready database check the revision)."""
    from workbench.db import migrate

    with eng.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        )
        conn.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": migrate.head()})


def new_pg_database(pg_admin: Engine) -> str:
    name = f"wb_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(pg_admin: Engine, url: str) -> None:
    name = make_url(url).database
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of each kind (no tables)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'workbench.db'}"
        return
    pg_admin = request.getfixturevalue("pg_admin")
    url = new_pg_database(pg_admin)
    yield url
    drop_pg_database(pg_admin, url)


@pytest.fixture(scope="session")
def pg_tables_url(pg_admin: Engine) -> Iterator[str]:
    """One PostgreSQL database per test session with every table; tests truncate it."""
    url = new_pg_database(pg_admin)
    eng = make_engine(url)
    Base.metadata.create_all(eng)
    stamp_head(eng)
    eng.dispose()
    yield url
    drop_pg_database(pg_admin, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database of each kind, with every table created."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'workbench.db'}")
        Base.metadata.create_all(eng)
        stamp_head(eng)
    else:
        eng = make_engine(request.getfixturevalue("pg_tables_url"))
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with eng.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield eng
    eng.dispose()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated WORKBENCH_HOME with default (SQLite) settings."""
    path = tmp_path / "home"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORKBENCH_HOME", str(path))
    for var in ("WORKBENCH_DATABASE_URL", "WORKBENCH_REDIS_URL", "WORKBENCH_SECRET_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WORKBENCH_ENV", "development")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.fixture
def settings(home: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings pointing at the fresh ``engine`` database and the isolated home."""
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def session(engine: Engine) -> Iterator[sa.orm.Session]:
    """A session on the fresh database; the test commits or not as it likes."""
    with sa.orm.Session(engine, expire_on_commit=False) as s:
        yield s


BOT_MARKET = {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "5m"}
MakeBot = Callable[..., "BotConfig"]  # the make_bot fixture


@pytest.fixture
def make_bot(session: sa.orm.Session) -> MakeBot:
    """``make_bot(**fields)``: a bot of the local user on the fresh database, made by the
    bot service (validated as the CLI and the form validate) and committed. Any bot config
    field or strategy parameter overrides the defaults: ``bot-1``, ``bot-2``... on binance
    BTC/USDT 5m with ema_cross."""
    from workbench.accounts import local_user
    from workbench.bots import create_bot

    numbers = itertools.count(1)

    def make(**overrides: Any) -> BotConfig:
        fields = {"name": f"bot-{next(numbers)}", **BOT_MARKET, **overrides}
        bot = create_bot(session=session, user_id=local_user(session=session).id, **fields)
        session.commit()
        return bot

    return make


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as e:
        _unavailable("Redis", e)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture(params=["embedded", "redis"])
def cache(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cache]:
    """A cache in a fresh namespace of each backend; cleared afterwards."""
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    backend: Cache
    if request.param == "embedded":
        backend = EmbeddedCache(tmp_path / "cache", namespace=namespace)
    else:
        backend = RedisCache(request.getfixturevalue("redis_url"), namespace=namespace)
    yield backend
    backend.clear()
    backend.close()


FAST_RETRY = RetryPolicy(attempts=3, first_wait=0.01, max_wait=0.05, max_delay=5)


@pytest.fixture
def binance_server() -> Iterator[FakeBinanceServer]:
    with FakeBinanceServer() as server:
        server.state.delay_seconds = 1.0
        yield server


@pytest.fixture
def binance(binance_server: FakeBinanceServer) -> CcxtExchange:
    """An adapter with its markets loaded, so every later request is the one under test."""
    return fake_binance_client(binance_server)


def fake_binance_client(server: FakeBinanceServer, *, settle_seconds: float = 3.0) -> CcxtExchange:
    """The real ccxt adapter on ``server``, markets loaded; ``settle_seconds``: how long an
    order of unknown fate is looked for before its tick fails."""
    exchange = CcxtExchange(
        "binance",
        credentials=Credentials(API_KEY, SECRET),
        api_urls=server.api_urls(),
        retry=FAST_RETRY,
        timeout_ms=500,
        settle_seconds=settle_seconds,
    )
    exchange.load_markets()
    return exchange


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: real Binance candles (CSV: timestamp ms, open, high, low, close, volume)."""
    if not (SHARED_DATA / "ETH_BTC-5m.csv").exists():
        pytest.fail(f"real candle data not found at {SHARED_DATA}; clone the repo beside shared/")
    return SHARED_DATA
