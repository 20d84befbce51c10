"""What is particular to each backend: choosing one, secrets in URLs, errors, stored bytes."""

from __future__ import annotations

import traceback
from pathlib import Path

import diskcache
import pandas as pd
import pyarrow as pa
import pytest

from workbench.cache import EmbeddedCache, RedisCache, get_cache, redact_url
from workbench.cache.codecs import HEADER_SIZE, decode, encode_frame, encode_json
from workbench.errors import OperationalError, TemporaryError
from workbench.settings import Settings, get_settings


def test_factory_picks_embedded_without_redis_url(home: Path) -> None:
    cache = get_cache()
    assert isinstance(cache, EmbeddedCache)
    assert cache.directory == get_settings().cache_dir
    with cache:
        cache.set_json("k", 1, ttl=30)
        assert cache.get_json("k") == 1
    assert (home / "cache" / "data").is_dir()


def test_factory_picks_redis_and_never_shows_the_password(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_REDIS_URL", "redis://bot:s3cret@127.0.0.1:6379/15")
    get_settings.cache_clear()
    cache = get_cache(namespace="factory")
    assert isinstance(cache, RedisCache)
    assert "s3cret" not in repr(cache)
    assert cache.url == "redis://bot:***@127.0.0.1:6379/15"
    cache.close()


def test_factory_uses_given_settings(tmp_path: Path) -> None:
    cache = get_cache(Settings(home=tmp_path / "elsewhere", redis_url=None))
    assert isinstance(cache, EmbeddedCache)
    assert cache.directory == tmp_path / "elsewhere" / "cache"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("rediss://user:p%40ss@host/1", "rediss://user:***@host/1"),
        ("redis://user@host/1", "redis://user@host/1"),
        (
            "redis://host/0?password=pw&ssl_cert_reqs=none",
            "redis://host/0?password=%2A%2A%2A&ssl_cert_reqs=none",
        ),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_wrong_redis_password_is_operational_and_secret_free(redis_url: str) -> None:
    url = redis_url.replace("redis://", "redis://nobody:s3cret@", 1)
    cache = RedisCache(url)
    with pytest.raises(OperationalError, match="refused the credentials") as info:
        cache.get_json("k")
    assert "s3cret" not in "".join(traceback.format_exception(info.value))
    cache.close()


def test_unreachable_redis_is_temporary() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0", socket_timeout=1)
    with pytest.raises(TemporaryError, match="unreachable"):
        cache.get_json("k")
    cache.close()


def test_embedded_refuses_to_unpickle(tmp_path: Path) -> None:
    cache = EmbeddedCache(tmp_path, namespace="ns")
    with diskcache.Cache(str(tmp_path / "data")) as planted:
        planted.set("ns:v:k", {"a pickled": "dict"})
    with pytest.raises(OperationalError, match="refusing to unpickle"):
        cache.get_json("k")
    cache.close()


def test_embedded_cache_reopens_after_close(tmp_path: Path) -> None:
    cache = EmbeddedCache(tmp_path)
    cache.set_json("k", 1, ttl=30)
    cache.close()
    assert cache.get_json("k") == 1
    cache.close()


def test_codec_header_and_body() -> None:
    data = encode_json({"a": 1}, stored_at=1_700_000_000.5)
    assert data[:2] == b"WB"
    assert data[HEADER_SIZE:] == b'{"a":1}'
    entry = decode(data)
    assert entry.stored_at.timestamp() == 1_700_000_000.5
    frame = pd.DataFrame({"x": [1.0, 2.0]}, index=pd.Index(["a", "b"], name="k"))
    body = encode_frame(frame)[HEADER_SIZE:]
    table = pa.ipc.open_stream(body).read_all()  # plain Arrow IPC: any Arrow reader can open it
    assert table.column_names == ["x", "k"]


@pytest.mark.parametrize("data", [b"", b"WB", b"XX\x01J" + b"\0" * 8, b"WB\x09J" + b"\0" * 8])
def test_codec_refuses_foreign_bytes(data: bytes) -> None:
    with pytest.raises(OperationalError):
        decode(data)
