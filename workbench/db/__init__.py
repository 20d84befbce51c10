"""Database layer: declarative base, models, engines and sessions."""

from workbench.db.base import Base
from workbench.db.engine import default_engine, engine_for, make_engine, session_scope

__all__ = ["Base", "default_engine", "engine_for", "make_engine", "session_scope"]
