#!/usr/bin/env bash
# The rehearsal: a bare Debian 12 "server" in a local systemd container, converged by
# site.yml with inventories/rehearsal, exactly as a real server would be.
# Usage: tools/rehearsal.sh up|down|status|bots
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

NAME=ft-rehearsal
IMAGE=${REHEARSAL_IMAGE:-ft-debian:bookworm}
# The server's public ports, published on the control machine's loopback only.
HTTP_PORT=${REHEARSAL_HTTP_PORT:-8080}
HTTPS_PORT=${REHEARSAL_HTTPS_PORT:-8443}

up() {
  if ! docker container inspect "$NAME" > /dev/null 2>&1; then
    echo "[rehearsal] starting $NAME from $IMAGE"
    # Same runtime settings as the Molecule platforms (tests/molecule/base.yml).
    docker run -d --name "$NAME" --hostname "$NAME" \
      --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
      --tmpfs /run --tmpfs /run/lock --stop-signal RTMIN+3 --cap-add NET_ADMIN \
      -v /var/cache/ft-harness/pip:/root/.cache/pip:rw \
      -p "127.0.0.1:$HTTP_PORT:80" -p "127.0.0.1:$HTTPS_PORT:443" \
      "$IMAGE" /sbin/init > /dev/null
  elif [ "$(docker container inspect -f '{{.State.Running}}' "$NAME")" != true ]; then
    docker start "$NAME" > /dev/null
  fi
  local gateway
  gateway=$("$top/tools/docker-gateway.sh")
  FT_APT_PROXY=${FT_APT_PROXY:-http://$gateway:3142} \
    ansible-playbook -i inventories/rehearsal tests/molecule/prepare.yml > artifacts/rehearsal-prepare.log
  local t0=$SECONDS vault_args
  vault_args=$(tools/test-vault.sh)
  # shellcheck disable=SC2086 # the vault arguments are words
  ansible-playbook site.yml -i inventories/rehearsal $vault_args "$@" | tee artifacts/rehearsal.log
  echo "[rehearsal] converged in $((SECONDS - t0)) s"
  status
}

status() {
  cat <<MSG

Rehearsal server: container $NAME ($IMAGE), converged by site.yml -i inventories/rehearsal
  the bots:         make status (ft-status on the server: units, mode, positions, P&L, drawdown, alerts)
  shell:            docker exec -it $NAME bash
  services:         docker exec $NAME systemctl list-units --type=service --state=running
  journal:          docker exec $NAME journalctl -e
  HTTP / HTTPS:     http://127.0.0.1:$HTTP_PORT  https://127.0.0.1:$HTTPS_PORT (nginx: a path per bot, e.g. /rossc/; self-signed certificate)
  FreqUI:           https://127.0.0.1:$HTTPS_PORT/ (accept the self-signed certificate once)
    log in as:      user trader (freqtrade_api_username); each bot has its own password, under
                    vault_api_server_passwords in the rehearsal's vault:
                    .venv/bin/ansible-vault view --vault-password-file .cache/vault/pass .cache/vault/vault.yml
    the other bots: in FreqUI's bot list, add https://127.0.0.1:$HTTPS_PORT/<bot> (bots: inventories/rehearsal/group_vars/all/main.yml)
    look at:        the open trades and their P&L, the bot's state and the log; the bots trade dry-run
                    on the local exchange, which replays real Binance data
  risk dashboard:   https://127.0.0.1:$HTTPS_PORT/risk/ (positions, funding, returns by leverage, margin, drawdown vs limit;
                    log in as in FreqUI, with the password of the first bot)
  Telegram:         the bots' and the alerts' messages: docker exec $NAME curl -s https://api.telegram.org/_messages
  converge log:     artifacts/rehearsal.log
  remove it:        make rehearsal-down
MSG
  docker exec "$NAME" systemctl is-system-running || true
}

# The operator's status command, as on a real server (`sudo ft-status`).
bots() {
  docker exec "$NAME" ft-status "$@"
}

down() {
  docker rm -f "$NAME" > /dev/null 2>&1 && echo "[rehearsal] removed $NAME" || echo "[rehearsal] nothing to remove"
}

mkdir -p artifacts
cmd=${1:-up}
shift || true
case "$cmd" in
  up) up "$@" ;;
  down) down ;;
  status) status ;;
  bots) bots "$@" ;;
  *) echo "usage: $0 up|down|status|bots" >&2; exit 2 ;;
esac
