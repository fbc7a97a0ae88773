"""Binance error codes and the exception that carries them to the HTTP layer."""

from __future__ import annotations


class BinanceError(Exception):
    """An error answered as Binance does: HTTP status plus {"code": ..., "msg": ...}."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


def invalid_symbol() -> BinanceError:
    return BinanceError(-1121, "Invalid symbol.")


def mandatory(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def bad_param(name: str) -> BinanceError:
    return BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.")


def bad_interval() -> BinanceError:
    return BinanceError(-1120, "Invalid interval.")


def stale_timestamp() -> BinanceError:
    return BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def ahead_timestamp() -> BinanceError:
    return BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def bad_signature() -> BinanceError:
    return BinanceError(-1022, "Signature for this request is not valid.")


def bad_key_format() -> BinanceError:
    return BinanceError(-2014, "API-key format invalid.", 401)


def bad_key(ip: str) -> BinanceError:
    return BinanceError(
        -2015, f"Invalid API-key, IP, or permissions for action, request ip: {ip}", 401
    )


def insufficient_margin() -> BinanceError:
    return BinanceError(-2019, "Margin is insufficient.")


def min_notional(notional: str) -> BinanceError:
    return BinanceError(
        -4164,
        f"Order's notional must be no smaller than {notional} (unless you choose reduce only).",
    )


# Filter failures, as Binance's USDⓈ-M API words them (codes from its error-code list:
# -4013 PRICE_LESS_THAN_MIN_PRICE, -4002 PRICE_GREATER_THAN_MAX_PRICE, -4014
# PRICE_NOT_INCREASED_BY_TICK_SIZE, -4016 PRICE_HIGHTER_THAN_MULTIPLIER_UP, -4024
# PRICE_LOWER_THAN_MULTIPLIER_DOWN, -2025 MAX_OPEN_ORDER_EXCEEDED, -4045
# MAX_STOP_ORDER_EXCEEDED, -1111 BAD_PRECISION).
def bad_precision() -> BinanceError:
    return BinanceError(-1111, "Precision is over the maximum defined for this asset.")


def price_below_min() -> BinanceError:
    return BinanceError(-4013, "Price less than min price.")


def price_above_max() -> BinanceError:
    return BinanceError(-4002, "Price greater than max price.")


def price_not_tick() -> BinanceError:
    return BinanceError(-4014, "Price not increased by tick size.")


def price_above_cap(cap: str) -> BinanceError:
    """PERCENT_PRICE: a limit price above mark price * multiplierUp."""
    return BinanceError(-4016, f"Limit price can't be higher than {cap}.")


def price_below_floor(floor: str) -> BinanceError:
    """PERCENT_PRICE: a limit price below mark price * multiplierDown."""
    return BinanceError(-4024, f"Limit price can't be lower than {floor}.")


def max_open_orders() -> BinanceError:
    return BinanceError(-2025, "Reach max open order limit.")


def max_stop_orders() -> BinanceError:
    return BinanceError(-4045, "Reach max stop order limit.")


def unknown_order() -> BinanceError:
    return BinanceError(-2011, "Unknown order sent.")


def no_such_order() -> BinanceError:
    return BinanceError(-2013, "Order does not exist.")


def bad_client_order_id() -> BinanceError:
    return BinanceError(-4015, "Client order id is not valid.")


def duplicate_client_order_id() -> BinanceError:
    return BinanceError(-4116, "ClientOrderId is duplicated.")


def reduce_only_rejected() -> BinanceError:
    return BinanceError(-2022, "ReduceOnly Order is rejected.")


def too_many_requests(limit: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Too many requests; current limit of IP is {limit} requests per minute. "
        "Please use the websocket for live updates to avoid polling the API.",
        429,
    )


def too_many_orders(limit: int, per: str) -> BinanceError:
    """An ORDERS rate limit of exchangeInfo exceeded (per account), e.g. per "10 SECOND"."""
    return BinanceError(
        -1015, f"Too many new orders; current limit is {limit} orders per {per}.", 429
    )


def banned(until_ms: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Way too many requests; IP banned until {until_ms}. "
        "Please use the websocket for live updates to avoid bans.",
        418,
    )


# Binance's "execution status unknown" answers: the request may have been executed.
EXECUTION_UNKNOWN = {
    -1006: "An unexpected response was received from the message bus. Execution status unknown.",
    -1007: "Timeout waiting for response from backend server. "
    "Send status unknown; execution status unknown.",
}


def execution_unknown(code: int) -> BinanceError:
    return BinanceError(code, EXECUTION_UNKNOWN[code], 503)
