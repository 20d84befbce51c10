"""Progress bars only where a person watches them: on a terminal.

Never in ``--json`` output, job notebooks, captured logs or pipes (tqdm writes carriage
returns that pile up into hundreds of kilobytes there). Every progress bar of the
workbench goes through ``progress_bar``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def on_terminal() -> bool:
    """Whether stderr (where bars are drawn) is an interactive terminal."""
    stream = sys.stderr
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


def progress_bar(
    iterable: Iterable[T] | None = None, *, disable: bool = False, **kwargs: Any
) -> Any:
    """A tqdm bar (same arguments), drawn on stderr and only on a terminal; otherwise a
    silent stand-in that still counts."""
    from tqdm import tqdm

    return tqdm(iterable, disable=disable or not on_terminal(), file=sys.stderr, **kwargs)
