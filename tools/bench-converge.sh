#!/usr/bin/env bash
# Benchmark: fresh converge and idempotent re-run of site.yml (rehearsal inventory) on a new
# systemd container, for one or more git revisions side by side. Re-runs alternate between
# the revisions so that machine noise hits them alike; medians are reported.
# Usage: tools/bench-converge.sh [RUNS] [REV...]      (default: 3 re-runs, HEAD)
# Output: a markdown table on stdout; logs in artifacts/bench-converge/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
runs=${1:-3}
shift || true
revs=("$@")
[ ${#revs[@]} -gt 0 ] || revs=(HEAD)

out=artifacts/bench-converge
mkdir -p "$out"
export PATH="$top/.venv/bin:$PATH"
vault_args=$(tools/test-vault.sh)
gateway=$("$top/tools/docker-gateway.sh")
export FT_APT_PROXY=${FT_APT_PROXY:-http://$gateway:3142}

declare -A tree name fresh reruns
for rev in "${revs[@]}"; do
  sha=$(git rev-parse --short=10 "$rev")
  tree[$rev]=$(mktemp -d "/tmp/ft-bench-$sha.XXXX")
  name[$rev]=ft-bench-$sha
  git worktree add --detach "${tree[$rev]}" "$sha" > /dev/null 2>&1
  # The per-machine test vault and deploy key live outside git.
  ln -s "$top/.cache" "${tree[$rev]}/.cache"
done

cleanup() {
  for rev in "${revs[@]}"; do
    docker rm -f "${name[$rev]}" > /dev/null 2>&1 || true
    git worktree remove --force "${tree[$rev]}" > /dev/null 2>&1 || true
  done
}
trap cleanup EXIT

# converge REV LOG -> seconds; fails the benchmark on a failed converge
converge() {
  local rev=$1 log=$2 t0=$SECONDS
  # shellcheck disable=SC2086 # the vault arguments are words
  (cd "${tree[$rev]}" && ansible-playbook site.yml -i inventories/rehearsal $vault_args \
    -e "ansible_host=${name[$rev]}") > "$log" 2>&1 || { echo "converge failed: $log" >&2; exit 1; }
  echo $((SECONDS - t0))
}

changed() { grep -a -E '^\S+ +: ok=' "$1" | sed -E 's/.*changed=([0-9]+).*/\1/'; }

for rev in "${revs[@]}"; do
  docker rm -f "${name[$rev]}" > /dev/null 2>&1 || true
  docker run -d --name "${name[$rev]}" --hostname ft-rehearsal --cgroupns=host \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock \
    --stop-signal RTMIN+3 --cap-add NET_ADMIN \
    -v /var/cache/ft-harness/pip:/root/.cache/pip:rw ft-debian:bookworm /sbin/init > /dev/null
  (cd "${tree[$rev]}" && ansible-playbook -i inventories/rehearsal tests/molecule/prepare.yml \
    -e "ansible_host=${name[$rev]}") > "$out/${name[$rev]}-prepare.log" 2>&1
  fresh[$rev]=$(converge "$rev" "$out/${name[$rev]}-fresh.log")
done

for i in $(seq 1 "$runs"); do
  for rev in "${revs[@]}"; do
    log="$out/${name[$rev]}-rerun$i.log"
    s=$(converge "$rev" "$log")
    [ "$(changed "$log")" = 0 ] || { echo "re-run changed something: $log" >&2; exit 1; }
    reruns[$rev]="${reruns[$rev]:-} $s"
  done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "| revision | fresh converge (s) | re-run median (s) | re-runs (s) | tasks |"
echo "|---|---|---|---|---|"
for rev in "${revs[@]}"; do
  tasks=$(grep -a -c '^TASK \[' "$out/${name[$rev]}-rerun1.log")
  echo "| $(git rev-parse --short "$rev") | ${fresh[$rev]} | $(echo "${reruns[$rev]}" | median) |${reruns[$rev]} | $tasks |"
done
echo
for rev in "${revs[@]}"; do
  echo "Slowest tasks of $(git rev-parse --short "$rev"), fresh converge:"
  grep -a -E ' -+ [0-9.]+s$' "$out/${name[$rev]}-fresh.log" | head -8 | sed 's/^/    /'
  echo "Slowest tasks of $(git rev-parse --short "$rev"), re-run 1:"
  grep -a -E ' -+ [0-9.]+s$' "$out/${name[$rev]}-rerun1.log" | head -5 | sed 's/^/    /'
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
