#!/usr/bin/env bash
# Run by tools/molecule-scenario.sh after the whole-site verify, before destroy: the whole
# reliability suite (tests/reliability) against the Debian 12 instance, already converged,
# so `make test` runs it: bad input through both doors, nmap from another container,
# ssh-audit, lynis, the secret scans of the host, its journal and this scenario's log, and
# the slow part: exchange faults, kill -9, the watchdog, a container restart, a full disk.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
scanner="$MOLECULE_INSTANCE-scan"
trap 'docker rm -f "$scanner" > /dev/null 2>&1 || true' EXIT
FT_RELIABILITY_CONTAINER="$MOLECULE_INSTANCE-bookworm" \
  FT_RELIABILITY_SCANNER="$scanner" \
  FT_RELIABILITY_CONVERGE_LOGS="$top/artifacts/molecule/${MOLECULE_INSTANCE#mol-}.log" \
  .venv/bin/pytest -p no:cacheprovider -v tests/reliability
