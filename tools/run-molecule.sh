#!/usr/bin/env bash
# Run every Molecule scenario (one per role, plus the whole-site scenario), JOBS at a time.
# Usage: tools/run-molecule.sh [--with-pytest] [SCENARIO_NAME...]   (default: all)
#   --with-pytest  also run the pytest stage (tools/run-pytest.sh) as the pool's last job,
#                  in the lane the role scenarios free (make test); its log goes to
#                  artifacts/pytest.log and is printed when the pool ends.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=${MOLECULE_JOBS:-2}
with_pytest=0
if [ "${1:-}" = --with-pytest ]; then
  with_pytest=1
  shift
fi

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
# A job line is "name project scenario"; the pytest job has no project.
[ $with_pytest -eq 0 ] || selected="$selected"$'\n'"pytest - -"

mkdir -p artifacts/molecule
# The whole-site scenario loads the per-machine test vault (random secrets, encrypted).
tools/test-vault.sh > /dev/null
rm -f artifacts/molecule/FAILED
start=$SECONDS
run_job() {
  local name=$1 project=$2 scenario=$3 t0=$SECONDS
  if [ "$name" != pytest ]; then
    tools/molecule-scenario.sh "$project" "$scenario" "$name" || echo "$name" >> artifacts/molecule/FAILED
    return 0
  fi
  if tools/run-pytest.sh > artifacts/pytest.log 2>&1; then
    echo "[pytest] ok ($((SECONDS - t0))s) - log: artifacts/pytest.log"
  else
    echo "[pytest] FAILED ($((SECONDS - t0))s) - log: artifacts/pytest.log"
    echo pytest >> artifacts/molecule/FAILED
  fi
}
export -f run_job
echo "$selected" | xargs -P "$jobs" -L 1 bash -c 'run_job "$0" "$1" "$2"'
failed=$(cat artifacts/molecule/FAILED 2>/dev/null)
rm -f artifacts/molecule/FAILED
if [ $with_pytest -eq 1 ]; then
  # pytest's own report, whole, after the pool's interleaved progress lines.
  echo "===== pytest (artifacts/pytest.log)"
  cat artifacts/pytest.log
fi
# What failed in each failed scenario, last: CI shows the end of the output, and the whole
# pytest report above would otherwise push it out of view.
for name in $failed; do
  [ "$name" != pytest ] || continue
  log=artifacts/molecule/$name.log
  echo "===== $name: what failed (whole log: $log)"
  grep -E '^\[molecule |^(FAILED|ERROR) |^E +|short test summary|fatal: |FAILED!|msg: |check mode reported|did not' "$log" \
    | tail -n 60 || true
done
echo "[molecule] $(echo "$selected" | grep -vc '^pytest ') scenario(s)$([ $with_pytest -eq 0 ] || echo ' and pytest') in $((SECONDS - start)) s"
if [ -n "$failed" ]; then
  echo "[molecule] FAILED: $(echo $failed)" >&2
  exit 1
fi
