"""Market data and exchanges: the exchange interface, ccxt adapter, paper exchange, candles."""

from workbench.market.exchange import Balance, Exchange, Market, Order, Ticker

__all__ = ["Balance", "Exchange", "Market", "Order", "Ticker"]
