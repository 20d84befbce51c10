"""Input schemas (pydantic), separate from ORM rows; the CLI, widgets and API share them."""

from workbench.schemas.accounts import ApiKeyCreate, UserCreate
from workbench.schemas.base import validate
from workbench.schemas.bots import BotConfigCreate, BotConfigUpdate

__all__ = ["ApiKeyCreate", "BotConfigCreate", "BotConfigUpdate", "UserCreate", "validate"]
