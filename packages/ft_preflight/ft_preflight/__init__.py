"""Read-only preflight of a Binance USDT-M futures account before the bots trade live.

`python -m ft_preflight` in a freqtrade release venv reads one JSON document on stdin
(key, secret, settings: never on a command line or in the environment), asks the exchange
through ccxt, prints one JSON report and exits 0 when every check passed, 1 otherwise.
`checks` judges the exchange's answers (pure functions); `cli` asks the exchange.
"""
