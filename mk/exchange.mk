# Local Binance USDT-M futures stand-in (exchange/, tests/exchange/, docs/exchange.md).
# Included by the Makefile, which defines VENV and installs the package editable into it.

VENV ?= .venv
EXCHANGE_PY := $(VENV)/bin/python
EXCHANGE_DATA ?= files/data/binance
EXCHANGE_STATE ?= .cache/exchange/state.json
EXCHANGE_HOST ?= 127.0.0.1
EXCHANGE_PORT ?= 8090
EXCHANGE_KEYS ?=
EXCHANGE_BENCH_SECONDS ?= 5
EXCHANGE_BENCH_REPEATS ?= 3

.PHONY: exchange-serve exchange-test exchange-bench exchange-lint exchange-reset

exchange-serve: ## Run the replay exchange in the foreground (EXCHANGE_PORT, EXCHANGE_KEYS=keys.json)
	@mkdir -p $(dir $(EXCHANGE_STATE))
	$(EXCHANGE_PY) -m replay_exchange --data $(EXCHANGE_DATA) \
	  --state $(EXCHANGE_STATE) --host $(EXCHANGE_HOST) --port $(EXCHANGE_PORT) \
	  $(if $(EXCHANGE_KEYS),--keys $(EXCHANGE_KEYS))

exchange-test: ## Replay-exchange tests only (ccxt conformance, engine, faults, freqtrade)
	$(EXCHANGE_PY) -m pytest -q tests/exchange

exchange-bench: ## Requests/s and p99 for klines and order placement, server on one core
	$(EXCHANGE_PY) -m replay_exchange.bench --data $(EXCHANGE_DATA) \
	  --seconds $(EXCHANGE_BENCH_SECONDS) --repeats $(EXCHANGE_BENCH_REPEATS)

exchange-lint: ## ruff on the exchange package and its tests
	$(VENV)/bin/ruff check exchange tests/exchange
	$(VENV)/bin/ruff format --check exchange tests/exchange

exchange-reset: ## Delete the local state file (new anchor, fresh accounts)
	rm -f $(EXCHANGE_STATE)
