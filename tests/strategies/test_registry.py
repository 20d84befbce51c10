"""The registry: names, parameters with bounds, validation, and bot config overrides."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from workbench.db.models.bots import BotConfig
from workbench.errors import ValidationError
from workbench.schemas.bots import BotConfigCreate
from workbench.strategies import STRATEGIES, Strategy, get_strategy


def test_known_names() -> None:
    assert sorted(STRATEGIES) == ["ema_cross", "ema_rsi", "rsi"]
    for name, strategy in STRATEGIES.items():
        assert get_strategy(name) is strategy and strategy.name == name
        assert get_strategy(strategy) is strategy
        assert strategy.entry_rule and strategy.exit_rule and strategy.description


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValidationError, match="known: ema_cross, ema_rsi, rsi") as err:
        get_strategy("moon")
    assert set(err.value.errors) == {"strategy"} and "'moon'" in err.value.errors["strategy"]


def test_parameters_defaults_and_bounds() -> None:
    ema_cross, rsi, ema_rsi = (get_strategy(n) for n in ("ema_cross", "rsi", "ema_rsi"))
    assert ema_cross.param_names == ("ema_fast", "ema_slow")
    assert rsi.param_names == ("rsi_period", "rsi_oversold", "rsi_overbought")
    assert ema_rsi.param_names == ("ema_period", "rsi_period", "rsi_oversold", "rsi_overbought")
    assert ema_cross.defaults == {"ema_fast": 12, "ema_slow": 26}
    assert ema_rsi.defaults == {
        "ema_period": 200,
        "rsi_period": 14,
        "rsi_oversold": 30,
        "rsi_overbought": 70,
    }
    assert rsi.bounds["rsi_period"] == (2, 10_000)
    # The defaults are the bot config's defaults.
    config = BotConfigCreate(name="b", symbol="ETH/BTC")
    for strategy in STRATEGIES.values():
        assert strategy.defaults == {k: getattr(config, k) for k in strategy.param_names}


@pytest.mark.parametrize(
    ("name", "params", "field", "message"),
    [
        ("ema_cross", {"ema_fast": 30, "ema_slow": 20}, "ema_fast", "less than ema_slow (20)"),
        ("ema_cross", {"ema_fast": 26}, "ema_fast", "less than ema_slow (26)"),
        ("rsi", {"rsi_oversold": 70}, "rsi_oversold", "less than rsi_overbought (70)"),
        ("rsi", {"rsi_period": 1}, "rsi_period", "between 2 and 10000, got 1"),
        ("ema_rsi", {"ema_period": 0}, "ema_period", "between 1 and 10000"),
        ("ema_rsi", {"rsi_overbought": 100}, "rsi_overbought", "between 1 and 99"),
        ("rsi", {"rsi_period": 2.5}, "rsi_period", "whole number"),
        ("rsi", {"rsi_period": "14"}, "rsi_period", "whole number"),
        ("rsi", {"rsi_period": True}, "rsi_period", "whole number"),
        ("rsi", {"ema_fast": 3}, "ema_fast", "not a parameter of rsi"),
    ],
)
def test_validation_messages(name: str, params: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        get_strategy(name).validate(params)
    assert field in err.value.errors and message in err.value.errors[field]
    assert f"invalid {name} parameters" in str(err.value)


def test_validation_fills_defaults_and_normalises() -> None:
    strategy = get_strategy("ema_rsi")
    values = strategy.validate({"ema_period": 50.0, "rsi_period": None})
    assert values == {**strategy.defaults, "ema_period": 50}
    assert all(type(v) is int for v in values.values())
    with pytest.raises(ValidationError) as err:  # every bad field at once
        strategy.validate({"ema_period": -1, "rsi_period": 0, "bogus": 1})
    assert set(err.value.errors) == {"ema_period", "rsi_period", "bogus"}


BASE = {
    "ema_fast": 12,
    "ema_slow": 26,
    "ema_period": 200,
    "rsi_period": 14,
    "rsi_oversold": 30,
    "rsi_overbought": 70,
}


def test_params_from_config_applies_custom_overrides() -> None:
    config: dict[str, Any] = {
        **BASE,
        "custom_ema_fast": 5,
        "custom_ema_slow": None,
        "custom_rsi_period": 7,
        "custom_rsi_overbought": 80,
        "strategy": "ema_cross",
    }
    assert get_strategy("ema_cross").params_from_config(config) == {"ema_fast": 5, "ema_slow": 26}
    assert get_strategy("rsi").params_from_config(config) == {
        "rsi_period": 7,
        "rsi_oversold": 30,
        "rsi_overbought": 80,
    }
    assert get_strategy("ema_rsi").params_from_config(config) == {
        "ema_period": 200,
        "rsi_period": 7,
        "rsi_oversold": 30,
        "rsi_overbought": 80,
    }
    # Missing fields take the defaults.
    assert get_strategy("rsi").params_from_config({}) == get_strategy("rsi").defaults


@pytest.mark.parametrize("kind", ["schema", "orm"])
def test_params_from_a_bot_config(kind: str) -> None:
    fields = {
        "name": "b",
        "symbol": "ETH/BTC",
        "strategy": "ema_rsi",
        **BASE,
        "custom_ema_period": 50,
        "custom_rsi_oversold": 25,
    }
    config: Any
    if kind == "schema":
        config = BotConfigCreate(**fields)
    else:
        config = BotConfig(**fields, exchange="paper", timeframe="5m", initial_capital=Decimal(1))
    strategy = get_strategy(config.strategy)
    assert strategy.params_from_config(config) == {
        "ema_period": 50,
        "rsi_period": 14,
        "rsi_oversold": 25,
        "rsi_overbought": 70,
    }


def test_an_override_that_breaks_a_rule_is_refused() -> None:
    with pytest.raises(ValidationError, match="ema_fast: must be less than ema_slow"):
        get_strategy("ema_cross").params_from_config({**BASE, "custom_ema_fast": 40})


@pytest.mark.parametrize(
    "extreme",
    [
        {"ema_fast": 1, "ema_slow": 2, "ema_period": 1, "rsi_period": 2},
        {"ema_fast": 9_999, "ema_slow": 10_000, "ema_period": 10_000, "rsi_period": 10_000},
        {"rsi_oversold": 1, "rsi_overbought": 2},
        {"rsi_oversold": 98, "rsi_overbought": 99},
    ],
)
def test_every_valid_bot_config_gives_valid_parameters(extreme: dict[str, int]) -> None:
    config = BotConfigCreate(name="b", symbol="ETH/BTC", **extreme)
    for strategy in STRATEGIES.values():
        assert isinstance(strategy, Strategy)
        params = strategy.params_from_config(config)
        assert params == {k: getattr(config, k) for k in strategy.param_names}
