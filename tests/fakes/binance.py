"""A small fake Binance REST server on loopback, for the real ccxt client.

It speaks the subset the workbench uses (exchange info for spot and USDT futures, klines,
24h ticker, account, order create / query / cancel, open and all orders), checks HMAC-SHA256
signatures, fills market orders at the current price, and can be told to misbehave:
``server.state.fail_next(kind, n, path=None)`` with kind

- ``"429"``, ``"500"``, ``"503"``: that HTTP error, nothing processed;
- ``"timeout"``: hold the request ``delay_seconds``, then 503, nothing processed (lost);
- ``"late"``: hold it ``late_seconds`` (the client times out meanwhile), then execute it;
- ``"malformed"``: an unreadable 200 answer;
- ``"lose_response"``: execute it, answer 503.

``latency[path]`` delays every request to ``path`` before it is processed. Order ids count
per symbol from ``first_order_id`` (Binance's ids are per symbol); buy fees are charged in
the base asset (Binance's default without BNB) unless ``buy_fee_in_base`` is False.

``python -m tests.fakes.binance`` runs the server as its own process; it prints its URL and
takes commands at ``POST /_fake`` (see ``FakeBinanceProcess``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API_KEY = "fake-binance-api-key-0123456789abcdef"
SECRET = "fake-binance-secret-fedcba9876543210"
FEE_RATE = Decimal("0.001")
SYMBOLS = {"BTCUSDT": ("BTC", "USDT"), "ETHUSDT": ("ETH", "USDT"), "ETHBTC": ("ETH", "BTC")}


def _filters() -> list[dict[str, str]]:
    return [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "0.00000100",
            "maxPrice": "1000000.00",
            "tickSize": "0.00000100",
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": "0.00001000",
            "maxQty": "9000.00",
            "stepSize": "0.00001000",
        },
        {
            "filterType": "MARKET_LOT_SIZE",
            "minQty": "0.00000000",
            "maxQty": "9000.00",
            "stepSize": "0.00000000",
        },
    ]


@dataclass
class FakeBinance:
    """State and switches of the fake exchange (the HTTP handler reads and writes it)."""

    prices: dict[str, Decimal] = field(
        default_factory=lambda: {
            "BTCUSDT": Decimal("30000"),
            "ETHUSDT": Decimal("2000"),
            "ETHBTC": Decimal("0.066"),
        }
    )
    balances: dict[str, Decimal] = field(
        default_factory=lambda: {"USDT": Decimal("10000"), "BTC": Decimal("1"), "ETH": Decimal("0")}
    )
    klines: dict[str, list[list[Any]]] = field(default_factory=dict)
    # The USDⓈ-M futures wallet and the transfers into and out of it (/sapi/v1/asset/transfer).
    futures_balances: dict[str, Decimal] = field(default_factory=dict)
    transfers: list[dict[str, str]] = field(default_factory=list)
    positions: dict[str, Decimal] = field(default_factory=dict)  # USDT-M futures, by symbol
    orders: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str | None]] = field(default_factory=list)
    delay_seconds: float = 2.0
    late_seconds: float = 10.0
    latency: dict[str, float] = field(default_factory=dict)
    buy_fee_in_base: bool = True
    first_order_id: int = 1000
    # The share of a market order that fills at once (None: all of it); the rest stays
    # open (PARTIALLY_FILLED) until it is cancelled.
    partial_fill: Decimal | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    next_ids: dict[str, int] = field(default_factory=dict)

    def next_id(self, symbol: str) -> int:
        order_id = self.next_ids.get(symbol, self.first_order_id)
        self.next_ids[symbol] = order_id + 1
        return order_id

    def fail_next(self, kind: str, times: int = 1, *, path: str | None = None) -> None:
        """Misbehave on the next ``times`` requests (only those to ``path`` when given)."""
        with self.lock:
            self.failures.extend([(kind, path)] * times)

    def take_failure(self, path: str) -> str | None:
        with self.lock:
            for i, (kind, only) in enumerate(self.failures):
                if only is None or only == path:
                    del self.failures[i]
                    return kind
        return None

    def inject_order(
        self, symbol: str, side: str, qty: str, client_id: str, status: str = "FILLED"
    ) -> dict[str, Any]:
        """An order the exchange holds that the workbench did not see placed (a mismatch to
        reconcile): ``FILLED`` trades at the current price and moves balances (fee in the
        quote); ``NEW`` rests unfilled; ``CANCELED`` never filled."""
        with self.lock:
            order_id = self.next_id(symbol)
            amount, price = Decimal(qty), self.prices[symbol]
            now = int(time.time() * 1000)
            filled = status == "FILLED"
            order: dict[str, Any] = {
                "symbol": symbol,
                "orderId": order_id,
                "orderListId": -1,
                "clientOrderId": client_id,
                "transactTime": now,
                "time": now,
                "updateTime": now,
                "price": "0.00000000",
                "origQty": str(amount),
                "executedQty": str(amount if filled else 0),
                "cummulativeQuoteQty": str(amount * price if filled else 0),
                "status": status,
                "timeInForce": "GTC",
                "type": "MARKET",
                "side": side,
                "isWorking": True,
                "fills": [],
            }
            if filled:
                base, quote = SYMBOLS[symbol]
                sign = 1 if side == "BUY" else -1
                fee = amount * price * FEE_RATE
                self.balances[base] = self.balances.get(base, Decimal(0)) + sign * amount
                self.balances[quote] -= sign * amount * price + fee
                order["fills"] = [
                    {
                        "price": str(price),
                        "qty": str(amount),
                        "commission": str(fee),
                        "commissionAsset": quote,
                        "tradeId": order_id,
                    }
                ]
            self.orders[(symbol, order_id)] = order
            return order

    def orders_placed(self) -> int:
        return len(self.orders)

    def snapshot(self) -> dict[str, Any]:
        """What a test inspects, as JSON (the same for the in-process and process server)."""
        with self.lock:
            return {
                "orders": [_order_json(o) for o in self.orders.values()],
                "balances": {a: str(v) for a, v in self.balances.items()},
                "requests": dict(self.requests),
            }

    def command(self, op: str, args: dict[str, Any]) -> Any:
        """Apply one control command (``POST /_fake``): fail_next, set, snapshot."""
        if op == "fail_next":
            self.fail_next(args["kind"], int(args.get("times", 1)), path=args.get("path"))
        elif op == "set":
            with self.lock:
                for name, value in args.items():
                    if name in ("prices", "balances"):
                        getattr(self, name).update({k: Decimal(v) for k, v in value.items()})
                    elif name in ("klines", "latency"):
                        getattr(self, name).update(value)
                    elif name in (
                        "delay_seconds",
                        "late_seconds",
                        "buy_fee_in_base",
                        "first_order_id",
                    ):
                        setattr(self, name, value)
                    else:
                        raise KeyError(f"unknown setting {name!r}")
        elif op != "snapshot":
            raise KeyError(f"unknown command {op!r}")
        return self.snapshot()


class _Handler(BaseHTTPRequestHandler):
    state: FakeBinance

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # --- plumbing ----------------------------------------------------------------------------

    def _send(self, status: int, payload: Any, raw: bytes | None = None) -> None:
        body = raw if raw is not None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def _error(self, status: int, code: int, msg: str) -> None:
        self._send(status, {"code": code, "msg": msg})

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        payload = url.query if method != "POST" else body or url.query
        params = dict(parse_qsl(payload))
        state = self.state
        if url.path == "/_fake":
            command = json.loads(body)
            self._send(200, state.command(command.pop("op"), command))
            return
        with state.lock:
            state.requests[f"{method} {url.path}"] += 1
        failure = state.take_failure(url.path)
        if url.path in state.latency:
            time.sleep(state.latency[url.path])
        if failure == "late":  # the client gives up; the exchange executes it anyway, later
            time.sleep(state.late_seconds)
            failure = None
        if failure in ("429", "500", "503"):
            codes = {
                "429": (-1003, "Too many requests; please use the websocket."),
                "500": (-1000, "An unknown error occurred while processing the request."),
                "503": (-1001, "Internal error; unable to process your request."),
            }
            code, msg = codes[failure]
            self._error(int(failure), code, msg)
            return
        if failure == "timeout":
            time.sleep(state.delay_seconds)
            self._send(503, {"code": -1007, "msg": "Timeout waiting for response."})
            return
        if failure == "malformed":
            self._send(200, None, raw=b'{"symbol": "BTCUSDT", "price": <html>oops')
            return
        route = f"{method} {url.path}"
        signed = url.path in (
            "/api/v3/account",
            "/api/v3/order",
            "/api/v3/openOrders",
            "/api/v3/allOrders",
            "/fapi/v1/leverageBracket",
            "/fapi/v1/allOrders",
            "/fapi/v3/positionRisk",
            "/api/v3/myTrades",
            "/sapi/v1/asset/transfer",
        )
        if signed and not self._signature_ok(payload):
            return
        handler = ROUTES.get(route)
        if handler is None:
            self._error(404, -1, f"no such endpoint in the fake server: {route}")
            return
        with state.lock:
            status, result = handler(state, params)
        if failure == "lose_response":  # the order was processed, the answer is lost
            self._error(503, -1001, "Internal error; unable to process your request.")
            return
        self._send(status, result)

    def _signature_ok(self, payload: str) -> bool:
        if self.headers.get("X-MBX-APIKEY") != API_KEY:
            self._error(401, -2014, "API-key format invalid.")
            return False
        unsigned, _, signature = payload.rpartition("&signature=")
        expected = hmac.new(SECRET.encode(), unsigned.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            self._error(400, -1022, "Signature for this request is not valid.")
            return False
        return True


# --- endpoints -------------------------------------------------------------------------------

Result = tuple[int, Any]


def _exchange_info(state: FakeBinance, params: dict[str, str]) -> Result:
    symbols = [
        {
            "symbol": s,
            "status": "TRADING",
            "baseAsset": b,
            "baseAssetPrecision": 8,
            "quoteAsset": q,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "MARKET"],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": _filters(),
            "permissions": ["SPOT"],
            "permissionSets": [["SPOT"]],
        }
        for s, (b, q) in SYMBOLS.items()
    ]
    return 200, {
        "timezone": "UTC",
        "serverTime": int(time.time() * 1000),
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": symbols,
    }


def _futures_info(state: FakeBinance, params: dict[str, str]) -> Result:
    symbols = [
        {
            "symbol": s,
            "pair": s,
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000,
            "status": "TRADING",
            "baseAsset": b,
            "quoteAsset": q,
            "marginAsset": q,
            "pricePrecision": 2,
            "quantityPrecision": 3,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "settlePlan": 0,
            "triggerProtect": "0.0500",
            "filters": _filters(),
            "orderTypes": ["LIMIT", "MARKET"],
            "timeInForce": ["GTC"],
        }
        for s, (b, q) in SYMBOLS.items()
        if q == "USDT"
    ]
    return 200, {
        "timezone": "UTC",
        "serverTime": int(time.time() * 1000),
        "rateLimits": [],
        "exchangeFilters": [],
        "assets": [],
        "symbols": symbols,
    }


def _klines(state: FakeBinance, params: dict[str, str]) -> Result:
    rows = state.klines.get(params["symbol"], [])
    start = int(params.get("startTime", 0))
    end = int(params.get("endTime", 2**62))
    limit = int(params.get("limit", 500))
    chosen = [r for r in rows if start <= r[0] <= end]
    # Like Binance: from startTime forwards, else the newest bars.
    chosen = chosen[:limit] if "startTime" in params else chosen[-limit:]
    return 200, [
        [
            r[0],
            str(r[1]),
            str(r[2]),
            str(r[3]),
            str(r[4]),
            str(r[5]),
            r[0] + 59_999,
            "0",
            1,
            "0",
            "0",
            "0",
        ]
        for r in chosen
    ]


def _ticker(state: FakeBinance, params: dict[str, str]) -> Result:
    symbol = params["symbol"]
    if symbol not in state.prices:
        return 400, {"code": -1121, "msg": "Invalid symbol."}
    p = str(state.prices[symbol])
    now = int(time.time() * 1000)
    return 200, {
        "symbol": symbol,
        "priceChange": "0",
        "priceChangePercent": "0",
        "weightedAvgPrice": p,
        "prevClosePrice": p,
        "lastPrice": p,
        "lastQty": "1",
        "bidPrice": p,
        "bidQty": "1",
        "askPrice": p,
        "askQty": "1",
        "openPrice": p,
        "highPrice": p,
        "lowPrice": p,
        "volume": "100",
        "quoteVolume": "100",
        "openTime": now - 86_400_000,
        "closeTime": now,
        "firstId": 1,
        "lastId": 2,
        "count": 2,
    }


def _account(state: FakeBinance, params: dict[str, str]) -> Result:
    balances = [
        {"asset": a, "free": str(v), "locked": "0.00000000"} for a, v in state.balances.items()
    ]
    return 200, {
        "makerCommission": 10,
        "takerCommission": 10,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "updateTime": int(time.time() * 1000),
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
    }


OPEN = ("NEW", "PARTIALLY_FILLED")  # the order statuses Binance counts as open


def _order_json(order: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order.items() if k != "fills"} | {"fills": order.get("fills", [])}


def _create_order(state: FakeBinance, params: dict[str, str]) -> Result:
    symbol, side, kind = params["symbol"], params["side"], params["type"]
    if symbol not in SYMBOLS:
        return 400, {"code": -1121, "msg": "Invalid symbol."}
    base, quote = SYMBOLS[symbol]
    order_id = state.next_id(symbol)
    client_id = params.get("newClientOrderId") or f"auto{order_id}"
    for existing in state.orders.values():
        if existing["clientOrderId"] == client_id and existing["status"] in OPEN:
            return 400, {"code": -2010, "msg": "Duplicate order sent."}
    price = state.prices[symbol]
    if "quoteOrderQty" in params:
        qty = (Decimal(params["quoteOrderQty"]) / price).quantize(Decimal("0.00001"))
    else:
        qty = Decimal(params["quantity"])
    now = int(time.time() * 1000)
    order: dict[str, Any] = {
        "symbol": symbol,
        "orderId": order_id,
        "orderListId": -1,
        "clientOrderId": client_id,
        "transactTime": now,
        "time": now,
        "updateTime": now,
        "price": params.get("price", "0.00000000"),
        "origQty": str(qty),
        "executedQty": "0.00000000",
        "cummulativeQuoteQty": "0.00000000",
        "status": "NEW",
        "timeInForce": params.get("timeInForce", "GTC"),
        "type": kind,
        "side": side,
        "isWorking": True,
        "fills": [],
    }
    if kind == "MARKET":
        ordered = qty
        if state.partial_fill is not None:
            qty = (qty * state.partial_fill).quantize(Decimal("0.00001"))
        cost = qty * price
        in_base = side == "BUY" and state.buy_fee_in_base
        fee = qty * FEE_RATE if in_base else cost * FEE_RATE
        fee_asset = base if in_base else quote
        if side == "BUY" and state.balances.get(quote, Decimal(0)) < cost:
            return 400, {
                "code": -2010,
                "msg": "Account has insufficient balance for requested action.",
            }
        if side == "SELL" and state.balances.get(base, Decimal(0)) < qty:
            return 400, {
                "code": -2010,
                "msg": "Account has insufficient balance for requested action.",
            }
        sign = 1 if side == "BUY" else -1
        state.balances[base] = state.balances.get(base, Decimal(0)) + sign * qty
        state.balances[quote] = state.balances.get(quote, Decimal(0)) - sign * cost
        state.balances[fee_asset] -= fee
        order.update(
            status="FILLED" if qty == ordered else "PARTIALLY_FILLED",
            executedQty=str(qty),
            cummulativeQuoteQty=str(cost),
            fills=[
                {
                    "price": str(price),
                    "qty": str(qty),
                    "commission": str(fee),
                    "commissionAsset": fee_asset,
                    "tradeId": order_id,
                }
            ],
        )
    state.orders[(symbol, order_id)] = order
    return 200, _order_json(order)


def _find(state: FakeBinance, params: dict[str, str]) -> dict[str, Any] | None:
    symbol = params.get("symbol", "")
    if "orderId" in params:
        return state.orders.get((symbol, int(params["orderId"])))
    wanted = params.get("origClientOrderId")
    mine = [o for o in state.orders.values() if o["symbol"] == symbol]
    return next((o for o in reversed(mine) if o["clientOrderId"] == wanted), None)


def _query_order(state: FakeBinance, params: dict[str, str]) -> Result:
    order = _find(state, params)
    if order is None:
        return 400, {"code": -2013, "msg": "Order does not exist."}
    return 200, _order_json(order)


def _cancel_order(state: FakeBinance, params: dict[str, str]) -> Result:
    order = _find(state, params)
    if order is None or order["status"] not in OPEN:
        return 400, {"code": -2011, "msg": "Unknown order sent."}
    order["status"] = "CANCELED"
    return 200, _order_json(order)


def _open_orders(state: FakeBinance, params: dict[str, str]) -> Result:
    return 200, [
        _order_json(o)
        for o in state.orders.values()
        if o["status"] in OPEN and params.get("symbol") in (None, o["symbol"])
    ]


def _all_orders(state: FakeBinance, params: dict[str, str]) -> Result:
    limit = int(params.get("limit", 500))
    mine = [o for o in state.orders.values() if o["symbol"] == params.get("symbol")]
    return 200, [_order_json(o) for o in mine[-limit:]]


def _leverage_brackets(state: FakeBinance, params: dict[str, str]) -> Result:
    bracket = {
        "bracket": 1,
        "initialLeverage": 125,
        "notionalCap": 1_000_000,
        "notionalFloor": 0,
        "maintMarginRatio": 0.004,
        "cum": 0.0,
    }
    return 200, [
        {"symbol": s, "brackets": [bracket]} for s, (_, q) in SYMBOLS.items() if q == "USDT"
    ]


def _position_risk(state: FakeBinance, params: dict[str, str]) -> Result:
    """USDT-M positions (one-way mode) of the symbols set in ``positions``."""
    now = int(time.time() * 1000)
    return 200, [
        {
            "symbol": symbol,
            "positionSide": "BOTH",
            "positionAmt": str(amount),
            "entryPrice": str(state.prices[symbol]),
            "breakEvenPrice": str(state.prices[symbol]),
            "markPrice": str(state.prices[symbol]),
            "unRealizedProfit": "0",
            "liquidationPrice": "0",
            "isolatedMargin": "0",
            "notional": str(amount * state.prices[symbol]),
            "marginAsset": "USDT",
            "isolatedWallet": "0",
            "initialMargin": "0",
            "maintMargin": "0",
            "positionInitialMargin": "0",
            "openOrderInitialMargin": "0",
            "adl": 0,
            "bidNotional": "0",
            "askNotional": "0",
            "updateTime": now,
        }
        for symbol, amount in state.positions.items()
        if params.get("symbol") in (None, symbol)
    ]


def _my_trades(state: FakeBinance, params: dict[str, str]) -> Result:
    since = int(params.get("startTime", 0))
    trades = [
        {
            "symbol": o["symbol"],
            "id": fill["tradeId"],
            "orderId": o["orderId"],
            "orderListId": -1,
            "price": fill["price"],
            "qty": fill["qty"],
            "quoteQty": str(Decimal(fill["price"]) * Decimal(fill["qty"])),
            "commission": fill["commission"],
            "commissionAsset": fill["commissionAsset"],
            "time": o["updateTime"],
            "isBuyer": o["side"] == "BUY",
            "isMaker": False,
            "isBestMatch": True,
        }
        for o in state.orders.values()
        if o["symbol"] == params.get("symbol") and o["updateTime"] >= since
        for fill in o["fills"]
    ]
    return 200, trades


def _transfer(state: FakeBinance, params: dict[str, str]) -> Result:
    """Universal transfer between the spot (MAIN) and USDⓈ-M futures (UMFUTURE) wallets."""
    wallets = {"MAIN": state.balances, "UMFUTURE": state.futures_balances}
    source, _, target = params.get("type", "").partition("_")
    if source not in wallets or target not in wallets:
        return 400, {"code": -1100, "msg": f"unsupported transfer type {params.get('type')}"}
    asset, amount = params["asset"], Decimal(params["amount"])
    if wallets[source].get(asset, Decimal(0)) < amount:
        return 400, {"code": -5013, "msg": "Asset transfer failed: insufficient balance"}
    wallets[source][asset] -= amount
    wallets[target][asset] = wallets[target].get(asset, Decimal(0)) + amount
    state.transfers.append(dict(params))
    return 200, {"tranId": 13526853000 + len(state.transfers)}


ROUTES = {
    "GET /api/v3/exchangeInfo": _exchange_info,
    "GET /fapi/v1/exchangeInfo": _futures_info,
    "GET /api/v3/klines": _klines,
    "GET /api/v3/ticker/24hr": _ticker,
    "GET /api/v3/account": _account,
    "POST /api/v3/order": _create_order,
    "GET /api/v3/order": _query_order,
    "DELETE /api/v3/order": _cancel_order,
    "GET /api/v3/openOrders": _open_orders,
    "GET /api/v3/allOrders": _all_orders,
    "GET /fapi/v1/leverageBracket": _leverage_brackets,
    "GET /fapi/v1/ticker/24hr": _ticker,
    "GET /fapi/v1/allOrders": lambda state, params: (200, []),  # futures orders: not faked
    "GET /fapi/v3/positionRisk": _position_risk,
    "GET /api/v3/myTrades": _my_trades,
    "POST /sapi/v1/asset/transfer": _transfer,
}


def api_urls(url: str) -> dict[str, str]:
    """Overrides for ccxt.binance's ``urls['api']``: everything to the server at ``url``."""
    return {
        "public": f"{url}/api/v3",
        "private": f"{url}/api/v3",
        "v1": f"{url}/api/v1",
        "sapi": f"{url}/sapi/v1",
        "fapiPublic": f"{url}/fapi/v1",
        "fapiPrivate": f"{url}/fapi/v1",
        "fapiPublicV2": f"{url}/fapi/v2",
        "fapiPrivateV2": f"{url}/fapi/v2",
        "fapiPrivateV3": f"{url}/fapi/v3",
        "dapiPublic": f"{url}/dapi/v1",
        "dapiPrivate": f"{url}/dapi/v1",
    }


class FakeBinanceServer:
    """``with FakeBinanceServer() as server:`` serves on 127.0.0.1 at ``server.url``."""

    def __init__(self, state: FakeBinance | None = None, *, port: int = 0) -> None:
        self.state = state or FakeBinance()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def api_urls(self) -> dict[str, str]:
        """Overrides for ccxt.binance's ``urls['api']``: everything to this server."""
        return api_urls(self.url)

    def __enter__(self) -> FakeBinanceServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeBinanceProcess:
    """The fake server in its own process: ``with FakeBinanceProcess() as fake:``; steer it
    with ``fake.command("fail_next", kind="late", path="/api/v3/order")``,
    ``fake.command("set", latency={"/api/v3/order": 2})``; ``fake.snapshot()`` reads it."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> FakeBinanceProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.binance"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.__exit__()
            raise RuntimeError(f"the fake Binance process did not start (said {self.url!r})")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()

    def api_urls(self) -> dict[str, str]:
        return api_urls(self.url)

    def command(self, op: str, **args: Any) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}/_fake", data=json.dumps({"op": op, **args}).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            result: dict[str, Any] = json.loads(answer.read())
        return result

    def snapshot(self) -> dict[str, Any]:
        return self.command("snapshot")


if __name__ == "__main__":
    server = FakeBinanceServer()
    print(server.url, flush=True)
    server.httpd.serve_forever()
