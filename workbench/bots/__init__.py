"""Bots: configurations, state, risk rules and the one-tick runner."""

from workbench.bots.configs import (
    create_bot,
    delete_bot,
    get_bot,
    list_bots,
    update_bot,
)

__all__ = ["create_bot", "delete_bot", "get_bot", "list_bots", "update_bot"]
