#!/usr/bin/env bash
# Converge the reliability test server: a systemd container named ft-reliability (same
# runtime flags as the rehearsal and tools/bench-converge.sh), prepared and converged by
# site.yml with inventories/rehearsal. Skips the converge when the bots already answer.
# Usage: tools/reliability/up.sh [--force]   (logs in artifacts/reliability/)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
NAME=${FT_RELIABILITY_CONTAINER:-ft-reliability}
IMAGE=${FT_RELIABILITY_IMAGE:-ft-debian:bookworm}
out=artifacts/reliability
mkdir -p "$out"
export PATH="$top/.venv/bin:$PATH"

ready() {
  docker exec "$NAME" curl -fsS -m 5 127.0.0.1:8101/api/v1/ping > /dev/null 2>&1 &&
    docker exec "$NAME" curl -fsS -m 5 127.0.0.1:8102/api/v1/ping > /dev/null 2>&1
}

if [ "${1:-}" != --force ] && docker container inspect "$NAME" > /dev/null 2>&1 && ready; then
  echo "[reliability] $NAME already converged and answering"
  exit 0
fi

if ! docker container inspect "$NAME" > /dev/null 2>&1; then
  # /mnt/tiny: a 64 KiB disk for the full-backup-disk test (test_backup_faults.py).
  docker run -d --name "$NAME" --hostname ft-rehearsal --cgroupns=host \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock \
    --tmpfs /mnt/tiny:size=64k \
    --stop-signal RTMIN+3 --cap-add NET_ADMIN \
    -v /var/cache/ft-harness/pip:/root/.cache/pip:rw "$IMAGE" /sbin/init > /dev/null
elif [ "$(docker container inspect -f '{{.State.Running}}' "$NAME")" != true ]; then
  docker start "$NAME" > /dev/null
fi
gateway=$("$top/tools/docker-gateway.sh")
export FT_APT_PROXY=${FT_APT_PROXY:-http://$gateway:3142}
ansible-playbook -i inventories/rehearsal tests/molecule/prepare.yml \
  -e "ansible_host=$NAME" > "$out/prepare.log" 2>&1
vault_args=$(tools/test-vault.sh)
t0=$SECONDS
# shellcheck disable=SC2086 # the vault arguments are words
ansible-playbook site.yml -i inventories/rehearsal $vault_args -e "ansible_host=$NAME" \
  > "$out/converge.log" 2>&1 || { echo "converge failed: $out/converge.log" >&2; exit 1; }
echo "[reliability] converged $NAME in $((SECONDS - t0)) s"
for _ in $(seq 1 60); do ready && exit 0; sleep 2; done
echo "[reliability] bots do not answer on 8101/8102 after the converge" >&2
exit 1
