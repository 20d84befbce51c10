"""Byte encodings of cached values: a 12-byte header, then JSON text or an Arrow IPC stream.

Header: ``b"WB"``, format version (1 byte), kind (``b"J"`` JSON or ``b"A"`` Arrow), and the
time the value was stored (big-endian float64 epoch seconds). DataFrames are written as one
Arrow IPC stream with pandas metadata, so dtypes, the index (a UTC DatetimeIndex for candles,
including its ``freq``) and column names come back exactly. Nothing is ever pickled.
"""

from __future__ import annotations

import json
import struct
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pandas as pd
import pyarrow as pa

from workbench.errors import OperationalError, RejectedError
from workbench.timeutil import from_epoch

MAGIC = b"WB"
VERSION = 1
JSON_KIND = b"J"
FRAME_KIND = b"A"
_HEADER = struct.Struct(">2sBcd")
HEADER_SIZE = _HEADER.size
_FREQ_KEY = b"workbench.index_freq"

Kind = Literal["json", "frame"]
Compression = Literal["lz4", "zstd"] | None


@dataclass(frozen=True, slots=True)
class Entry:
    """A decoded cached value with its kind and the time it was stored."""

    value: Any
    kind: Kind
    stored_at: datetime


def encode_json(value: Any, *, stored_at: float | None = None) -> bytes:
    """JSON text of ``value`` behind a header; tuples become lists, as JSON has no tuple."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise RejectedError(f"value cannot be cached as JSON: {e}") from e
    return _header(JSON_KIND, stored_at) + text.encode()


def encode_frame(
    frame: pd.DataFrame, *, stored_at: float | None = None, compression: Compression = None
) -> bytes:
    """An Arrow IPC stream of ``frame`` (index and dtypes kept) behind a header."""
    if not isinstance(frame, pd.DataFrame):
        raise RejectedError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    try:
        table = pa.Table.from_pandas(frame)
    except (pa.ArrowException, TypeError, ValueError) as e:
        raise RejectedError(f"DataFrame cannot be stored as Arrow: {e}") from e
    freq = getattr(frame.index, "freqstr", None)
    if freq:
        table = table.replace_schema_metadata({**table.schema.metadata, _FREQ_KEY: freq.encode()})
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return _header(FRAME_KIND, stored_at) + sink.getvalue().to_pybytes()


def encode_value(
    value: Any, *, stored_at: float | None = None, compression: Compression = None
) -> bytes:
    """A DataFrame as Arrow, anything else as JSON."""
    if isinstance(value, pd.DataFrame):
        return encode_frame(value, stored_at=stored_at, compression=compression)
    return encode_json(value, stored_at=stored_at)


def decode(data: bytes) -> Entry:
    """The value stored by one of the ``encode_*`` functions, with its kind and stored time."""
    if len(data) < HEADER_SIZE:
        raise OperationalError("cached value is truncated (shorter than its header)")
    magic, version, kind, stored_at = _HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION:
        raise OperationalError(
            f"cached value has an unknown format (magic {magic!r}, version {version})"
        )
    body = memoryview(data)[HEADER_SIZE:]
    when = from_epoch(stored_at)
    if kind == JSON_KIND:
        return Entry(json.loads(bytes(body)), "json", when)
    if kind == FRAME_KIND:
        return Entry(_decode_frame(body), "frame", when)
    raise OperationalError(f"cached value has an unknown kind {kind!r}")


def _decode_frame(body: memoryview) -> pd.DataFrame:
    with pa.ipc.open_stream(pa.py_buffer(body)) as reader:
        table = reader.read_all()
    frame = table.to_pandas()
    freq = (table.schema.metadata or {}).get(_FREQ_KEY)
    if freq and isinstance(frame.index, pd.DatetimeIndex | pd.TimedeltaIndex):
        frame.index = type(frame.index)(frame.index, freq=freq.decode())
    return frame


def _header(kind: bytes, stored_at: float | None) -> bytes:
    return _HEADER.pack(MAGIC, VERSION, kind, time.time() if stored_at is None else stored_at)
