#!/usr/bin/env bash
# Run by tools/molecule-scenario.sh after the whole-site verify, before destroy: the fast
# part of the reliability suite (tests/reliability without the `slow` marker: bad input
# through both doors, nmap from another container, ssh-audit, lynis, the secret scans of the
# host, its journal and this scenario's log) against the Debian 12 instance, so `make test`
# runs it. The slow part (exchange faults, kill -9, reboots) is `make reliability`.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
scanner="$MOLECULE_INSTANCE-scan"
trap 'docker rm -f "$scanner" > /dev/null 2>&1 || true' EXIT
FT_RELIABILITY_CONTAINER="$MOLECULE_INSTANCE-bookworm" \
  FT_RELIABILITY_SCANNER="$scanner" \
  FT_RELIABILITY_CONVERGE_LOGS="$top/artifacts/molecule/${MOLECULE_INSTANCE#mol-}.log" \
  .venv/bin/pytest -p no:cacheprovider -v -m "not slow" tests/reliability
