"""Market names, checked and normalised in one place: exchange ids, symbols, timeframes.

Every command and function that takes a market name goes through here, so ``data
import``, ``fetch``, bots and backtests accept and refuse the same spellings:

- exchange: a ccxt exchange id (``Binance`` -> ``binance``) or one of the local ids
  ``synthetic`` (sample data) and ``paper``. The ccxt list is read from ccxt's package
  source without importing ccxt (an import costs a second or more).
- symbol: ``BASE/QUOTE`` or ``BASE/QUOTE:SETTLE`` (futures), upper-cased (``xrp/eth`` ->
  ``XRP/ETH``); anything else (``XRP ETH``, ``XRPETH``) is refused.
- timeframe: ccxt's spelling, a count and a unit m, h, d or w (``1H`` -> ``1h``), at most
  a year long.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from workbench.errors import ValidationError

LOCAL_EXCHANGES = frozenset({"synthetic", "paper"})
_EXCHANGE = re.compile(r"^[a-z0-9_]+$")
_SYMBOL = re.compile(r"^([A-Z0-9]+)/([A-Z0-9]+)(?::([A-Z0-9]+))?$")
_SYMBOL_ANY_CASE = re.compile(_SYMBOL.pattern, re.IGNORECASE)  # stored names keep their case
_TIMEFRAME = re.compile(r"^([1-9][0-9]*)([mhdw])$")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
MAX_TIMEFRAME_MS = 366 * 86_400_000
SYMBOL_HINT = "symbol must be like BTC/USDT (futures: BTC/USDT:USDT)"
TIMEFRAME_HINT = "use e.g. 1m, 5m, 15m, 1h, 4h, 1d, 1w"


class Symbol(NamedTuple):
    base: str
    quote: str
    settle: str | None


def normalize_exchange(value: str, *, field: str = "exchange") -> str:
    """The exchange id as ccxt spells it; unknown ids are refused."""
    exchange = value.strip().lower()
    if not _EXCHANGE.match(exchange):
        raise ValidationError(
            {field: f"{value!r} is not an exchange id; use e.g. binance, kraken, okx"},
            entity="market",
        )
    if exchange not in LOCAL_EXCHANGES and exchange not in ccxt_exchange_ids():
        raise ValidationError(
            {field: f"unknown exchange {value!r}; ccxt knows e.g. binance, kraken, bybit, okx"},
            entity="market",
        )
    return exchange


def normalize_symbol(value: str, *, field: str = "symbol") -> str:
    """``BASE/QUOTE[:SETTLE]`` upper-cased; anything else is refused."""
    symbol = value.strip().upper()
    if not _SYMBOL.match(symbol):
        raise ValidationError({field: f"{SYMBOL_HINT}, not {value!r}"}, entity="market")
    return symbol


def split_symbol(symbol: str) -> Symbol:
    """Base, quote and (for futures) settle currency of a symbol."""
    match = _SYMBOL_ANY_CASE.match(symbol.strip())
    if match is None:
        raise ValidationError({"symbol": f"{SYMBOL_HINT}, not {symbol!r}"}, entity="market")
    return Symbol(match.group(1), match.group(2), match.group(3))


def quote_currency(symbol: str) -> str:
    """``BTC/USDT:USDT`` -> ``USDT``."""
    return split_symbol(symbol).quote


def base_currency(symbol: str) -> str:
    """``BTC/USDT:USDT`` -> ``BTC``."""
    return split_symbol(symbol).base


def normalize_timeframe(value: str, *, field: str = "timeframe") -> str:
    """The timeframe as ccxt spells it; refused when malformed or longer than a year."""
    timeframe_length_ms(value, field=field)
    text = value.strip()
    return text[:-1] + text[-1].lower()


def timeframe_length_ms(value: str, *, field: str = "timeframe") -> int:
    """Length of one bar in milliseconds; a one-line error for anything else."""
    text = value.strip()
    if text.endswith("M") and text[:-1].isdigit():
        raise ValidationError(
            {field: f"{value!r}: months have no fixed length and are not supported; use 1w or 30d"},
            entity="market",
        )
    unit = text[-1:].lower() if text[-1:] in ("H", "D", "W") else text[-1:]
    match = _TIMEFRAME.match(text[:-1] + unit)
    if match is None:
        raise ValidationError(
            {field: f"{value!r} is not a timeframe; {TIMEFRAME_HINT}"}, entity="market"
        )
    length = int(match.group(1)) * _UNIT_MS[match.group(2)]
    if length > MAX_TIMEFRAME_MS:
        raise ValidationError(
            {field: f"{value!r} is longer than a year; {TIMEFRAME_HINT}"}, entity="market"
        )
    return length


def ccxt_exchange_ids() -> frozenset[str]:
    """The exchange ids ccxt supports: from the loaded module, else read from its source."""
    loaded = sys.modules.get("ccxt")
    if loaded is not None and hasattr(loaded, "exchanges"):
        return frozenset(loaded.exchanges)
    return _ids_from_source()


@lru_cache(maxsize=1)
def _ids_from_source() -> frozenset[str]:
    spec = importlib.util.find_spec("ccxt")
    if spec is None or spec.origin is None:
        return frozenset()
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "exchanges" for t in node.targets)
            and isinstance(node.value, ast.List)
        ):
            return frozenset(
                e.value
                for e in node.value.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            )
    import ccxt  # the source changed shape: fall back to the (slow) import

    return frozenset(ccxt.exchanges)


def normalize_market(exchange: str, symbol: str, timeframe: str) -> tuple[str, str, str]:
    """(exchange, symbol, timeframe), each checked and normalised."""
    return normalize_exchange(exchange), normalize_symbol(symbol), normalize_timeframe(timeframe)


def normalize_given(
    exchange: str | None, symbol: str | None, timeframe: str | None
) -> tuple[str | None, str | None, str | None]:
    """``normalize_market`` for filters where each part may be left out (None)."""
    return (
        None if exchange is None else normalize_exchange(exchange),
        None if symbol is None else normalize_symbol(symbol),
        None if timeframe is None else normalize_timeframe(timeframe),
    )
