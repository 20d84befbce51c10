"""The workbench's small shared vocabulary, low in the layers (nothing heavy imported here)."""

from __future__ import annotations

DEFAULT_FEE = 0.001  # per fill, as a fraction: 0.1 %, Binance spot taker
