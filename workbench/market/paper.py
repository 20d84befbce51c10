"""The paper exchange: dry runs and offline replay behind the same Exchange interface.

Market orders fill at the price source's next price with slippage and a fee (in the quote
currency); limit orders fill at their price once the market trades through it. Spot symbols
(``BTC/USDT``) move balances; futures symbols (``BTC/USDT:USDT``) open isolated-margin long
positions with leverage, a margin and a liquidation price. Everything is kept in the
database, so a paper account survives a restart to the last digit, and a client order id
never places a second order.

An account has two wallets, spot and futures, as an exchange account does: orders use the
account's own wallet (``wallet``: the one its bot trades from), the other is a second paper
account named ``<account>:<wallet>``; ``transfer`` moves funds between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from workbench.db.engine import session_scope
from workbench.db.models import PaperAccount, PaperBalance, PaperOrder, PaperPosition
from workbench.errors import NotFoundError, OrderRejectedError, RejectedError
from workbench.market.exchange import Balance, Market, Order, OrderType, Ticker, Transfer
from workbench.market.margin import liquidation_price
from workbench.market.names import split_symbol
from workbench.market.prices import PriceSource
from workbench.types import DEFAULT_FEE, MarketType, Side

PLACES = Decimal("1e-10")  # the scale of every stored amount (Numeric(28, 10))
ZERO = Decimal(0)


def q(value: Decimal) -> Decimal:
    return value.quantize(PLACES)


@dataclass(frozen=True)
class PaperTerms:
    """Fees and frictions of a paper account (fractions)."""

    fee_rate: Decimal = Decimal(str(DEFAULT_FEE))
    slippage: Decimal = ZERO
    maint_margin: Decimal = Decimal("0.004")


def _split(symbol: str) -> tuple[str, str, bool]:
    """(base, quote, futures) from 'BTC/USDT' or 'BTC/USDT:USDT'."""
    base, quote, settle = split_symbol(symbol)
    return base, settle or quote, bool(settle)


class PaperExchange:
    """A simulated exchange account named ``account`` in the workbench database (``engine``;
    or a connection: each call's writes then join the transaction open on it, if any)."""

    id = "paper"
    # An order is written to the database in one transaction: a client id the account does
    # not hold was never placed, the moment a lookup says so.
    order_window_ms = 0

    def __init__(
        self,
        *,
        engine: Engine | Connection,
        prices: PriceSource,
        account: str = "default",
        terms: PaperTerms | None = None,
        initial_balances: dict[str, Decimal] | None = None,
        wallet: MarketType = MarketType.SPOT,
        second_wallet_balances: dict[str, Decimal] | None = None,
    ) -> None:
        self.engine = engine
        self.prices = prices
        self.account = account
        self.terms = terms or PaperTerms()
        self.initial_balances = (
            initial_balances if initial_balances is not None else {"USDT": Decimal(10_000)}
        )
        self.wallet = wallet
        self.second_wallet_balances = second_wallet_balances or {}

    def __repr__(self) -> str:
        return f"PaperExchange(account={self.account!r})"

    # --- books ---------------------------------------------------------------------------

    def _open(self, session: Session, wallet: MarketType | None = None) -> PaperAccount:
        """The account row (of ``wallet``, default the one orders use), locked for this
        transaction; made with its first balances."""
        second = wallet is not None and wallet != self.wallet
        name = f"{self.account}:{wallet}" if second else self.account
        query = sa.select(PaperAccount).where(PaperAccount.name == name)
        account = session.scalar(query.with_for_update())
        if account is None:
            account = PaperAccount(
                name=name,
                fee_rate=self.terms.fee_rate,
                slippage=self.terms.slippage,
                maint_margin=self.terms.maint_margin,
            )
            session.add(account)
            session.flush()
            first = self.second_wallet_balances if second else self.initial_balances
            for asset, amount in first.items():
                session.add(
                    PaperBalance(account_id=account.id, asset=asset, free=q(amount), used=ZERO)
                )
            session.flush()
        return account

    def _balance(self, session: Session, account: PaperAccount, asset: str) -> PaperBalance:
        row = session.get(PaperBalance, (account.id, asset))
        if row is None:
            row = PaperBalance(account_id=account.id, asset=asset, free=ZERO, used=ZERO)
            session.add(row)
            session.flush()
        return row

    def _position(self, session: Session, account: PaperAccount, symbol: str) -> PaperPosition:
        row = session.get(PaperPosition, (account.id, symbol))
        if row is None:
            row = PaperPosition(
                account_id=account.id,
                symbol=symbol,
                leverage=1,
                quantity=ZERO,
                entry_price=ZERO,
                margin=ZERO,
                liquidation_price=ZERO,
            )
            session.add(row)
            session.flush()
        return row

    def deposit(self, asset: str, amount: Decimal) -> None:
        with session_scope(self.engine) as session:
            account = self._open(session)
            self._balance(session, account, asset).free += q(amount)

    def transfer(
        self, asset: str, amount: Decimal, from_wallet: MarketType, to_wallet: MarketType
    ) -> Transfer:
        """Move free ``amount`` of ``asset`` between the spot and futures wallets."""
        if from_wallet == to_wallet or {from_wallet, to_wallet} - {"spot", "futures"}:
            raise RejectedError(f"transfer from {from_wallet} to {to_wallet}: use spot and futures")
        if amount <= 0:
            raise RejectedError(f"a transfer needs a positive amount, not {amount}")
        with session_scope(self.engine) as session:
            source = self._balance(session, self._open(session, from_wallet), asset)
            target = self._balance(session, self._open(session, to_wallet), asset)
            if source.free < amount:
                raise OrderRejectedError(
                    f"insufficient {asset} in the paper {from_wallet} wallet: {amount} asked, "
                    f"{source.free} free"
                )
            source.free -= q(amount)
            target.free += q(amount)
            moment = self.prices.now()
        return Transfer(
            id=f"{self.account}-{from_wallet}-{to_wallet}-{int(moment.timestamp() * 1000)}",
            asset=asset,
            amount=q(amount),
            from_wallet=from_wallet,
            to_wallet=to_wallet,
            timestamp=moment,
        )

    def wallet_balance(self, wallet: MarketType) -> dict[str, Balance]:
        """The free and used balances of the account's ``wallet`` (spot or futures)."""
        if wallet == self.wallet:
            return self.fetch_balance()
        with session_scope(self.engine) as session:
            account = self._open(session, wallet)
            rows = session.scalars(
                sa.select(PaperBalance).where(PaperBalance.account_id == account.id)
            )
            return {r.asset: Balance(free=r.free, used=r.used) for r in rows}

    # --- market data -----------------------------------------------------------------------

    def load_markets(self) -> dict[str, Market]:
        return self.prices.markets()

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[list[float]]:
        return self.prices.fetch_ohlcv(symbol, timeframe, since_ms, limit)

    def fetch_ticker(self, symbol: str) -> Ticker:
        price = self.prices.price(symbol)
        return Ticker(symbol=symbol, last=price, bid=price, ask=price, timestamp=self.prices.now())

    # --- account ---------------------------------------------------------------------------

    def fetch_balance(self) -> dict[str, Balance]:
        with session_scope(self.engine) as session:
            account = self._open(session)
            self._sync(session, account)
            rows = session.scalars(
                sa.select(PaperBalance).where(PaperBalance.account_id == account.id)
            )
            return {r.asset: Balance(free=r.free, used=r.used) for r in rows}

    def fetch_position(self, symbol: str) -> PaperPosition | None:
        """The open futures position on ``symbol`` (detached), or None."""
        with session_scope(self.engine) as session:
            account = self._open(session)
            self._sync(session, account)
            row = session.get(PaperPosition, (account.id, symbol))
            return row if row is not None and row.quantity > 0 else None

    def set_leverage(self, symbol: str, leverage: int) -> None:
        if not 1 <= leverage <= 125:
            raise RejectedError(f"leverage {leverage} is out of range; use 1 to 125")
        if not _split(symbol)[2]:
            raise RejectedError(
                f"{symbol} is a spot market; leverage needs a futures symbol like BTC/USDT:USDT"
            )
        with session_scope(self.engine) as session:
            position = self._position(session, self._open(session), symbol)
            if position.quantity > 0 and position.leverage != leverage:
                raise RejectedError(
                    f"{symbol} has an open position; close it before changing its leverage"
                )
            position.leverage = leverage

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
        with session_scope(self.engine) as session:
            account = self._open(session)
            existing = session.scalar(
                sa.select(PaperOrder).where(
                    PaperOrder.account_id == account.id,
                    PaperOrder.client_order_id == client_order_id,
                )
            )
            if existing is not None:
                return _order(existing)  # the same client order id never trades twice
            self._sync(session, account)
            row = PaperOrder(
                account_id=account.id,
                client_order_id=client_order_id,
                symbol=symbol,
                side=side,
                type=type,
                status="open",
                amount=ZERO,
                limit_price=None,
            )
            if type == "market":
                self._fill_market(session, account, row, amount, cost)
            elif type == "limit":
                self._place_limit(session, account, row, amount, price)
            else:
                raise RejectedError(f"order type {type!r} is not supported; use market or limit")
            session.add(row)
            session.flush()
            return _order(row)

    def _fill_market(
        self,
        session: Session,
        account: PaperAccount,
        row: PaperOrder,
        amount: Decimal | None,
        cost: Decimal | None,
    ) -> None:
        base, quote, futures = _split(row.symbol)
        reference = self.prices.price(row.symbol)
        slip = account.slippage
        price = reference * (1 + slip) if row.side == "buy" else reference * (1 - slip)
        if cost is not None and row.side != "buy":
            raise RejectedError("a cost (quote amount) sizes buy orders only; sell an amount")
        if amount is None and cost is None:
            raise RejectedError("a market order needs an amount, or a cost for a buy")
        # A cost-sized buy rounds its quantity down: it never spends more than the cost.
        qty = (cost / price).quantize(PLACES, ROUND_DOWN) if cost is not None else q(amount)  # type: ignore[arg-type]
        if qty <= 0:
            raise OrderRejectedError(f"order size must be positive (got {qty})")
        notional = q(qty * price)
        fee = q(notional * account.fee_rate)
        if futures:
            self._trade_futures(session, account, row, qty, price, notional, fee, quote)
        else:
            self._trade_spot(session, account, row, qty, notional, fee, base, quote)
        row.status, row.amount, row.filled, row.cost = "closed", qty, qty, notional
        row.average, row.fee, row.fee_currency = price, fee, quote
        row.filled_at = self.prices.now()

    def _trade_spot(
        self,
        session: Session,
        account: PaperAccount,
        row: PaperOrder,
        qty: Decimal,
        notional: Decimal,
        fee: Decimal,
        base: str,
        quote: str,
    ) -> None:
        base_bal = self._balance(session, account, base)
        quote_bal = self._balance(session, account, quote)
        if row.side == "buy":
            if quote_bal.free < notional + fee:
                raise OrderRejectedError(
                    f"insufficient {quote}: {notional + fee} needed, {quote_bal.free} free"
                )
            quote_bal.free -= notional + fee
            base_bal.free += qty
        else:
            if base_bal.free < qty:
                raise OrderRejectedError(f"insufficient {base}: {qty} needed, {base_bal.free} free")
            base_bal.free -= qty
            quote_bal.free += notional - fee

    def _trade_futures(
        self,
        session: Session,
        account: PaperAccount,
        row: PaperOrder,
        qty: Decimal,
        price: Decimal,
        notional: Decimal,
        fee: Decimal,
        quote: str,
    ) -> None:
        position = self._position(session, account, row.symbol)
        balance = self._balance(session, account, quote)
        if row.side == "buy":
            margin = q(notional / position.leverage)
            if balance.free < margin + fee:
                raise OrderRejectedError(
                    f"insufficient {quote} margin: {margin + fee} needed, {balance.free} free"
                )
            balance.free -= margin + fee
            balance.used += margin
            held = position.quantity
            position.entry_price = q((held * position.entry_price + qty * price) / (held + qty))
            position.quantity = held + qty
            position.margin += margin
            position.liquidation_price = q(
                Decimal(
                    repr(
                        liquidation_price(
                            float(position.entry_price),
                            float(position.leverage),
                            float(account.maint_margin),
                        )
                    )
                )
            )
            return
        if qty > position.quantity:
            raise OrderRejectedError(
                f"cannot sell {qty} {row.symbol}: the long position holds {position.quantity} "
                "(paper futures are long only)"
            )
        released = q(position.margin * qty / position.quantity)
        pnl = q(qty * (price - position.entry_price))
        balance.used -= released
        balance.free += max(released + pnl, ZERO) - fee
        position.quantity -= qty
        position.margin -= released
        if position.quantity == 0:
            position.entry_price = position.margin = position.liquidation_price = ZERO

    def _place_limit(
        self,
        session: Session,
        account: PaperAccount,
        row: PaperOrder,
        amount: Decimal | None,
        price: Decimal | None,
    ) -> None:
        base, quote, futures = _split(row.symbol)
        if futures:
            raise RejectedError("paper futures take market orders only")
        if amount is None or price is None or amount <= 0 or price <= 0:
            raise RejectedError("a limit order needs a positive amount and price")
        row.amount, row.limit_price = q(amount), q(price)
        if row.side == "buy":
            reserve = q(row.amount * row.limit_price * (1 + account.fee_rate))
            balance = self._balance(session, account, quote)
        else:
            reserve = row.amount
            balance = self._balance(session, account, base)
        if balance.free < reserve:
            raise OrderRejectedError(
                f"insufficient {balance.asset}: {reserve} needed, {balance.free} free"
            )
        balance.free -= reserve
        balance.used += reserve
        row.reserved = reserve

    # --- time passing ----------------------------------------------------------------------

    def _sync(self, session: Session, account: PaperAccount) -> None:
        """Fill limit orders and liquidate positions the market reached since the last sync."""
        now = self.prices.now()
        since = account.synced_at
        if since is not None and since < now:
            for order in session.scalars(
                sa.select(PaperOrder).where(
                    PaperOrder.account_id == account.id, PaperOrder.status == "open"
                )
            ):
                seen = self.prices.range_since(order.symbol, since)
                if seen is not None:
                    self._maybe_fill_limit(session, account, order, *seen)
            for position in session.scalars(
                sa.select(PaperPosition).where(
                    PaperPosition.account_id == account.id, PaperPosition.quantity > 0
                )
            ):
                seen = self.prices.range_since(position.symbol, since)
                if seen is not None and seen[0] <= position.liquidation_price:
                    self._liquidate(session, account, position)
        if since is None or since < now:
            account.synced_at = now

    def _maybe_fill_limit(
        self,
        session: Session,
        account: PaperAccount,
        order: PaperOrder,
        low: Decimal,
        high: Decimal,
    ) -> None:
        limit = order.limit_price
        assert limit is not None
        if (order.side == "buy" and low > limit) or (order.side == "sell" and high < limit):
            return
        base, quote, _ = _split(order.symbol)
        notional = q(order.amount * limit)
        fee = q(notional * account.fee_rate)
        if order.side == "buy":
            quote_bal = self._balance(session, account, quote)
            quote_bal.used -= order.reserved
            quote_bal.free += order.reserved - notional - fee
            self._balance(session, account, base).free += order.amount
        else:
            self._balance(session, account, base).used -= order.reserved
            self._balance(session, account, quote).free += notional - fee
        order.status, order.filled, order.cost, order.average = (
            "closed",
            order.amount,
            notional,
            limit,
        )
        order.fee, order.fee_currency, order.reserved = fee, quote, ZERO
        order.filled_at = self.prices.now()

    def _liquidate(self, session: Session, account: PaperAccount, position: PaperPosition) -> None:
        """The exchange takes the isolated margin and closes the position."""
        _, quote, _ = _split(position.symbol)
        self._balance(session, account, quote).used -= position.margin
        session.add(
            PaperOrder(
                account_id=account.id,
                client_order_id=f"liquidation-{position.symbol}-"
                f"{int(self.prices.now().timestamp())}",
                symbol=position.symbol,
                side="sell",
                type="market",
                status="closed",
                amount=position.quantity,
                filled=position.quantity,
                cost=q(position.quantity * position.liquidation_price),
                average=position.liquidation_price,
                fee=ZERO,
                fee_currency=quote,
                filled_at=self.prices.now(),
            )
        )
        position.quantity = position.entry_price = position.margin = ZERO
        position.liquidation_price = ZERO

    # --- orders ----------------------------------------------------------------------------

    def _find(self, session: Session, account: PaperAccount, order_id: str) -> PaperOrder:
        row = session.get(PaperOrder, int(order_id)) if order_id.isdigit() else None
        if row is None or row.account_id != account.id:
            raise NotFoundError(f"paper order {order_id} does not exist")
        return row

    def fetch_order(self, symbol: str, order_id: str) -> Order:
        with session_scope(self.engine) as session:
            account = self._open(session)
            self._sync(session, account)
            return _order(self._find(session, account, order_id))

    def find_order(
        self, symbol: str, client_order_id: str, *, since_ms: int | None = None
    ) -> Order | None:
        with session_scope(self.engine) as session:
            account = self._open(session)
            self._sync(session, account)
            row = session.scalar(
                sa.select(PaperOrder).where(
                    PaperOrder.account_id == account.id,
                    PaperOrder.client_order_id == client_order_id,
                )
            )
            return None if row is None else _order(row)

    def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        with session_scope(self.engine) as session:
            account = self._open(session)
            self._sync(session, account)
            query = sa.select(PaperOrder).where(
                PaperOrder.account_id == account.id, PaperOrder.status == "open"
            )
            if symbol is not None:
                query = query.where(PaperOrder.symbol == symbol)
            return [_order(r) for r in session.scalars(query.order_by(PaperOrder.id))]

    def fetch_orders(self, symbol: str | None = None) -> list[Order]:
        """Every order of the account, oldest first (liquidations included)."""
        with session_scope(self.engine) as session:
            account = self._open(session)
            self._sync(session, account)
            query = sa.select(PaperOrder).where(PaperOrder.account_id == account.id)
            if symbol is not None:
                query = query.where(PaperOrder.symbol == symbol)
            return [_order(r) for r in session.scalars(query.order_by(PaperOrder.id))]

    def fetch_holding(self, symbol: str) -> Decimal:
        base, _, futures = _split(symbol)
        with session_scope(self.engine) as session:
            account = self._open(session)
            self._sync(session, account)
            if futures:
                row = session.get(PaperPosition, (account.id, symbol))
                return row.quantity if row is not None else ZERO
            balance = session.get(PaperBalance, (account.id, base))
            return balance.free + balance.used if balance is not None else ZERO

    def cancel_order(self, symbol: str, order_id: str) -> Order:
        with session_scope(self.engine) as session:
            account = self._open(session)
            self._sync(session, account)
            row = self._find(session, account, order_id)
            if row.status != "open":
                raise OrderRejectedError(f"paper order {order_id} is {row.status}, not open")
            base, quote, _ = _split(row.symbol)
            balance = self._balance(session, account, quote if row.side == "buy" else base)
            balance.used -= row.reserved
            balance.free += row.reserved
            row.reserved, row.status = ZERO, "canceled"
            return _order(row)


def _order(row: PaperOrder) -> Order:
    return Order(
        id=str(row.id),
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        side=row.side,  # type: ignore[arg-type]
        type=row.type,  # type: ignore[arg-type]
        status=row.status,  # type: ignore[arg-type]
        amount=row.amount,
        filled=row.filled,
        cost=row.cost,
        price=row.average if row.average is not None else row.limit_price,
        fee=row.fee,
        fee_currency=row.fee_currency,
        timestamp=row.filled_at if row.filled_at is not None else row.created_at,
    )
