"""workbench: a Jupyter-centred research and trading workbench for crypto bots.

The notebook-facing API is re-exported here as it grows (``import workbench as wb``).
"""

from workbench.errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
    OperationalError,
    RejectedError,
    TemporaryError,
    ValidationError,
    WorkbenchError,
)
from workbench.settings import Settings, get_settings

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ConflictError",
    "NotFoundError",
    "OperationalError",
    "RejectedError",
    "Settings",
    "TemporaryError",
    "ValidationError",
    "WorkbenchError",
    "__version__",
    "get_settings",
]
