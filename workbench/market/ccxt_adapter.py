"""The exchange interface over ccxt, for any ccxt exchange id (binance first).

ccxt errors are translated here, once, into the workbench's error tree; only temporary
errors are retried. An order create is sent again only when the exchange refused it
before processing (rate limited); after a timeout or a 5xx its fate is unknown: it is looked
up by client order id (and among the account's recent trades) for a bounded time, and if it
does not show, OrderUnknownError leaves it to a later tick, which sends it again only once
the exchange's acceptance window has passed without it appearing.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import ccxt

from workbench.accounts.api_keys import Credentials
from workbench.errors import (
    AuthenticationError,
    NotFoundError,
    OperationalError,
    OrderRejectedError,
    RejectedError,
    TemporaryError,
    WorkbenchError,
)
from workbench.market.exchange import (
    Balance,
    Market,
    Order,
    OrderType,
    OrderUnknownError,
    Ticker,
    Transfer,
)
from workbench.market.names import base_currency
from workbench.market.retry import RetryPolicy
from workbench.redact import MASK, RedactFilter, scrub_text
from workbench.timeutil import from_ms
from workbench.types import MarketType, Side

T = TypeVar("T")
log = logging.getLogger(__name__)

# ccxt class -> ours; the first match in this order wins (subclasses before parents).
_TRANSLATION: list[tuple[type[Exception], type[WorkbenchError]]] = [
    (ccxt.AuthenticationError, AuthenticationError),
    (ccxt.OrderNotFound, NotFoundError),
    (ccxt.InsufficientFunds, OrderRejectedError),
    (ccxt.InvalidOrder, OrderRejectedError),
    (ccxt.BadRequest, RejectedError),
    (ccxt.NotSupported, RejectedError),
    (ccxt.OperationFailed, TemporaryError),  # network, rate limit, 5xx, malformed response
    (ccxt.ExchangeError, OperationalError),
]
_URL_QUERY = re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*")


# ccxt logs request headers at DEBUG level, API key included: mask the keys of every
# client while it lives.
LOG_REDACTOR = RedactFilter()
logging.getLogger("ccxt.base.exchange").addFilter(LOG_REDACTOR)


def _unreachable(error: Exception) -> bool:
    """A request that never got an answer (no network, DNS, refused, timed out)."""
    answered = (ccxt.DDoSProtection, ccxt.ExchangeNotAvailable, ccxt.InvalidNonce)
    return isinstance(error, ccxt.NetworkError) and not isinstance(error, answered)


class _RefusedUnprocessed(Exception):
    """The exchange refused a request before processing it (rate limit): safe to resend."""


# Binance rejects a request that reaches it later than its recvWindow; this margin covers
# clock skew between us and the exchange.
CLOCK_MARGIN_MS = 5_000


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _stamp(ms: Any) -> datetime | None:
    return None if ms is None else from_ms(ms)


class CcxtExchange:
    """A ccxt exchange behind the workbench's Exchange interface.

    Construction does no network I/O. ``api_urls`` replaces entries of ccxt's
    ``urls['api']`` (a local fake server in tests, a proxy in production).
    """

    def __init__(
        self,
        exchange_id: str,
        *,
        credentials: Credentials | None = None,
        sandbox: bool = False,
        timeout_ms: int = 10_000,
        retry: RetryPolicy | None = None,
        api_urls: dict[str, str] | None = None,
        market_types: Iterable[str] = ("spot", "linear"),
        account: str | None = None,
        order_window_ms: int | None = None,
        settle_seconds: float = 5.0,
    ) -> None:
        if exchange_id not in ccxt.exchanges:
            raise RejectedError(
                f"unknown exchange {exchange_id!r}; ccxt knows e.g. binance, kraken, bybit, okx"
            )
        config: dict[str, Any] = {
            "enableRateLimit": True,
            "timeout": timeout_ms,
            "options": {
                "fetchMarkets": {"types": list(market_types)},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
        }
        if credentials is not None:
            config["apiKey"] = credentials.api_key
            config["secret"] = credentials.secret
        self._secrets = [credentials.api_key, credentials.secret] if credentials else []
        LOG_REDACTOR.track(self, self._secrets)
        self.client: ccxt.Exchange = getattr(ccxt, exchange_id)(config)
        if sandbox:
            self.client.set_sandbox_mode(True)
        if api_urls:
            self.client.urls["api"] = {**self.client.urls["api"], **api_urls}
        self.id = exchange_id
        self.account = account or ("sandbox" if sandbox else "live")
        self.retry = retry or RetryPolicy()
        self.order_window_ms = (
            order_window_ms
            if order_window_ms is not None
            else int(self.client.options.get("recvWindow") or 10_000) + CLOCK_MARGIN_MS
        )
        self.settle_seconds = settle_seconds  # how long a create of unknown fate is polled

    def __repr__(self) -> str:
        return f"CcxtExchange({self.id!r}, keys={'yes' if self._secrets else 'no'})"

    # --- error handling ------------------------------------------------------------------

    def _scrub(self, message: str) -> str:
        """``binance: ...`` with query strings cut and any key or secret masked."""
        message = _URL_QUERY.sub(r"\1?…", message).removeprefix(f"{self.id} ")
        message = scrub_text(message, self._secrets, MASK)
        return f"{self.id}: {message[:500]}"

    def _translate(self, fn: Callable[[], T]) -> T:
        """Run one ccxt call; raise its error as the workbench's, never with a secret in it."""
        try:
            return fn()
        except ccxt.BaseError as e:
            if _unreachable(e):
                cause = type(e.__cause__ or e).__name__
                what = (
                    f"did not answer within {self.client.timeout} ms"
                    if isinstance(e, ccxt.RequestTimeout)
                    else f"cannot be reached ({cause})"
                )
                raise TemporaryError(
                    f"{self.id} {what}: check the network connection and try again later"
                ) from None
            for ccxt_class, ours in _TRANSLATION:
                if isinstance(e, ccxt_class):
                    raise ours(self._scrub(str(e))) from None
            raise OperationalError(self._scrub(str(e))) from None

    def _call(self, fn: Callable[[], T]) -> T:
        return self.retry.call(lambda: self._translate(fn))

    # --- public data ---------------------------------------------------------------------

    def load_markets(self) -> dict[str, Market]:
        raw = self._call(lambda: self.client.load_markets(reload=True))
        out: dict[str, Market] = {}
        for symbol, m in raw.items():
            kind: MarketType | None = (
                MarketType.SPOT
                if m.get("spot")
                else (MarketType.FUTURES if m.get("swap") or m.get("future") else None)
            )
            if kind is not None:
                out[symbol] = Market(
                    symbol=symbol,
                    type=kind,
                    base=m["base"],
                    quote=m["quote"],
                    active=m.get("active") is not False,
                )
        return out

    def symbols(self, market_type: MarketType) -> list[str]:
        return sorted(s for s, m in self.load_markets().items() if m.type == market_type)

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[list[float]]:
        return self._call(lambda: self.client.fetch_ohlcv(symbol, timeframe, since_ms, limit))

    def fetch_ticker(self, symbol: str) -> Ticker:
        def fetch() -> dict[str, Any]:
            raw = self.client.fetch_ticker(symbol)
            if (raw.get("last") or raw.get("close")) is None:
                raise ccxt.BadResponse(f"ticker for {symbol} has no last price")
            return raw

        raw = self._call(fetch)
        last = Decimal(str(raw.get("last") or raw.get("close")))
        return Ticker(
            symbol=symbol,
            last=last,
            bid=_decimal(raw.get("bid")),
            ask=_decimal(raw.get("ask")),
            timestamp=_stamp(raw.get("timestamp")),
        )

    # --- account -------------------------------------------------------------------------

    def fetch_balance(self) -> dict[str, Balance]:
        raw = self._call(self.client.fetch_balance)
        return {
            asset: Balance(
                free=_decimal(raw["free"].get(asset)) or Decimal(0),
                used=_decimal(raw["used"].get(asset)) or Decimal(0),
            )
            for asset in raw.get("total", {})
        }

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
        params: dict[str, Any] = {"clientOrderId": client_order_id}
        if cost is not None:
            params["cost"] = float(cost)
            amount = cost if amount is None else amount
        if amount is None:
            raise RejectedError("an order needs an amount (or a cost for a market buy)")

        def place() -> Order:
            try:
                raw = self.client.create_order(
                    symbol,
                    type,
                    side,
                    float(amount),
                    None if price is None else float(price),
                    params,
                )
            except ccxt.DDoSProtection as e:  # rate limited (429/418): never processed
                raise _RefusedUnprocessed(str(e)) from None
            return self._order(raw, symbol)

        for attempt in range(1, self.retry.attempts + 1):
            sent_ms = int(time.time() * 1000)
            try:
                return self._translate(place)
            except _RefusedUnprocessed as e:
                if attempt == self.retry.attempts:
                    raise TemporaryError(self._scrub(str(e))) from None
                time.sleep(self.retry.wait_before(attempt + 1))
            except TemporaryError as e:
                log.warning("create %s: no answer (%s); looking it up", client_order_id, e)
                found = self._settle(symbol, client_order_id, sent_ms)
                if found is not None:
                    return found
                raise OrderUnknownError(
                    f"order {client_order_id} was sent but its fate is unknown ({e}); it is "
                    "looked up again on the next tick and not sent twice",
                    client_order_id=client_order_id,
                ) from None
        raise AssertionError("unreachable")

    def _settle(self, symbol: str, client_order_id: str, sent_ms: int) -> Order | None:
        """Look an order of unknown fate up for at most ``settle_seconds``."""
        deadline = time.monotonic() + self.settle_seconds
        while True:
            try:
                found = self.find_order(symbol, client_order_id, since_ms=sent_ms - 1_000)
            except TemporaryError:
                found = None
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def fetch_order(self, symbol: str, order_id: str) -> Order:
        return self._order(self._call(lambda: self.client.fetch_order(order_id, symbol)), symbol)

    def find_order(
        self, symbol: str, client_order_id: str, *, since_ms: int | None = None
    ) -> Order | None:
        params = {"clientOrderId": client_order_id}
        try:
            raw = self._call(lambda: self.client.fetch_order(None, symbol, params))
        except NotFoundError:
            raw = None
        if raw is not None:
            return self._order(raw, symbol)
        if since_ms is None:
            return None
        # The account's own record: an order that filled shows among its trades.
        trades = self._call(lambda: self.client.fetch_my_trades(symbol, since_ms))
        for order_id in dict.fromkeys(str(t["order"]) for t in trades if t.get("order")):
            order = self.fetch_order(symbol, order_id)
            if order.client_order_id == client_order_id:
                return order
        return None

    def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        raw = self._call(lambda: self.client.fetch_open_orders(symbol))
        return [self._order(o, o.get("symbol") or symbol or "") for o in raw]

    def fetch_orders(self, symbol: str) -> list[Order]:
        raw = self._call(lambda: self.client.fetch_orders(symbol))
        orders = [self._order(o, symbol) for o in raw]
        return sorted(orders, key=lambda o: o.timestamp or from_ms(0))

    def fetch_holding(self, symbol: str) -> Decimal:
        if ":" not in symbol:  # spot: what the account holds of the base asset
            balance = self.fetch_balance().get(base_currency(symbol))
            return balance.total if balance is not None else Decimal(0)
        positions = self._call(lambda: self.client.fetch_positions([symbol]))
        held = Decimal(0)
        for position in positions:
            if position.get("symbol") != symbol:
                continue
            size = (_decimal(position.get("contracts")) or Decimal(0)) * (
                _decimal(position.get("contractSize")) or Decimal(1)
            )
            held += -size if position.get("side") == "short" else size
        return held

    def cancel_order(self, symbol: str, order_id: str) -> Order:
        return self._order(self._call(lambda: self.client.cancel_order(order_id, symbol)), symbol)

    def transfer(
        self, asset: str, amount: Decimal, from_wallet: MarketType, to_wallet: MarketType
    ) -> Transfer:
        """ccxt ``transfer(code, amount, fromAccount, toAccount)``, translated but never
        retried: a transfer resent after a lost answer could move the funds twice."""
        # ccxt's unified account names of our wallets (perpetual futures are ccxt "swap"s).
        names = {"spot": "spot", "futures": "swap"}
        if from_wallet == to_wallet or {from_wallet, to_wallet} - set(names):
            raise RejectedError(f"transfer from {from_wallet} to {to_wallet}: use spot and futures")
        raw = self._translate(
            lambda: self.client.transfer(asset, float(amount), names[from_wallet], names[to_wallet])
        )
        return Transfer(
            id=str(raw.get("id")),
            asset=asset,
            amount=amount,
            from_wallet=from_wallet,
            to_wallet=to_wallet,
            timestamp=from_ms(raw["timestamp"]) if raw.get("timestamp") else None,
        )

    def _order(self, raw: dict[str, Any], symbol: str) -> Order:
        fee = raw.get("fee") or {}
        fees = raw.get("fees") or ([fee] if fee else [])
        fee_cost = sum((_decimal(f.get("cost")) or Decimal(0) for f in fees), Decimal(0))
        return Order(
            id=str(raw["id"]),
            client_order_id=raw.get("clientOrderId"),
            symbol=raw.get("symbol") or symbol,
            side=raw["side"],
            type=raw.get("type") or "market",
            status=raw.get("status") or "open",
            amount=_decimal(raw.get("amount")) or Decimal(0),
            filled=_decimal(raw.get("filled")) or Decimal(0),
            cost=_decimal(raw.get("cost")) or Decimal(0),
            price=_decimal(raw.get("average") or raw.get("price")),
            fee=fee_cost,
            fee_currency=(fees[0].get("currency") if fees else None),
            timestamp=_stamp(raw.get("timestamp")),
        )
