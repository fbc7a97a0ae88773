"""Risk exporter for freqtrade futures bots (Prometheus)."""

__version__ = "0.1.0"
