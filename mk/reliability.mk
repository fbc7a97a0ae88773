# Reliability and security evidence (docs/reliability.md): fault injection, restarts, bad
# input and attack-surface tests against a server converged by site.yml in the container
# ft-reliability, and the soak benchmark. Included by the Makefile (VENV, PATH).

VENV ?= .venv
RELIABILITY_CONTAINER ?= ft-reliability
SOAK_MINUTES ?= 60
SOAK_INTERVAL ?= 30
RELIABILITY_PYTEST = FT_RELIABILITY_CONTAINER=$(RELIABILITY_CONTAINER) $(VENV)/bin/pytest -v -p no:cacheprovider

.PHONY: reliability reliability-fast reliability-up reliability-soak reliability-down

reliability-up: venv vault ## Converge the reliability server (container ft-reliability) unless it already runs
	FT_RELIABILITY_CONTAINER=$(RELIABILITY_CONTAINER) tools/reliability/up.sh

reliability: reliability-up ## Every reliability/security test (faults, restarts, scans), ~25 min
	@mkdir -p artifacts/reliability
	set -o pipefail; $(RELIABILITY_PYTEST) tests/reliability 2>&1 | tee artifacts/reliability/pytest.log

reliability-fast: reliability-up ## The fast part: bad input, nmap, ssh-audit, secret scan (~2 min)
	$(RELIABILITY_PYTEST) -m "not slow" tests/reliability

reliability-soak: reliability-up ## Soak benchmark (SOAK_MINUTES, default 60); table into docs/reliability.md
	$(VENV)/bin/python tools/reliability/soak.py --minutes $(SOAK_MINUTES) \
	  --interval $(SOAK_INTERVAL) --container $(RELIABILITY_CONTAINER)

reliability-down: ## Remove the reliability server and the scanner container
	docker rm -f $(RELIABILITY_CONTAINER) ft-reliability-scan > /dev/null 2>&1 || true
