#!/usr/bin/env bash
# The README's production quick start, followed as written against a fresh local container
# standing in for a new server (make quickstart-check; not part of make test: two whole
# converges). What has to differ from a real server here, and nothing else:
#  - the server is a bare Debian 12 systemd container reached over SSH as root with a key,
#    as a fresh Vultr instance is; apt goes through the host's package cache, as for every
#    test server here (tests/molecule/prepare.yml);
#  - Binance and Telegram cannot be reached: one extra file, group_vars/all/standins.yml,
#    turns on the local stand-ins and points freqtrade and the exporter at them;
#  - no DNS and no Let's Encrypt: web_edge_domain is emptied (self-signed certificate;
#    ACME is tested against Pebble by the web edge's scenario), so step 4 is skipped.
# Steps (the README's numbers): 1 the venv and an inventory from the example; 2 the vault
# from tools/new-vault.sh, the user's own values filled in; 5 the first run as root, the
# second as the deploy user (must change nothing); 6 the preflight; 7 the bot runs
# dry-run and answers `sudo ft-status`. Usage: tools/quickstart-check.sh [keep]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export PATH="$top/.venv/bin:$PATH" ANSIBLE_CONFIG="$top/ansible.cfg"

NAME=ft-quickstart
IMAGE=${QUICKSTART_IMAGE:-ft-debian:bookworm}
work="$top/.cache/quickstart"
inv="$work/inventories/mine"
say() { echo "[quickstart] $*"; }
t0=$SECONDS

docker rm -f "$NAME" > /dev/null 2>&1 || true
rm -rf "$work"
mkdir -p "$work" artifacts
trap '[ "${1:-}" = keep ] || docker rm -f "$NAME" > /dev/null 2>&1 || true' EXIT

say "a new server: $NAME from $IMAGE, root's SSH key as a provider installs it"
ssh-keygen -q -t ed25519 -N "" -C quickstart -f "$work/id_ed25519"
docker run -d --name "$NAME" --hostname "$NAME" \
  --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
  --tmpfs /run --tmpfs /run/lock --stop-signal RTMIN+3 --cap-add NET_ADMIN \
  -v /var/cache/ft-harness/pip:/root/.cache/pip:rw \
  "$IMAGE" /sbin/init > /dev/null
docker exec "$NAME" sh -c 'until systemctl is-system-running --wait >/dev/null 2>&1 \
  || [ "$(systemctl is-system-running)" = degraded ]; do sleep 1; done'
docker exec -i "$NAME" sh -c 'install -d -m 0700 /root/.ssh && cat > /root/.ssh/authorized_keys \
  && chmod 0600 /root/.ssh/authorized_keys' < "$work/id_ed25519.pub"
address=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$NAME")

say "step 1: the inventory, copied from inventories/example"
mkdir -p "$work/inventories"
cp -r inventories/example "$inv"
sed -i "s/203\.0\.113\.10/$address/" "$inv/hosts.yml"
key=$(cat "$work/id_ed25519.pub")
sed -i "s|\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReplaceWithYourOwnPublicKey0000000000000 you@laptop\"|\"$key\"|" \
  "$inv/group_vars/all/main.yml"
sed -i -e 's/^web_edge_domain: .*/web_edge_domain: ""/' -e 's/^web_edge_acme_email: .*/web_edge_acme_email: ""/' \
  "$inv/group_vars/all/main.yml"
cat > "$inv/group_vars/all/standins.yml" <<'YAML'
---
# Only here: Binance and Telegram are out of reach, the local stand-ins answer instead.
replay_exchange_enabled: true
replay_exchange_port: 8090
replay_exchange_api_keys: "{{ {vault_exchange_api_key: {'secret': vault_exchange_api_secret, 'canWithdraw': false, 'ipRestrict': true}} }}"
quickstart_exchange_url: http://127.0.0.1:{{ replay_exchange_port }}
freqtrade_ccxt_config:
  urls:
    api:
      fapiPublic: "{{ quickstart_exchange_url }}/fapi/v1"
      fapiPublicV2: "{{ quickstart_exchange_url }}/fapi/v2"
      fapiPublicV3: "{{ quickstart_exchange_url }}/fapi/v3"
      fapiPrivate: "{{ quickstart_exchange_url }}/fapi/v1"
      fapiPrivateV2: "{{ quickstart_exchange_url }}/fapi/v2"
      fapiPrivateV3: "{{ quickstart_exchange_url }}/fapi/v3"
      fapiData: "{{ quickstart_exchange_url }}/futures/data"
      sapi: "{{ quickstart_exchange_url }}/sapi/v1"
monitoring_exporter_funding_url: "{{ quickstart_exchange_url }}"
telegram_standin_enabled: true
YAML

say "step 2: the vault (tools/new-vault.sh), then the user's own values"
python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > "$work/vault-pass"
chmod 0600 "$work/vault-pass"
export ANSIBLE_VAULT_PASSWORD_FILE="$work/vault-pass"
tools/new-vault.sh "$inv"
vault="$inv/group_vars/all/vault.yml"
ansible-vault decrypt --output "$work/vault.plain" "$vault"
python3 - "$work/vault.plain" <<'PY'
import secrets, sys
path = sys.argv[1]
own = {
    "vault_exchange_api_key": secrets.token_hex(32),
    "vault_exchange_api_secret": secrets.token_hex(32),
    "vault_telegram_token": f"1000000009:{secrets.token_urlsafe(26)}",
    "vault_telegram_chat_id": "424242",
}
lines = []
for line in open(path, encoding="utf-8"):
    key = line.split(":", 1)[0]
    lines.append(f'{key}: "{own[key]}"\n' if key in own else line)
open(path, "w", encoding="utf-8").writelines(lines)
PY
grep -q CHANGE-ME "$work/vault.plain" && { say "CHANGE-ME left in the vault"; exit 1; }
ansible-vault encrypt --output "$vault" "$work/vault.plain"
rm -f "$work/vault.plain"

# Your SSH key (here a throwaway one), and the new server's host key, accepted once as you
# would on your first `ssh root@<address>` (ansible.cfg keeps host key checking on).
ssh-keyscan -t ed25519 "$address" > "$work/known_hosts" 2> /dev/null
ssh_args=(-e ansible_ssh_private_key_file="$work/id_ed25519"
  --ssh-common-args "-o UserKnownHostsFile=$work/known_hosts")

# Not a step of the quick start: this machine's apt cache and CA, as for every test server.
gateway=$(tools/docker-gateway.sh)
FT_APT_PROXY=${FT_APT_PROXY:-http://$gateway:3142} ansible-playbook -i "$inv" "${ssh_args[@]}" \
  -e ansible_user=root tests/molecule/prepare.yml > "$work/prepare.log" \
  || { tail -20 "$work/prepare.log"; say "FAILED: preparing the container (log: $work/prepare.log)"; exit 1; }

run() {  # run LOG ARGS...: ansible-playbook site.yml as the README says, its recap checked
  local log=$1; shift
  local t=$SECONDS
  ansible-playbook site.yml -i "$inv" "${ssh_args[@]}" "$@" > "$work/$log" 2>&1 \
    || { tail -40 "$work/$log"; say "FAILED: ansible-playbook site.yml $* (log: $work/$log)"; exit 1; }
  say "  $(grep -E '^\S+ +: ok=' "$work/$log" | tail -1 | tr -s ' ') in $((SECONDS - t)) s"
}
say "step 5: the first run, as root"
run first-run.log -e ansible_user=root
say "step 5: the next run, as the deploy user (root login is off now): must change nothing"
run second-run.log
grep -qE ' changed=0 +unreachable=0 +failed=0' "$work/second-run.log" \
  || { say "the second run changed something"; grep -E '^changed:' "$work/second-run.log" | head; exit 1; }
say "step 6: the preflight"
run preflight.log --tags preflight
say "step 7: the bot runs dry-run; sudo ft-status on the server"
ssh -i "$work/id_ed25519" -o UserKnownHostsFile="$work/known_hosts" \
  "deploy@$address" sudo ft-status | tee "$work/ft-status.txt"
grep -q "trend" "$work/ft-status.txt" && grep -qi "dry" "$work/ft-status.txt"
mkdir -p artifacts/quickstart && cp "$work"/*.log "$work/ft-status.txt" artifacts/quickstart/
say "the quick start converged a new server as written, in $((SECONDS - t0)) s (logs: $work)"
