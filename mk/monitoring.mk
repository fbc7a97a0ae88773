# Risk monitor (monitoring/, tests/monitoring/, docs/monitoring.md). Included by the Makefile,
# which defines VENV. promtool and amtool come from the Debian packages prometheus and
# prometheus-alertmanager (installed by `make host`).

VENV ?= .venv
MON_PY := $(VENV)/bin/python
MON_DIR := monitoring
# analytics: freqtrade trade databases, "name=path" or "path"; chart output
MON_DBS ?= tests/monitoring/fixtures/dryrun-tradesv3.sqlite
MON_PNG ?= artifacts/monitoring/futures.png

.PHONY: monitoring-check monitoring-test monitoring-bench monitoring-dashboard analytics

monitoring-check: ## promtool check/test rules, amtool check-config and routing
	promtool check config $(MON_DIR)/prometheus/prometheus.yml
	promtool test rules $(MON_DIR)/prometheus/tests/*_test.yml
	amtool check-config $(MON_DIR)/alertmanager/alertmanager.yml
	amtool config routes test --config.file=$(MON_DIR)/alertmanager/alertmanager.yml severity=critical

monitoring-test: ## pytest tests/monitoring (unit, rules, end-to-end, freqtrade integration)
	$(MON_PY) -m pytest tests/monitoring -q

monitoring-bench: ## scrape latency p50/p99 and RSS, 3 fake bots x 5 positions
	@mkdir -p artifacts/monitoring
	PYTHONPATH=$(MON_DIR)/tools $(MON_PY) $(MON_DIR)/tools/bench.py --json artifacts/monitoring/bench.json

monitoring-dashboard: ## regenerate monitoring/grafana/dashboard.json
	$(MON_PY) $(MON_DIR)/grafana/build_dashboard.py

analytics: ## futures analytics table + PNG: make analytics MON_DBS="a=path b=path"
	@mkdir -p $(dir $(MON_PNG))
	$(MON_PY) -m risk_exporter.analytics \
	    $(foreach db,$(MON_DBS),--db $(db)) --png $(MON_PNG)
