"""The contract every cache backend keeps: each test runs on the embedded and the Redis one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from cache_helpers import Child, make_candles

from workbench.cache import Cache, LockBusyError, LockLostError
from workbench.cache.codecs import decode, encode_frame
from workbench.errors import OperationalError, RejectedError, TemporaryError

Spawn = Callable[..., Child]


def wait_until(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.monotonic()))


def put(cache: Cache, key: str, value: object, *, ttl: float) -> None:
    """Store ``value`` as ``read_through`` stores what it fetched."""
    cache.store_with_last_good(key, value, ttl=ttl, last_good_ttl=ttl)


def frame_of(cache: Cache, key: str) -> pd.DataFrame | None:
    entry = cache.get_entry(key)
    assert entry is None or entry.kind == "frame"
    return None if entry is None else entry.value


# ---- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        {"symbol": "BTC/USDT", "bid": 42000.5, "sizes": [1, 2, 3], "ok": True, "note": None},
        [1, "two", 3.0, False, {"nested": ["ü", "€"]}],
        "plain text",
        12345678901234,
        0.1,
        None,
    ],
)
def test_json_round_trip(cache: Cache, value: object) -> None:
    cache.set_json("k", value, ttl=30)
    assert cache.get_json("k", default="missing") == value
    assert cache.exists("k")


def test_missing_key_gives_the_default(cache: Cache) -> None:
    assert cache.get_json("nope") is None
    assert cache.get_json("nope", default={"empty": True}) == {"empty": True}
    assert frame_of(cache, "nope") is None
    assert cache.get_entry("nope") is None
    assert not cache.exists("nope")


def test_candle_frame_round_trips_exactly(cache: Cache, candles: pd.DataFrame) -> None:
    put(cache, "candles", candles, ttl=30)
    got = frame_of(cache, "candles")
    assert got is not None
    pd.testing.assert_frame_equal(got, candles, check_exact=True, check_freq=True)
    assert isinstance(got.index, pd.DatetimeIndex)
    assert str(got.index.tz) == "UTC"
    assert got.index.name == "timestamp"
    assert got.index.freq == candles.index.freq
    assert got.dtypes.to_dict() == candles.dtypes.to_dict()


def test_mixed_dtype_frame_round_trips_exactly(cache: Cache) -> None:
    frame = pd.DataFrame(
        {
            "price": [1.5, np.nan, 3.25],
            "count": np.array([1, 2, 3], dtype="int64"),
            "small": np.array([1, 2, 3], dtype="int32"),
            "flag": [True, False, True],
            "maybe": pd.array([1, None, 3], dtype="Int64"),
            "side": pd.Categorical(["buy", "sell", "buy"]),
            "label": pd.array(["a", None, "c"], dtype="string"),
            "at": pd.to_datetime(["2024-01-01", "2024-01-02", None]).tz_localize("UTC"),
        },
        index=pd.Index([10, 20, 30], name="bar"),
    )
    put(cache, "mixed", frame, ttl=30)
    got = frame_of(cache, "mixed")
    assert got is not None
    pd.testing.assert_frame_equal(got, frame, check_exact=True)
    assert got.dtypes.to_dict() == frame.dtypes.to_dict()


def test_empty_frame_round_trips(cache: Cache) -> None:
    frame = make_candles(0)
    put(cache, "empty", frame, ttl=30)
    got = frame_of(cache, "empty")
    assert got is not None
    pd.testing.assert_frame_equal(got, frame)


def test_compressed_frame_round_trips(candles: pd.DataFrame) -> None:
    for codec in ("lz4", "zstd"):
        got = decode(encode_frame(candles, compression=codec)).value
        pd.testing.assert_frame_equal(got, candles, check_exact=True)


def test_json_and_frame_keys_are_not_confused(cache: Cache, candles: pd.DataFrame) -> None:
    put(cache, "f", candles, ttl=30)
    cache.set_json("j", [1], ttl=30)
    with pytest.raises(RejectedError, match="holds a DataFrame, not JSON"):
        cache.get_json("f")
    assert [cache.get_entry(k).kind for k in ("f", "j")] == ["frame", "json"]  # type: ignore[union-attr]


def test_unstorable_values_are_rejected(cache: Cache) -> None:
    with pytest.raises(RejectedError, match="JSON"):
        cache.set_json("k", {"when": datetime.now(UTC)}, ttl=30)
    with pytest.raises(RejectedError, match="JSON"):
        put(cache, "k", {1, 2, 3}, ttl=30)
    assert not cache.exists("k")


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf"), "60"])
def test_every_set_needs_a_positive_ttl(cache: Cache, ttl: object, candles: pd.DataFrame) -> None:
    with pytest.raises(RejectedError, match="TTL"):
        cache.set_json("k", 1, ttl=ttl)  # type: ignore[arg-type]
    with pytest.raises(RejectedError, match="TTL"):
        put(cache, "k", candles, ttl=ttl)  # type: ignore[arg-type]


def test_values_expire_after_their_ttl(cache: Cache, candles: pd.DataFrame) -> None:
    start = time.monotonic()
    cache.set_json("short", {"a": 1}, ttl=0.6)
    put(cache, "short-frame", candles, ttl=0.6)
    cache.set_json("long", {"a": 2}, ttl=30)
    assert cache.get_json("short") == {"a": 1}
    assert cache.exists("short-frame")
    wait_until(start + 0.75)
    assert cache.get_json("short") is None
    assert not cache.exists("short")
    assert frame_of(cache, "short-frame") is None
    assert cache.get_json("long") == {"a": 2}


def test_set_overwrites_and_restarts_the_ttl(cache: Cache) -> None:
    cache.set_json("k", 1, ttl=0.3)
    cache.set_json("k", 2, ttl=30)
    time.sleep(0.4)
    assert cache.get_json("k") == 2


def test_delete(cache: Cache) -> None:
    cache.set_json("k", 1, ttl=30)
    assert cache.delete("k") is True
    assert cache.get_json("k") is None
    assert cache.delete("k") is False


def test_entry_carries_the_stored_time(cache: Cache) -> None:
    before = datetime.now(UTC)
    cache.set_json("k", "v", ttl=30)
    entry = cache.get_entry("k")
    assert entry is not None
    assert (entry.value, entry.kind) == ("v", "json")
    assert before - timedelta(seconds=1) <= entry.stored_at <= datetime.now(UTC)


def test_namespaces_are_isolated(cache: Cache, open_cache: Callable[[str], Cache]) -> None:
    other = open_cache(cache.namespace + "-other")
    try:
        cache.set_json("k", "mine", ttl=30)
        other.set_json("k", "theirs", ttl=30)
        assert cache.get_json("k") == "mine"
        assert other.get_json("k") == "theirs"
        assert cache.clear() >= 1
        assert cache.get_json("k") is None
        assert other.get_json("k") == "theirs"
    finally:
        other.clear()
        other.close()


@pytest.mark.parametrize("namespace", ["", "has space", "a:b", "x" * 65, "star*"])
def test_bad_namespace_is_rejected(namespace: str, open_cache: Callable[[str], Cache]) -> None:
    with pytest.raises(RejectedError, match="namespace"):
        open_cache(namespace)


# ---- read_through ---------------------------------------------------------------------------


class Upstream:
    """A fetch function whose answers the test scripts: a value or an exception."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def test_read_through_miss_then_hit(cache: Cache) -> None:
    fetch = Upstream({"price": 1.0})
    first = cache.read_through("ticker", fetch, ttl=30, family="tickers")
    assert (first.value, first.stale, first.hit) == ({"price": 1.0}, False, False)
    assert first.error is None
    second = cache.read_through("ticker", fetch, ttl=30, family="tickers")
    assert (second.value, second.stale, second.hit) == ({"price": 1.0}, False, True)
    assert second.fetched_at == first.fetched_at
    assert fetch.calls == 1


def test_read_through_refetches_after_the_ttl(cache: Cache) -> None:
    fetch = Upstream(1, 2)
    assert cache.read_through("k", fetch, ttl=0.2, family="f").value == 1
    time.sleep(0.3)
    got = cache.read_through("k", fetch, ttl=0.2, family="f")
    assert (got.value, got.stale, got.hit) == (2, False, False)


@pytest.mark.parametrize(
    "error",
    [
        TemporaryError("exchange timed out"),
        OperationalError("exchange is down for maintenance"),
        ConnectionResetError("connection reset by peer"),
    ],
)
def test_read_through_serves_last_good_when_upstream_fails(cache: Cache, error: Exception) -> None:
    fetch = Upstream({"price": 1.0}, error)
    fresh = cache.read_through("ticker", fetch, ttl=0.2, family="tickers")
    time.sleep(0.3)
    got = cache.read_through("ticker", fetch, ttl=0.2, family="tickers")
    assert got.value == {"price": 1.0}
    assert got.stale is True
    assert got.hit is False
    assert got.fetched_at == fresh.fetched_at
    assert got.error == f"{type(error).__name__}: {error}"
    assert not cache.exists("ticker")  # a stale value is not re-cached as fresh
    stats = cache.stats()["tickers"]
    assert (stats.misses, stats.fetch_errors, stats.stale_served) == (2, 1, 1)


def test_read_through_last_good_works_for_frames(cache: Cache, candles: pd.DataFrame) -> None:
    fetch = Upstream(candles, TemporaryError("rate limited by exchange"))
    cache.read_through("candles", fetch, ttl=0.2, family="candles")
    time.sleep(0.3)
    got = cache.read_through("candles", fetch, ttl=0.2, family="candles")
    assert got.stale
    pd.testing.assert_frame_equal(got.value, candles, check_exact=True)


def test_read_through_reraises_without_last_good(cache: Cache) -> None:
    with pytest.raises(TemporaryError, match="timed out"):
        cache.read_through("k", Upstream(TemporaryError("timed out")), ttl=30, family="f")
    assert cache.stats()["f"].fetch_errors == 1


def test_read_through_after_delete_with_last_good_reraises(cache: Cache) -> None:
    fetch = Upstream(1, TemporaryError("down"))
    cache.read_through("k", fetch, ttl=30, family="f")
    cache.delete("k", last_good=True)
    with pytest.raises(TemporaryError):
        cache.read_through("k", fetch, ttl=30, family="f")


def test_read_through_after_plain_delete_keeps_last_good(cache: Cache) -> None:
    fetch = Upstream(1, TemporaryError("down"))
    cache.read_through("k", fetch, ttl=30, family="f")
    cache.delete("k")
    assert cache.read_through("k", fetch, ttl=30, family="f").stale


@pytest.mark.parametrize("error", [RejectedError("unknown symbol"), KeyError("bug in fetch")])
def test_read_through_does_not_hide_bad_requests_or_bugs(cache: Cache, error: Exception) -> None:
    fetch = Upstream(1, error)
    cache.read_through("k", fetch, ttl=0.2, family="f")
    time.sleep(0.3)
    with pytest.raises(type(error)):
        cache.read_through("k", fetch, ttl=0.2, family="f")


def test_read_through_fallback_on_is_configurable(cache: Cache) -> None:
    fetch = Upstream(1, KeyError("odd upstream"), RejectedError("bad"))
    cache.read_through("k", fetch, ttl=0.2, family="f", fallback_on=(Exception,))
    time.sleep(0.3)
    got = cache.read_through("k", fetch, ttl=0.2, family="f", fallback_on=(Exception,))
    assert got.stale and got.value == 1
    with pytest.raises(RejectedError):  # never served stale, whatever fallback_on says
        cache.read_through("k", fetch, ttl=0.2, family="f", fallback_on=(Exception,))


def test_read_through_last_good_expires_too(cache: Cache) -> None:
    fetch = Upstream(1, TemporaryError("down"))
    cache.read_through("k", fetch, ttl=0.2, family="f", last_good_ttl=0.3)
    time.sleep(0.4)
    with pytest.raises(TemporaryError):
        cache.read_through("k", fetch, ttl=0.2, family="f")


def test_read_through_checks_ttls_before_fetching(cache: Cache) -> None:
    fetch = Upstream(1)
    with pytest.raises(RejectedError, match="ttl"):
        cache.read_through("k", fetch, ttl=0, family="f")
    assert fetch.calls == 0


# ---- counters -------------------------------------------------------------------------------


def test_stats_count_hits_misses_and_refreshes(cache: Cache) -> None:
    assert cache.stats() == {}
    before = datetime.now(UTC)
    cache.read_through("a", Upstream(1), ttl=30, family="tickers")
    cache.read_through("a", Upstream(), ttl=30, family="tickers")
    cache.read_through("a", Upstream(), ttl=30, family="tickers")
    cache.read_through("b", Upstream(2), ttl=30, family="candles:5m")
    cache.get_json("a", family="tickers")
    cache.get_json("zzz", family="tickers")
    stats = cache.stats()
    assert set(stats) == {"tickers", "candles:5m"}
    tickers = stats["tickers"]
    assert (tickers.hits, tickers.misses, tickers.stale_served) == (3, 2, 0)
    assert tickers.last_refresh is not None
    assert before - timedelta(seconds=1) <= tickers.last_refresh <= datetime.now(UTC)
    assert (stats["candles:5m"].hits, stats["candles:5m"].misses) == (0, 1)


def test_record_rejects_unknown_counters(cache: Cache) -> None:
    with pytest.raises(RejectedError, match="counter"):
        cache.record("f", "bogus")


# ---- locks ----------------------------------------------------------------------------------


def test_lock_is_exclusive(cache: Cache) -> None:
    with cache.lock("bot:3:tick", timeout=30) as held:
        assert held.name == "bot:3:tick"
        with (
            pytest.raises(LockBusyError, match="bot 3 is already running a tick"),
            cache.lock("bot:3:tick", timeout=30, busy_message="bot 3 is already running a tick"),
        ):
            pass
        with cache.lock("bot:4:tick", timeout=30):
            pass
    with cache.lock("bot:3:tick", timeout=30):
        pass


def test_lock_busy_is_a_temporary_error(cache: Cache) -> None:
    with cache.lock("x", timeout=30), pytest.raises(TemporaryError, match="'x' is held"):
        cache.lock("x", timeout=30).__enter__()


def test_lock_is_released_when_the_block_raises(cache: Cache) -> None:
    with pytest.raises(ValueError, match="tick failed"), cache.lock("x", timeout=30):
        raise ValueError("tick failed")
    with cache.lock("x", timeout=30):
        pass


def test_blocking_lock_waits_then_gives_up(cache: Cache) -> None:
    with cache.lock("x", timeout=30):
        start = time.monotonic()
        with pytest.raises(LockBusyError), cache.lock("x", timeout=30, blocking=True, wait=0.2):
            pass
        assert 0.1 <= time.monotonic() - start < 2


def test_blocking_lock_gets_it_when_released(cache: Cache) -> None:
    outer = cache.lock("x", timeout=30)
    outer.__enter__()
    threading.Timer(0.2, outer.__exit__, (None, None, None)).start()
    with cache.lock("x", timeout=30, blocking=True, wait=5):
        pass


def test_overrunning_the_lock_timeout_is_reported(cache: Cache) -> None:
    with pytest.raises(LockLostError, match="expired"), cache.lock("x", timeout=0.2):
        time.sleep(0.3)
    with pytest.raises(ValueError, match="boom") as info, cache.lock("x", timeout=0.2):
        time.sleep(0.3)
        raise ValueError("boom")
    assert "expired" in " ".join(info.value.__notes__)


def test_a_lock_lost_before_its_timeout_says_so(cache: Cache) -> None:
    """A Redis restart (or flush) drops every key: the holder learns it at release, and the
    error says what happened, not that it overran its timeout."""
    with pytest.raises(LockLostError) as info, cache.lock("x", timeout=30):
        cache.clear()
    message = str(info.value)
    assert "was lost after 0." in message and "before its timeout=30" in message
    assert "longer than" not in message


def test_a_late_holder_does_not_release_the_next_holders_lock(cache: Cache) -> None:
    first = cache.lock("x", timeout=0.2)
    first.__enter__()
    time.sleep(0.3)
    with cache.lock("x", timeout=30):
        with pytest.raises(LockLostError):
            first.__exit__(None, None, None)
        with pytest.raises(LockBusyError):  # still ours, not freed by the late holder
            cache.lock("x", timeout=30).__enter__()


def test_lock_is_exclusive_across_processes(cache: Cache, spawn: Spawn) -> None:
    child = spawn("hold-lock", "bot:3:tick", "30")
    child.expect("locked")
    with pytest.raises(LockBusyError), cache.lock("bot:3:tick", timeout=30):
        pass
    child.send()
    child.expect("released")
    child.finish()
    with cache.lock("bot:3:tick", timeout=30):
        pass


def test_lock_of_a_crashed_holder_expires(cache: Cache, spawn: Spawn) -> None:
    child = spawn("hold-lock", "bot:3:tick", "1.5")
    child.expect("locked")
    acquired = time.monotonic()
    child.crash()
    with pytest.raises(LockBusyError), cache.lock("bot:3:tick", timeout=30):
        pass
    with cache.lock("bot:3:tick", timeout=30, blocking=True, wait=5):
        assert time.monotonic() - acquired < 4


# ---- sharing between processes --------------------------------------------------------------


def test_values_and_counters_are_shared_between_processes(cache: Cache, spawn: Spawn) -> None:
    spawn("write").finish()
    entry = cache.get_entry("shared-json")
    assert entry is not None and entry.value["from"] == "child"
    frame = frame_of(cache, "shared-frame")
    assert frame is not None
    pd.testing.assert_frame_equal(frame, make_candles(1_000), check_exact=True)
    got = cache.read_through("shared-rt", Upstream(), ttl=60, family="child")
    assert (got.value, got.hit) == ([1, 2, 3], True)
    stats = cache.stats()["child"]
    assert (stats.hits, stats.misses) == (1, 1)
    assert stats.last_refresh is not None
