"""Local Binance USDT-M futures stand-in that replays recorded market data."""

__version__ = "0.1.0"
