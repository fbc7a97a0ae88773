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


def unknown_order() -> BinanceError:
    return BinanceError(-2011, "Unknown order sent.")


def no_such_order() -> BinanceError:
    return BinanceError(-2013, "Order does not exist.")


def reduce_only_rejected() -> BinanceError:
    return BinanceError(-2022, "ReduceOnly Order is rejected.")


def too_many_requests(limit: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Too many requests; current limit of IP is {limit} requests per minute. "
        "Please use the websocket for live updates to avoid polling the API.",
        429,
    )


def banned(until_ms: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Way too many requests; IP banned until {until_ms}. "
        "Please use the websocket for live updates to avoid bans.",
        418,
    )
