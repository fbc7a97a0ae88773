#!/usr/bin/env bash
# The pytest stage of `make test`: tests/ with the suite-wide skip rule (FT_FAIL_ON_SKIP=1,
# tests/conftest.py). Exit status 5 (no test collected) is a failure: an empty suite is a
# broken suite. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
FT_FAIL_ON_SKIP=1 pytest "$@" || rc=$?
if [ $rc -eq 5 ]; then
  echo "pytest collected no tests: the suite is missing" >&2
  exit 1
fi
exit $rc
