"""What a strategy is: declared parameters and one signal rule of closed bars.

A strategy is a pure function of candles (UTC index; open, high, low, close, volume) and
parameters, returning ``Signals``. Signals are decided on closed bars: the flag at bar t
uses bars up to and including t's close, and whoever acts on it (backtest or bot) trades
at the next bar. User strategies are plain pandas functions registered with
``workbench.strategy``; the built-ins are declared the same way and also carry a compiled
batch rule (``batch``) that sweeps use for many parameter sets at once.

When an entry and an exit fire on the same bar, the exit wins for the built-ins (their
entry flag is cleared); a user strategy's flags go to the engine as returned.
"""

from __future__ import annotations

import hashlib
import inspect
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import RejectedError, ValidationError, WorkbenchError
from workbench.strategies.params import Param
from workbench.types import BotConfigLike

Params = dict[str, Any]
# close (bars,), parameter sets -> entries, exits as (sets x bars) boolean matrices
BatchRule = Callable[[np.ndarray, list[Params]], tuple[np.ndarray, np.ndarray]]
# close, one parameter set -> indicator name -> series (bars,)
IndicatorFn = Callable[[np.ndarray, Params], dict[str, np.ndarray]]
# close, one parameter set -> entries, exits (bars,) and the indicators: the batch rule and
# the indicators of one set in one pass (each indicator computed once)
SingleRule = Callable[[np.ndarray, Params], tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]
# action, parameters, values on the decided bar, values on the bar before -> reason
ExplainFn = Callable[[str, Params, Mapping[str, float], Mapping[str, float]], str]
CheckFn = Callable[[Params], dict[str, str]]
SIGNAL_NAMES = ("entries", "exits", "short_entries", "short_exits")


class StrategyError(RejectedError):
    """A strategy cannot be used as written: its file does not import, it raises, or it
    returns something other than aligned boolean signals. The message names it."""


def _no_check(_: Params) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Signals:
    """Entry and exit flags per bar, and the indicator series they came from.

    What a strategy function returns: ``Signals(entries, exits, short_entries=None,
    short_exits=None, indicators={...})`` with boolean Series on the candle index.
    ``short_*`` are carried through for futures (the engine trades longs today).
    After the strategy layer has checked them, ``indicators`` is a DataFrame on the same
    index, and ``strategy``, ``params`` and ``warmup`` (leading bars that never signal)
    are filled in.
    """

    entries: pd.Series
    exits: pd.Series
    short_entries: pd.Series | None = None
    short_exits: pd.Series | None = None
    indicators: Any = field(default_factory=dict)
    strategy: str = ""
    params: Params = field(default_factory=dict)
    warmup: int = 0

    def series(self) -> dict[str, pd.Series]:
        """The flags that are set, by name (entries, exits, short_entries, short_exits)."""
        out = {"entries": self.entries, "exits": self.exits}
        if self.short_entries is not None:
            out["short_entries"] = self.short_entries
        if self.short_exits is not None:
            out["short_exits"] = self.short_exits
        return out

    def frame(self) -> pd.DataFrame:
        """Indicators and flags side by side (for a table or a plot)."""
        return pd.DataFrame(self.indicators).assign(**self.series())


@dataclass(frozen=True)
class Strategy:
    """A named signal rule with declared parameters (see ``workbench.strategies.registry``).

    ``fn(candles, **params) -> Signals`` is the rule. ``batch`` (built-ins) computes many
    parameter sets at once, exactly like ``fn``; ``source``/``line`` say where it is defined.
    """

    name: str
    description: str
    entry_rule: str
    exit_rule: str
    params: tuple[Param, ...]
    fn: Callable[..., Signals] | None = field(default=None, repr=False)
    batch: BatchRule | None = field(default=None, repr=False)
    indicator_fn: IndicatorFn | None = field(default=None, repr=False)
    single: SingleRule | None = field(default=None, repr=False)
    warmup_fn: Callable[[Params], int] | None = field(default=None, repr=False)
    explain_fn: ExplainFn | None = field(default=None, repr=False)
    check: CheckFn = field(default=_no_check, repr=False)
    source: str = "built-in"
    line: int = 0
    builtin: bool = False

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def defaults(self) -> Params:
        return {p.name: p.default for p in self.params}

    @property
    def bounds(self) -> dict[str, tuple[Any, Any]]:
        return {p.name: (p.low, p.high) for p in self.params}

    @property
    def where(self) -> str:
        """``file:line`` of the definition (or "built-in")."""
        return f"{self.source}:{self.line}" if self.line else self.source

    @cached_property
    def fingerprint(self) -> str:
        """A hash of the strategy's code and parameter declarations (12 hex digits): the
        whole file for file strategies and built-ins, the function's source otherwise."""
        return code_fingerprint(self)

    def validate(self, params: Mapping[str, Any] | None = None, *, text: bool = False) -> Params:
        """The full parameter set (defaults for what is missing or None), or a
        ValidationError naming each bad field. ``text``: values may be text to parse
        (from ``-p name=value`` or a form)."""
        params = dict(params or {})
        errors = {
            k: f"is not a parameter of {self.name} (its parameters: "
            f"{', '.join(self.param_names) or 'none'})"
            for k in sorted(set(params) - set(self.param_names))
        }
        values = self.defaults
        for p in self.params:
            value = params.get(p.name)
            if value is None:
                continue
            error = p.error(value, text=text)
            if error:
                errors[p.name] = error
            else:
                values[p.name] = p.coerce(value, text=text)
        if not errors:
            errors = self.check(values)
        if errors:
            raise ValidationError(errors, entity=f"{self.name} parameters")
        return values

    def params_from_config(self, config: BotConfigLike | Mapping[str, Any]) -> Params:
        """This strategy's parameters from a bot config (ORM row, schema or dict).

        Built-ins read the seed's columns (``custom_X`` when not None, else ``X``);
        every strategy then takes ``strategy_params`` over them; validated."""
        if isinstance(config, Mapping):
            get: Callable[[str], Any] = config.get
        else:

            def get(key: str) -> Any:
                return getattr(config, key, None)

        values: dict[str, Any] = {}
        if self.builtin:
            for name in self.param_names:
                custom = get(f"custom_{name}")
                values[name] = custom if custom is not None else get(name)
        values.update(get("strategy_params") or {})
        return self.validate(values)

    def warmup(self, params: Mapping[str, Any] | None = None) -> int:
        """How many leading bars never signal (declared; ``strategy check`` measures it)."""
        return self.warmup_fn(self.validate(params)) if self.warmup_fn else 0

    def __call__(self, candles: pd.DataFrame, **params: Any) -> Signals:
        """``donchian(candles, window=30)``: the checked signals (see ``signals``)."""
        return self.signals(candles, **params)

    def signals(self, candles: pd.DataFrame, **params: Any) -> Signals:
        """Entry and exit flags for every bar of ``candles`` (decided at each bar's close)."""
        values = self.validate(params)
        close = close_prices(candles)
        warm = self.warmup_fn(values) if self.warmup_fn else 0
        one = self._one_set(close, values)
        if one is not None:
            entry, exit_, lines = one
            index = candles.index
            # The compiled rule's arrays are new and no one else's: wrapped, not copied.
            return Signals(
                entries=pd.Series(entry, index=index, name="entries", copy=False),
                exits=pd.Series(exit_, index=index, name="exits", copy=False),
                indicators=pd.DataFrame(lines, index=index, copy=False),
                strategy=self.name,
                params=values,
                warmup=warm,
            )
        return self.checked(self.call(candles, values), candles.index, values, warm)

    def flags(self, candles: pd.DataFrame, **params: Any) -> tuple[np.ndarray, np.ndarray]:
        """The entry and exit flags of ``signals`` as boolean arrays, without its indicators
        (what a backtest needs): a compiled rule keeps no indicator series."""
        if self.batch is None:
            signals = self.signals(candles, **params)
            return signals.entries.to_numpy(), signals.exits.to_numpy()
        entries, exits = self.batch(close_prices(candles), [self.validate(params)])
        return entries[0], exits[0]

    def _one_set(
        self, close: np.ndarray, values: Params
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]] | None:
        """The compiled rule's flags and indicators of one set (None: a pandas strategy)."""
        if self.single is not None:
            return self.single(close, values)
        if self.batch is not None and self.indicator_fn is not None:
            entries, exits = self.batch(close, [values])
            return entries[0], exits[0], self.indicator_fn(close, values)
        return None

    def call(self, candles: pd.DataFrame, values: Params) -> Any:
        """Run the function; anything it raises becomes one line naming the strategy."""
        assert self.fn is not None, f"strategy {self.name} has neither fn nor batch"
        try:
            return self.fn(candles, **values)
        except WorkbenchError:
            raise
        except Exception as e:  # the user's code: any exception is theirs to fix
            raise StrategyError(
                f"strategy {self.name} raised {type(e).__name__}: {e} "
                f"(at {self._user_frame(e)}); fix the strategy"
            ) from None

    def _user_frame(self, error: Exception) -> str:
        frames = traceback.extract_tb(error.__traceback__)
        ours = [f for f in frames if f.filename == self.source] or frames[-1:]
        return f"{ours[-1].filename}:{ours[-1].lineno}" if ours else self.where

    def checked(self, out: Any, index: pd.Index, values: Params, warm: int = 0) -> Signals:
        """``out`` as Signals on ``index``, or a StrategyError saying what is wrong."""
        if not isinstance(out, Signals):
            raise StrategyError(
                f"strategy {self.name} returned {type(out).__name__}; "
                "return wb.Signals(entries=..., exits=...)"
            )
        flags: dict[str, pd.Series | None] = {}
        for name in SIGNAL_NAMES:
            value = getattr(out, name)
            flags[name] = None if value is None else self._flag(name, value, index)
        indicators = self._indicators(out.indicators, index)
        return Signals(
            entries=flags["entries"],  # type: ignore[arg-type]
            exits=flags["exits"],  # type: ignore[arg-type]
            short_entries=flags["short_entries"],
            short_exits=flags["short_exits"],
            indicators=indicators,
            strategy=self.name,
            params=values,
            warmup=warm,
        )

    def _flag(self, name: str, value: Any, index: pd.Index) -> pd.Series:
        where = f"strategy {self.name}: {name}"
        if not isinstance(value, pd.Series):
            raise StrategyError(
                f"{where} is a {type(value).__name__}, not a pandas Series; "
                "return boolean Series on the candles' index"
            )
        if not value.index.equals(index):
            raise StrategyError(
                f"{where} is not aligned with the candles ({len(value)} rows vs {len(index)}, "
                "or another index); build it from the candles' columns without reindexing"
            )
        if value.dtype != bool:
            if str(value.dtype) == "boolean" and not value.isna().any():
                value = value.astype(bool)
            else:
                raise StrategyError(
                    f"{where} has dtype {value.dtype}, not bool; compare values "
                    "(e.g. candles.close > upper) and fill missing values with False"
                )
        return value.rename(name)

    def _indicators(self, value: Any, index: pd.Index) -> pd.DataFrame:
        frame = value if isinstance(value, pd.DataFrame) else None
        if frame is None:
            if not isinstance(value, Mapping):
                raise StrategyError(
                    f"strategy {self.name}: indicators must be a dict of Series or a "
                    f"DataFrame, got {type(value).__name__}"
                )
            for key, series in value.items():
                if not isinstance(series, pd.Series) or not series.index.equals(index):
                    raise StrategyError(
                        f"strategy {self.name}: indicator {key!r} is not a Series aligned "
                        "with the candles"
                    )
            frame = pd.DataFrame(dict(value), index=index)
        elif not frame.index.equals(index):
            raise StrategyError(
                f"strategy {self.name}: the indicators frame is not aligned with the candles"
            )
        return frame

    def explain(
        self,
        action: str,
        params: Params,
        now: Mapping[str, float],
        before: Mapping[str, float],
    ) -> str:
        """A sentence saying why ``action`` was decided on a bar (values incl. ``close``)."""
        if self.explain_fn is not None:
            return self.explain_fn(action, params, now, before)
        shown = ", ".join(f"{k} {v:.6g}" for k, v in now.items())
        what = {"enter": "entry signal", "exit": "exit signal"}.get(action, "no signal")
        return f"{self.name}: {what} ({shown})"


def code_fingerprint(strategy: Strategy) -> str:
    """sha256 of the defining file (or function source) and the parameter declarations."""
    text = ""
    if strategy.source and not strategy.source.startswith("<"):
        try:
            with open(strategy.source, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            text = ""  # a notebook cell's pseudo-file: its source is in linecache
    if not text and strategy.fn is not None:
        try:
            text = inspect.getsource(strategy.fn)
        except (OSError, TypeError):
            text = strategy.fn.__code__.co_code.hex()
    declared = repr([p.describe() for p in strategy.params])
    return hashlib.sha256(f"{text}\n{declared}".encode()).hexdigest()[:12]


def close_prices(candles: pd.DataFrame) -> np.ndarray:
    """The close column as float64, after checking the candles can be used for signals."""
    if not isinstance(candles, pd.DataFrame) or "close" not in candles.columns:
        raise ValidationError(
            {"candles": "must be a DataFrame with a close column"}, entity="candles"
        )
    if not candles.index.is_monotonic_increasing or not candles.index.is_unique:
        raise ValidationError(
            {"candles": "the index must be increasing bar open times without duplicates"},
            entity="candles",
        )
    close = np.ascontiguousarray(candles["close"].to_numpy(dtype="float64"))
    # The least close is NaN if any close is (one pass, nothing allocated); then count them.
    missing = int(np.isnan(close).sum()) if close.size and np.isnan(close.min()) else 0
    if missing:
        raise ValidationError(
            {"close": f"{missing} missing (NaN) closes; fill or drop the gaps first"},
            entity="candles",
        )
    return close
