# Two commands do everything on a fresh Debian 12 machine (as root, or a user with sudo):
#   make rehearsal   a local bare server converged by site.yml, bots running dry-run
#   make test        lint, pytest and Molecule
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -E)
# Tools of the pinned venv first; Docker's client from the distribution package.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
DISTS := bookworm trixie

.PHONY: help rehearsal rehearsal-down status test lint pytest molecule pytest-and-molecule host images venv vault lock lock-freqtrade clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-20s %s\n", $$1, $$2}'

rehearsal: host venv ## Bring up the local server and converge site.yml on it
	@# Only the image the rehearsal runs (Debian 12); the tests build both.
	$(SUDO) tools/build-image.sh bookworm
	tools/rehearsal.sh up

status: ## Per bot on the rehearsal server: unit, mode, strategy, positions, P&L, drawdown, alerts
	tools/rehearsal.sh bots

rehearsal-down: ## Remove the rehearsal server
	tools/rehearsal.sh down

test: lint pytest-and-molecule ## Everything CI runs: lint, then pytest beside Molecule
	@echo "[test] all green"

host: ## Host packages, dockerd and the apt cache (needs root; uses sudo)
	$(SUDO) tools/host-setup.sh

images: host ## Debian 12 and 13 base images (rebuilt only when the recipe changes)
	@for d in $(DISTS); do $(SUDO) tools/build-image.sh $$d; done

venv: $(VENV)/.installed ## The pinned Python venv (reused while requirements are unchanged)

# The project's own packages editable, with the pinned setuptools (no build isolation:
# nothing unpinned is fetched). Their dependencies are in the lock.
PACKAGES := packages/futures_lib packages/ft_backup packages/ft_preflight exchange monitoring/exporter

$(VENV)/.installed: requirements/dev.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements/dev.txt
	$(VENV)/bin/pip install --quiet --no-deps --no-build-isolation $(addprefix -e ,$(PACKAGES))
	@touch $@

lock: ## Re-resolve requirements/dev.in into the pinned requirements/dev.txt
	rm -rf .cache/lockvenv && $(PYTHON) -m venv .cache/lockvenv
	.cache/lockvenv/bin/pip install --quiet -r requirements/dev.in
	.cache/lockvenv/bin/pip freeze --all --exclude pip --exclude-editable > requirements/dev.txt

lock-freqtrade: venv ## Re-resolve the release venvs' hash-pinned locks (roles/freqtrade/files/requirements)
	tools/lock-freqtrade.sh $$(sed -n 's/^freqtrade_version: *"\(.*\)"$$/\1/p' roles/freqtrade/defaults/main.yml)

lint: venv ## yamllint, ansible-lint (production), ruff, syntax check
	yamllint --strict .
	ansible-lint
	ruff check .
	ruff format --check .
	for playbook in site.yml restore.yml vultr.yml; do \
	  ansible-playbook $$playbook -i inventories/rehearsal --syntax-check || exit 1; done
	ansible-playbook site.yml -i inventories/example --syntax-check

vault: venv ## The per-machine test vault and deploy key (random, never committed)
	@tools/test-vault.sh > /dev/null

pytest: host venv vault ## Python tests (strategies, exchange, monitor)
	tools/run-pytest.sh

molecule: images venv ## Every Molecule scenario (converge, idempotence, check, verify)
	tools/run-molecule.sh

# The whole-site scenario is the longest lane; the role scenarios and then pytest share
# the other one, so pytest runs while the whole-site scenario does.
pytest-and-molecule: host images venv vault ## pytest and every Molecule scenario, in two lanes
	tools/run-molecule.sh --with-pytest

clean: rehearsal-down ## Remove the venv, caches and artifacts (images stay)
	rm -rf $(VENV) .cache artifacts

-include mk/*.mk
