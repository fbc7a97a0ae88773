#!/usr/bin/env bash
# Benchmark of the suite as CI meets it: `make test`'s stages (the set-up targets, lint,
# pytest, Molecule with each scenario's steps) on a fresh clone beside ../shared, then the
# rehearsal's fresh converge and idempotent re-run against a baseline revision in the same
# run (tools/bench-converge.sh). Figures for the README's table of costs; not a test.
# Usage: tools/bench-suite.sh [REV] [BASELINE_REV] [RERUNS]   (default: HEAD, none, 3)
# Output: a markdown report on stdout and in artifacts/bench-suite/report.md, logs beside it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
rev=$(git rev-parse --short=10 "${1:-HEAD}")
baseline=${2:-}
reruns=${3:-3}
out="$top/artifacts/bench-suite"
mkdir -p "$out"
rm -f "$out"/*.log "$out/report.md"

# CI clones the repository next to ../shared: so does the benchmark.
clone="$(dirname "$top")/ft-bench-suite-$rev"
rm -rf "$clone"
git clone -q "$top" "$clone"
git -C "$clone" checkout -q "$rev"
trap 'rm -rf "$clone"' EXIT

declare -A took
order=()
# stage NAME TARGET... : time `make TARGET...` in the clone, log to $out/NAME.log
stage() {
  local label=$1 t0=$SECONDS
  shift
  order+=("$label")
  if ! (cd "$clone" && make "$@") > "$out/$label.log" 2>&1; then
    echo "stage $label failed: $out/$label.log" >&2
    tail -30 "$out/$label.log" >&2
    exit 1
  fi
  took[$label]=$((SECONDS - t0))
}

# The same targets, in the same order, as `make test` (test: lint pytest-and-molecule,
# with their prerequisites host, images, venv and vault).
stage setup host images venv vault
stage lint lint
stage pytest-and-molecule pytest-and-molecule
total=0
for s in "${order[@]}"; do total=$((total + took[$s])); done

{
  echo "## \`make test\` on a fresh clone of $rev ($(date -u +%Y-%m-%d), $(nproc) cores)"
  echo
  echo "| stage | seconds |"
  echo "|---|---|"
  for s in "${order[@]}"; do echo "| $s | ${took[$s]} |"; done
  echo "| **total** | **$total** ($((total / 60)) min $((total % 60)) s) |"
  echo
  echo "Molecule scenarios and pytest (two lanes: the whole-site scenario in one, the role"
  echo "scenarios then pytest in the other; the whole-site after-verify is the reliability suite):"
  echo
  echo "| scenario | steps (s) | sum (s) |"
  echo "|---|---|---|"
  # [molecule NAME] STEP ok (Ns)
  grep -a -E '^\[molecule [a-z_]+\] +[a-z-]+ +ok \([0-9]+s\)' "$out/pytest-and-molecule.log" |
    sed -E 's/^\[molecule ([a-z_]+)\] +([a-z-]+) +ok \(([0-9]+)s\)/\1 \2 \3/' |
    awk '{steps[$1] = steps[$1] " " $2 " " $3 ","; sum[$1] += $3}
         END {for (s in sum) printf "| %s |%s | %d |\n", s, substr(steps[s], 1, length(steps[s]) - 1), sum[s]}' |
    sort
  grep -a -E '^\[pytest\] ' "$out/pytest-and-molecule.log" | sed -E 's/^\[pytest\] ([a-zA-Z]+) \(([0-9]+)s\).*/| pytest | \1 | \2 |/'
  grep -a -E '^=+ [0-9]+ passed' "$out/pytest-and-molecule.log" | tail -1 | sed 's/^/pytest: /'
  echo
  echo "## The rehearsal: fresh converge and idempotent re-run"
  echo
  # shellcheck disable=SC2086 # the baseline is one word or none
  tools/bench-converge.sh "$reruns" $baseline "$rev"
} | tee "$out/report.md"
