#!/usr/bin/env bash
# Create the rehearsal's and the tests' vault once per machine: random secrets, encrypted
# with ansible-vault under a random password. Nothing secret is committed; production
# vaults are made by the operator from inventories/example/group_vars/all/vault.yml.example.
# Prints the ansible-playbook arguments that load it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/.cache/vault"
mkdir -p "$dir"
chmod 0700 "$dir"
# One writer at a time: lint, pytest and Molecule may ask for the vault at once.
exec 9> "$dir/.lock"
flock 9
rand() { python3 -c 'import secrets; print(secrets.token_urlsafe(int(__import__("sys").argv[1])))' "$1"; }
# Binance API keys and secrets are 64 alphanumeric characters.
hex() { python3 -c 'import secrets; print(secrets.token_hex(32))'; }
vault_cmd=$(command -v ansible-vault || echo "$top/.venv/bin/ansible-vault")
umask 077
trap 'rm -f "$dir/vault.yml.tmp"' EXIT
# Keys that later versions of this script added: a vault made before them gets them appended
# (checked once per vault change; the stamp records what was checked).
added_keys="vault_telegram_bot_tokens vault_api_server_passwords"
stamp="$dir/keys.checked"
if [ ! -s "$dir/vault.yml" ]; then
  rand 32 > "$dir/pass"
  cat > "$dir/vault.yml.tmp" <<VAULT
---
vault_exchange_api_key: "$(hex)"
vault_exchange_api_secret: "$(hex)"
vault_api_server_password: "$(rand 24)"
vault_api_server_jwt_secret: "$(rand 48)"
vault_api_server_ws_token: "$(rand 32)"
vault_telegram_token: "1000000001:$(rand 26)"
vault_telegram_chat_id: "4242"
VAULT
elif [ "$stamp" -nt "$dir/vault.yml" ] && [ "$(cat "$stamp")" = "$added_keys" ]; then
  :
else
  "$vault_cmd" view --vault-password-file "$dir/pass" "$dir/vault.yml" > "$dir/vault.yml.tmp"
fi
if [ -s "$dir/vault.yml.tmp" ]; then
  changed=0
  [ -s "$dir/vault.yml" ] || changed=1
  # Append a key a vault made before it lacks: add_key KEY, its YAML block on stdin.
  add_key() {
    if grep -q "^$1:" "$dir/vault.yml.tmp"; then cat > /dev/null; return; fi
    [ -z "$(tail -c1 "$dir/vault.yml.tmp")" ] || echo >> "$dir/vault.yml.tmp"
    cat >> "$dir/vault.yml.tmp"
    changed=1
  }
  # A token per bot of the rehearsal (Telegram allows one getUpdates poller per token).
  add_key vault_telegram_bot_tokens <<VAULT
vault_telegram_bot_tokens:
  rossc: "1000000002:$(rand 26)"
  airisk: "1000000003:$(rand 26)"
VAULT
  # An API password per bot of the rehearsal (one bot's login opens no other bot).
  add_key vault_api_server_passwords <<VAULT
vault_api_server_passwords:
  rossc: "$(rand 24)"
  airisk: "$(rand 24)"
VAULT
  if [ "$changed" = 1 ]; then
    # Only an encrypted vault ever takes the final name.
    "$vault_cmd" encrypt --vault-password-file "$dir/pass" "$dir/vault.yml.tmp" > /dev/null
    mv "$dir/vault.yml.tmp" "$dir/vault.yml"
  fi
  rm -f "$dir/vault.yml.tmp"
  echo "$added_keys" > "$stamp"
fi
# The deploy user's SSH key (the hardening role refuses to run without one).
[ -s "$dir/deploy_ed25519.pub" ] || ssh-keygen -q -t ed25519 -N '' -C ft-rehearsal-deploy -f "$dir/deploy_ed25519"
echo "-e @$dir/vault.yml --vault-password-file $dir/pass"
