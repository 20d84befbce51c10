"""The narrow exchange interface the workbench trades through.

Two implementations: ``CcxtExchange`` (any ccxt exchange) and ``PaperExchange`` (dry runs and
offline replay). Money and quantities are Decimal; candles are ccxt-style float rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit"]
MarketType = Literal["spot", "futures"]
OrderStatus = Literal["open", "closed", "canceled", "rejected", "expired"]


@dataclass(frozen=True)
class Order:
    id: str
    client_order_id: str | None
    symbol: str
    side: Side
    type: OrderType
    status: OrderStatus
    amount: Decimal  # base quantity asked for (for a cost-sized buy: what it bought)
    filled: Decimal  # base quantity filled
    cost: Decimal  # quote quantity filled
    price: Decimal | None  # average fill price (limit price while open)
    fee: Decimal = Decimal(0)
    fee_currency: str | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True)
class Ticker:
    symbol: str
    last: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True)
class Balance:
    free: Decimal
    used: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.used


@dataclass(frozen=True)
class Market:
    symbol: str
    type: MarketType
    base: str
    quote: str
    active: bool = True
    extra: dict[str, object] = field(default_factory=dict, compare=False)


@runtime_checkable
class Exchange(Protocol):
    """What a bot, a backtest download or a widget needs from an exchange."""

    id: str

    def load_markets(self) -> dict[str, Market]: ...

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[list[float]]: ...

    def fetch_ticker(self, symbol: str) -> Ticker: ...

    def fetch_balance(self) -> dict[str, Balance]: ...

    def create_order(
        self,
        symbol: str,
        side: Side,
        type: OrderType,
        amount: Decimal | None = None,
        price: Decimal | None = None,
        *,
        client_order_id: str,
        cost: Decimal | None = None,
    ) -> Order:
        """Place an order; ``cost`` sizes a market buy in quote currency instead of
        ``amount``. The same ``client_order_id`` never places a second order."""
        ...

    def fetch_order(self, symbol: str, order_id: str) -> Order: ...

    def fetch_open_orders(self, symbol: str | None = None) -> list[Order]: ...

    def find_order(self, symbol: str, client_order_id: str) -> Order | None:
        """The order placed with ``client_order_id``, or None if the exchange has none."""
        ...

    def cancel_order(self, symbol: str, order_id: str) -> Order: ...
