#!/usr/bin/env bash
# Run every Molecule scenario (one per role, plus the whole-site scenario), JOBS at a time.
# Usage: tools/run-molecule.sh [SCENARIO_NAME...]   (default: all)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=${MOLECULE_JOBS:-2}

# name project_dir scenario
list_scenarios() {
  # The whole-site scenario is the longest: start it first.
  echo "site tests site"
  for dir in roles/*/molecule/default; do
    [ -f "$dir/molecule.yml" ] || continue
    role=${dir#roles/}
    role=${role%%/*}
    echo "$role roles/$role default"
  done
}

wanted=" $* "
selected=$(list_scenarios | while read -r name project scenario; do
  if [ $# -eq 0 ] || [[ $wanted == *" $name "* ]]; then echo "$name $project $scenario"; fi
done)
[ -n "$selected" ] || { echo "no Molecule scenario matches: $*" >&2; exit 2; }

mkdir -p artifacts/molecule
# The whole-site scenario loads the per-machine test vault (random secrets, encrypted).
tools/test-vault.sh > /dev/null
rm -f artifacts/molecule/FAILED
start=$SECONDS
echo "$selected" | xargs -P "$jobs" -L 1 bash -c 'tools/molecule-scenario.sh "$1" "$2" "$0" || echo "$0" >> artifacts/molecule/FAILED' 
failed=$(cat artifacts/molecule/FAILED 2>/dev/null)
rm -f artifacts/molecule/FAILED
echo "[molecule] $(echo "$selected" | wc -l) scenario(s) in $((SECONDS - start)) s"
if [ -n "$failed" ]; then
  echo "[molecule] FAILED: $(echo $failed)" >&2
  exit 1
fi
