#!/usr/bin/env bash
# A production vault for an inventory: strong random values for the secrets this project
# makes up (the bots' API password, JWT secret and websocket token, restic's password),
# CHANGE-ME for the ones only you have (the Binance key and secret, the Telegram token and
# chat id), encrypted with ansible-vault before it takes its name. Fill in the rest with
# `ansible-vault edit`; the playbook refuses any CHANGE-ME it needs.
# Usage: tools/new-vault.sh inventories/<yours> [BOT...]
#   BOT...  the inventory's bots: each gets its own API password and Telegram token
#           (CHANGE-ME); without any, the one bot uses vault_api_server_password and
#           vault_telegram_token (two bots may share neither).
# The vault password: asked twice by ansible-vault, or from ANSIBLE_VAULT_PASSWORD_FILE.
set -euo pipefail
inventory=${1:?usage: tools/new-vault.sh inventories/<yours> [BOT...]}
shift
dir="$inventory/group_vars/all"
vault="$dir/vault.yml"
[ -d "$dir" ] || { echo "new-vault: $dir does not exist (copy inventories/example first)" >&2; exit 2; }
[ ! -e "$vault" ] || { echo "new-vault: $vault exists; not overwriting it" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
vault_cmd=$(command -v ansible-vault || echo "$top/.venv/bin/ansible-vault")
rand() { python3 -c 'import secrets, sys; print(secrets.token_urlsafe(int(sys.argv[1])))' "$1"; }

umask 077
plain=$(mktemp "$dir/.vault.XXXXXX")
trap 'rm -f "$plain"' EXIT
{
  echo "---"
  echo "# Yours to fill in (ansible-vault edit $vault):"
  echo "vault_exchange_api_key: \"CHANGE-ME\"     # Binance API key: futures on, withdrawals off, IP-restricted"
  echo "vault_exchange_api_secret: \"CHANGE-ME\""
  echo "vault_telegram_token: \"CHANGE-ME\"       # from @BotFather"
  echo "vault_telegram_chat_id: \"CHANGE-ME\"     # your chat with the bot (README: production quick start)"
  if [ $# -gt 0 ]; then
    echo "vault_telegram_bot_tokens:               # one @BotFather bot per freqtrade bot"
    for bot in "$@"; do echo "  $bot: \"CHANGE-ME\""; done
  fi
  echo "# Made up here, random (FreqUI's login: freqtrade_api_username with the bot's password):"
  echo "vault_api_server_password: \"$(rand 24)\""
  if [ $# -gt 0 ]; then
    echo "vault_api_server_passwords:              # each bot's own FreqUI / API login"
    for bot in "$@"; do echo "  $bot: \"$(rand 24)\""; done
  fi
  echo "vault_api_server_jwt_secret: \"$(rand 48)\""
  echo "vault_api_server_ws_token: \"$(rand 32)\""
  echo "vault_backup_restic_password: \"$(rand 32)\""
} > "$plain"
"$vault_cmd" encrypt "$plain" > /dev/null
mv "$plain" "$vault"
trap - EXIT
echo "new-vault: wrote $vault (encrypted); fill in the CHANGE-ME values: ansible-vault edit $vault"
