# Static types (pyproject.toml [tool.mypy]: strict, Python 3.11): the risk exporter, the
# strategies and their helper modules, the local exchange and tools/*.py. Not part of lint
# (CI's critical path): tests/test_types.py runs the same check inside pytest. Included by
# the Makefile, which defines VENV. The cache is .mypy_cache (gitignored).

VENV ?= .venv

.PHONY: typecheck

typecheck: venv ## mypy --strict on the packages, strategies and tools
	$(VENV)/bin/mypy
