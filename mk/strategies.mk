# Strategies (strategies/, tests/strategies/, docs/strategies.md). Included by the Makefile,
# which defines VENV. Offline every target runs on the data slice shipped in the repository
# (files/data/binance, 92 days) or on ../shared/data/binance (33 months) when it exists; the
# data is always copied under .cache/ first (freqtrade rewrites datadirs), and the project's
# local exchange (exchange/) serves the Binance markets freqtrade loads at start-up.

VENV ?= .venv
STRAT_PY := $(VENV)/bin/python
STRAT_FT := $(VENV)/bin/freqtrade
STRAT_TOOLS := tools/strategy
STRAT_DATA ?= $(if $(wildcard ../shared/data/binance/futures),../shared/data/binance,files/data/binance)
STRAT_OUT ?= artifacts/strategies
STRAT_REPORT ?= $(if $(findstring shared/data,$(STRAT_DATA)),backtest-full,backtest-slice)
STRAT_PAIRS ?= BTC/USDT:USDT ETH/USDT:USDT SOL/USDT:USDT BNB/USDT:USDT ADA/USDT:USDT
STRAT_LIST ?= RossCameronFuturesStrategy FuturesAIRiskStrategy SampleShortStrategy
STRAT_TIMERANGE ?=
# hyperopt: in-sample fit window and out-of-sample check window (33-month set)
STRAT_HYPEROPT_STRATEGIES ?= RossCameronFuturesStrategy FuturesAIRiskStrategy
STRAT_IS ?= 20230101-20241231
STRAT_OOS ?= 20250101-20250930
STRAT_EPOCHS ?= 100
# real servers: where freqtrade download-data writes (a bot's user_data/data/binance)
STRAT_DOWNLOAD_DIR ?= user_data/data/binance
STRAT_DOWNLOAD_TIMERANGE ?= 20230101-

.PHONY: strategies-list strategies-test strategies-calibrate strategies-download \
        strategies-backtest strategies-hyperopt strategies-report strategies-benchmark \
        strategies-lookahead strategies-protocol strategies-volforecast

strategies-list: ## freqtrade list-strategies on strategies/
	@mkdir -p .cache/strategies/user_data
	$(STRAT_FT) list-strategies --strategy-path strategies --userdir .cache/strategies/user_data

strategies-test: ## pytest tests/strategies (risk module, signals, look-ahead, backtest invariants)
	$(STRAT_PY) -m pytest tests/strategies -q

strategies-calibrate: ## funding thresholds on $(STRAT_DATA)
	$(STRAT_PY) $(STRAT_TOOLS)/calibrate.py --data $(STRAT_DATA) \
	    --out docs/reports/calibration.md --json docs/reports/calibration.json

# On a server with access to Binance: 15m/1h/4h futures candles; in futures mode freqtrade
# also downloads the funding-rate and mark candles (at its funding/mark timeframes). Offline (no route
# to fapi.binance.com) it says where the data comes from instead.
strategies-download: ## freqtrade download-data (15m 1h 4h + funding + mark) for the five pairs
	@if $(STRAT_PY) -c "import socket; socket.create_connection(('fapi.binance.com', 443), 5)" 2>/dev/null; then \
	  $(STRAT_FT) download-data --exchange binance --trading-mode futures \
	    --pairs $(STRAT_PAIRS) --timeframes 15m 1h 4h \
	    --timerange $(STRAT_DOWNLOAD_TIMERANGE) --data-format-ohlcv feather \
	    --datadir $(STRAT_DOWNLOAD_DIR); \
	else \
	  echo "Binance is unreachable from here: nothing downloaded."; \
	  echo "Offline the strategies use $(STRAT_DATA) (repo slice: files/data/binance, 92 days;"; \
	  echo "../shared/data/binance when present: 33 months), copied under .cache/ before use."; \
	fi

strategies-backtest: ## backtest $(STRAT_LIST) with --breakdown day on $(STRAT_DATA)
	$(STRAT_PY) $(STRAT_TOOLS)/run_backtest.py --data $(STRAT_DATA) --out $(STRAT_OUT)/backtest \
	    --work .cache/strategies/backtest --strategies $(STRAT_LIST) \
	    $(if $(STRAT_TIMERANGE),--timerange $(STRAT_TIMERANGE))

strategies-hyperopt: ## SortinoHyperOptLoss over buy sell roi stoploss on STRAT_IS, then OOS check
	set -e; for s in $(STRAT_HYPEROPT_STRATEGIES); do \
	  $(STRAT_PY) $(STRAT_TOOLS)/walk_forward.py --data $(STRAT_DATA) \
	    --out $(STRAT_OUT)/hyperopt/$$s --work .cache/strategies/wf-$$s --strategy $$s \
	    --in-sample $(STRAT_IS) --out-of-sample $(STRAT_OOS) --epochs $(STRAT_EPOCHS); \
	done

strategies-report: ## Markdown report + equity-curve PNG from the last strategies-backtest
	$(STRAT_PY) $(STRAT_TOOLS)/report.py --results $(STRAT_OUT)/backtest --data $(STRAT_DATA) \
	    --out docs/reports/$(STRAT_REPORT).md --png docs/reports/equity-$(STRAT_REPORT:backtest-%=%).png \
	    --title "$(if $(filter backtest-full,$(STRAT_REPORT)),Full development period,Repository slice)"

strategies-benchmark: ## wall time and peak memory of each strategy next to the sample strategy
	$(STRAT_PY) $(STRAT_TOOLS)/benchmark.py --data $(STRAT_DATA) --out docs/reports/benchmark.md --repeat 3

strategies-lookahead: ## freqtrade lookahead- and recursive-analysis of both strategies (repository slice)
	$(STRAT_PY) $(STRAT_TOOLS)/lookahead.py --out docs/reports/lookahead.md

# The protocol of docs/strategies.md on the 33-month set: the three windows, each judged by
# tools/strategy/evaluate.py (15m mark-to-market drawdown, breakdowns, bootstrap), then tables.
STRAT_PROTOCOL_DIR ?= docs/reports/protocol
STRAT_WINDOWS ?= dev:20230101-20250101 oos:20250101-20251001 full:20230101-20251001

strategies-protocol: ## both strategies + the sample on the choose, judge and whole windows
	@test -d ../shared/data/binance/futures || { echo "needs ../shared/data (33 months)"; exit 1; }
	@mkdir -p $(STRAT_PROTOCOL_DIR)
	@for w in $(STRAT_WINDOWS); do name=$${w%%:*}; range=$${w#*:}; \
	  $(STRAT_PY) $(STRAT_TOOLS)/run_backtest.py --data ../shared/data/binance --keep-data \
	    --work .cache/strategies/protocol --out $(STRAT_OUT)/protocol-$$name \
	    --strategies $(STRAT_LIST) --timerange $$range > /dev/null || exit 1; \
	  $(STRAT_PY) $(STRAT_TOOLS)/evaluate.py --results $(STRAT_OUT)/protocol-$$name \
	    --data .cache/strategies/protocol/data --json $(STRAT_PROTOCOL_DIR)/backtest-$$name.json; \
	done
	$(STRAT_PY) $(STRAT_TOOLS)/protocol_report.py --dir $(STRAT_PROTOCOL_DIR) \
	    --out $(STRAT_PROTOCOL_DIR)/results.md

strategies-volforecast: ## the HAR volatility forecast against trailing volatility (QLIKE, MSE)
	$(STRAT_PY) $(STRAT_TOOLS)/vol_forecast.py --data ../shared/data/binance \
	    --json $(STRAT_PROTOCOL_DIR)/vol-forecast.json
