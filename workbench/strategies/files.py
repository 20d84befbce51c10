"""Strategy files: every ``*.py`` in ``$WORKBENCH_HOME/strategies/`` and in the folders of
``WORKBENCH_STRATEGY_PATH`` (separated by ``os.pathsep``) is loaded, and each
``@strategy`` it defines is available by name (to bots, jobs and the CLI).

A file is re-read when its text changes, so a bot's tick sees the code as it is now (and
refuses to trade when that differs from the code it was activated with). A file that
fails to import, a name defined twice, or a name of a built-in is a StrategyError naming
the file and line: nothing is silently shadowed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
import traceback
from pathlib import Path

from workbench.strategies.base import Strategy, StrategyError
from workbench.strategies.define import COLLECTING, DEFINED

PATH_VARIABLE = "WORKBENCH_STRATEGY_PATH"
HEADER = '''"""Saved by wb.save_strategy."""

import numpy as np
import pandas as pd

import workbench as wb
from workbench import Bool, Choice, Float, Int, Signals, strategy
'''
# file -> (text hash, the strategies it defines)
_LOADED: dict[Path, tuple[str, list[Strategy]]] = {}


def home_folder() -> Path:
    from workbench.settings import get_settings

    return get_settings().home / "strategies"


def folders() -> list[Path]:
    """Where strategy files are read from: the home's folder first, then the path's."""
    extra = [Path(p).expanduser() for p in os.environ.get(PATH_VARIABLE, "").split(os.pathsep)]
    chosen: list[Path] = []
    for folder in [home_folder(), *(p for p in extra if str(p) not in ("", "."))]:
        folder = folder.resolve()
        if folder not in chosen:
            chosen.append(folder)
    return chosen


def strategy_files() -> list[Path]:
    files: list[Path] = []
    for folder in folders():
        if folder.is_dir():
            files += sorted(p for p in folder.glob("*.py") if not p.name.startswith(("_", ".")))
    return files


def file_strategies() -> dict[str, Strategy]:
    """Every strategy of every strategy file, by name (files re-read when changed)."""
    from workbench.strategies.registry import STRATEGIES

    by_name: dict[str, Strategy] = {}
    files = strategy_files()
    for gone in set(_LOADED) - set(files):
        del _LOADED[gone]
    for path in files:
        for made in _load(path):
            if made.name in STRATEGIES:
                raise StrategyError(
                    f"strategy file {made.where}: {made.name} is the name of a built-in "
                    "strategy; rename it"
                )
            if made.name in by_name:
                raise StrategyError(
                    f"strategy {made.name} is defined twice: {by_name[made.name].where} and "
                    f"{made.where}; rename or remove one"
                )
            by_name[made.name] = made
    return by_name


def _load(path: Path) -> list[Strategy]:
    text = path.read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()
    cached = _LOADED.get(path)
    if cached is not None and cached[0] == digest:
        return cached[1]
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    module_name = f"workbench_user_strategies_{stem}_{digest[:10]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    COLLECTING.append([])
    sys.path.insert(0, str(path.parent))
    try:
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except StrategyError:
        sys.modules.pop(module_name, None)
        raise
    except Exception as e:  # the user's file: anything it raises is theirs to fix
        sys.modules.pop(module_name, None)
        raise StrategyError(
            f"strategy file {path} line {_line(e, path)} failed to import: "
            f"{type(e).__name__}: {_message(e)}"
        ) from None
    finally:
        sys.path.remove(str(path.parent))
        made = COLLECTING.pop()
    fingerprint = _fingerprint(text)
    for one in made:
        one.__dict__["fingerprint"] = fingerprint_with_params(fingerprint, one)
    _LOADED[path] = (digest, made)
    return made


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint_with_params(text_hash: str, made: Strategy) -> str:
    declared = repr([p.describe() for p in made.params])
    return hashlib.sha256(f"{text_hash}\n{declared}".encode()).hexdigest()[:12]


def _line(error: Exception, path: Path) -> int | str:
    if isinstance(error, SyntaxError) and error.lineno:
        return error.lineno
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename) == path]
    return frames[-1].lineno if frames and frames[-1].lineno else "?"


def _message(error: Exception) -> str:
    if isinstance(error, SyntaxError):
        return error.msg
    return str(error).splitlines()[0] if str(error) else ""


def save_strategy(made: Strategy, *, folder: Path | None = None, overwrite: bool = True) -> Path:
    """Write a notebook-defined strategy to ``$WORKBENCH_HOME/strategies/NAME.py`` so bots
    and jobs can load it. The file is test-loaded first; if it does not load on its own
    (it uses a name defined elsewhere in the notebook) nothing is written."""
    if not isinstance(made, Strategy) or made.fn is None:
        raise StrategyError("save_strategy takes a strategy defined with @wb.strategy")
    if made.builtin:
        raise StrategyError(f"{made.name} is a built-in strategy; it needs no saving")
    try:
        source = inspect.getsource(made.fn)
    except (OSError, TypeError):
        raise StrategyError(
            f"the source of strategy {made.name} is not available; write it in a file under "
            f"{home_folder()}"
        ) from None
    target_dir = folder or home_folder()
    target = target_dir / f"{made.name}.py"
    if target.exists() and not overwrite:
        raise StrategyError(f"{target} exists; pass overwrite=True to replace it")
    text = f"{HEADER}\n\n{inspect.cleandoc(source) if source.startswith(' ') else source}"
    target_dir.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f"_saving_{target.name}")  # "_" files are never loaded
    scratch.write_text(text, encoding="utf-8")
    try:
        loaded = _load(scratch)
    except StrategyError as e:
        scratch.unlink()
        raise StrategyError(f"strategy {made.name} was not saved: {e}") from None
    finally:
        _LOADED.pop(scratch, None)
    problem = _differs_from(loaded, made)
    if problem:
        scratch.unlink()
        raise StrategyError(f"strategy {made.name} was not saved: {problem}")
    scratch.replace(target)
    DEFINED.pop(made.name, None)  # the file's version is the one from now on
    return target


def _differs_from(loaded: list[Strategy], made: Strategy) -> str:
    """Why the saved file is not the notebook's strategy ("" when it is): it must define
    exactly it and compute the same signals on a sample without the notebook's names."""
    if [s.name for s in loaded] != [made.name]:
        return f"the file would define {[s.name for s in loaded]}"
    from workbench.market.sample import sample_candles

    sample = sample_candles(400, timeframe="1h")
    try:
        saved, original = loaded[0](sample), made(sample)
    except StrategyError as e:
        return f"on its own it fails ({e}); define what it uses inside the function"
    for name, series in original.series().items():
        other = saved.series().get(name)
        if other is None or not other.equals(series):
            return f"on its own it computes other {name} (it uses names of the notebook)"
    return ""
