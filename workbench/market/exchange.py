"""The narrow exchange interface the workbench trades through.

Two implementations: ``CcxtExchange`` (any ccxt exchange) and ``PaperExchange`` (dry runs and
offline replay). Money and quantities are Decimal; candles are ccxt-style float rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

from workbench.errors import TemporaryError
from workbench.types import MarketType, Side

OrderType = Literal["market", "limit"]
OrderStatus = Literal["open", "closed", "canceled", "rejected", "expired"]


class OrderUnknownError(TemporaryError):
    """An order was sent but neither its answer nor a lookup says whether the exchange has
    it. It must not be sent again until the exchange proves it absent (``find_order`` finds
    nothing once ``order_window_ms`` has passed since the send): look it up later."""

    def __init__(self, message: str, *, client_order_id: str) -> None:
        super().__init__(message)
        self.client_order_id = client_order_id


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
class Transfer:
    """Funds moved between two wallets of one account (spot and futures)."""

    id: str
    asset: str
    amount: Decimal
    from_wallet: MarketType
    to_wallet: MarketType
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
    # Which account on the exchange orders go to ("live:key-3", a paper account's name):
    # with ``id``, the scope in which order ids and client order ids are unique.
    account: str
    # How long after a send an order the exchange has not shown may still appear (its
    # request acceptance window, plus clock margin); after that, absence is proven.
    order_window_ms: int

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

    def fetch_orders(self, symbol: str) -> list[Order]:
        """The account's recent orders in ``symbol`` (open, filled, cancelled; one page of
        the exchange's history, newest included), oldest first."""
        ...

    def fetch_holding(self, symbol: str) -> Decimal:
        """What the account holds of ``symbol``: a futures symbol's long position, a spot
        symbol's base asset balance (free and in orders)."""
        ...

    def find_order(
        self, symbol: str, client_order_id: str, *, since_ms: int | None = None
    ) -> Order | None:
        """The order placed with ``client_order_id``, or None if the exchange has none;
        with ``since_ms``, also looked for among the account's trades since then."""
        ...

    def cancel_order(self, symbol: str, order_id: str) -> Order: ...

    def transfer(
        self, asset: str, amount: Decimal, from_wallet: MarketType, to_wallet: MarketType
    ) -> Transfer:
        """Move ``amount`` of ``asset`` between the account's spot and futures wallets.
        Sent once, never retried: a transfer has no client id to look it up by."""
        ...
