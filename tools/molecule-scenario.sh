#!/usr/bin/env bash
# Run one Molecule scenario through the full sequence the project requires:
# create -> prepare -> converge -> idempotence (changed=0) -> check --diff (changed=0)
# -> verify (testinfra) -> after-verify.sh (when the scenario has one) -> destroy. The log goes to artifacts/molecule/<name>.log.
#
# Usage: tools/molecule-scenario.sh PROJECT_DIR SCENARIO NAME
#   PROJECT_DIR  directory holding molecule/<SCENARIO> (a role, or tests/)
#   NAME         unique instance prefix, so scenarios can run side by side
set -uo pipefail

project=$1 scenario=$2 name=$3
top=$(cd "$(dirname "$0")/.." && pwd)
logdir="$top/artifacts/molecule"
log="$logdir/$name.log"
mkdir -p "$logdir"
: > "$log"

export MOLECULE_INSTANCE="mol-$name"
# Molecule keeps state per scenario name; a directory per instance name keeps two runs of
# the same scenario (e.g. by two people on one machine) from sharing it.
export MOLECULE_EPHEMERAL_DIRECTORY="${HOME:-/root}/.cache/molecule-ft/$name"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
# The Docker bridge gateway is this host; apt-cacher-ng listens there (tools/host-setup.sh).
gateway=$("$top/tools/docker-gateway.sh")
export FT_APT_PROXY=${FT_APT_PROXY:-${gateway:+http://$gateway:3142}}

molecule_cmd() {
  local sub=$1
  shift
  (cd "$top/$project" && molecule --base-config "$top/tests/molecule/base.yml" "$sub" -s "$scenario" "$@")
}

# The playbooks under test run with mitogen's strategy, as ansible.cfg has it for users;
# Molecule's own create and destroy playbooks poll async tasks, which hang under it.
with_mitogen() {
  ANSIBLE_STRATEGY=mitogen_linear "$@"
}

step() {
  local label=$1
  shift
  local t0=$SECONDS
  printf '\n===== %s: %s\n' "$name" "$label" >> "$log"
  if "$@" >> "$log" 2>&1; then
    printf '[molecule %s] %-12s ok (%ss)\n' "$name" "$label" $((SECONDS - t0))
    return 0
  fi
  printf '[molecule %s] %-12s FAILED (%ss) - log: %s\n' "$name" "$label" $((SECONDS - t0)) "$log" \
    | tee -a "$log"
  return 1
}

# A dry run must be honest: it reports no change on a converged host.
check_reports_no_change() {
  local out
  out=$(with_mitogen molecule_cmd converge -- --check --diff 2>&1)
  local rc=$?
  printf '%s\n' "$out"
  [ $rc -eq 0 ] || return $rc
  if printf '%s\n' "$out" | grep -E '^[^ ]+ +: ok=' | grep -v '^localhost ' | grep -vqE ' changed=0 '; then
    echo "check mode reported changes on a converged host"
    return 1
  fi
}

rc=0
molecule_cmd destroy > /dev/null 2>&1
step create molecule_cmd create || rc=1
for s in prepare converge idempotence; do
  [ $rc -eq 0 ] || break
  step "$s" with_mitogen molecule_cmd "$s" || rc=1
done
[ $rc -eq 0 ] && { step check check_reports_no_change || rc=1; }
[ $rc -eq 0 ] && { step verify molecule_cmd verify || rc=1; }
# A scenario may add checks that need its running instances (e.g. scans from outside).
hook="$top/$project/molecule/$scenario/after-verify.sh"
[ $rc -eq 0 ] && [ -x "$hook" ] && { step after-verify "$hook" || rc=1; }
if [ $rc -ne 0 ]; then
  tail -60 "$log" | sed "s/^/[molecule $name] /"
fi
[ "${KEEP_INSTANCES:-0}" = 1 ] || molecule_cmd destroy >> "$log" 2>&1
exit $rc
