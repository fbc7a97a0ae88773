#!/usr/bin/env bash
# Install the Debian packages of a list that are missing, through the host's apt cache
# (apt-cacher-ng on 127.0.0.1:3142) when it answers. Needs root.
# Usage: tools/install-packages.sh LOG_FILE PACKAGE...   (apt's output goes to LOG_FILE)
set -euo pipefail
log_file=${1:?usage: tools/install-packages.sh LOG_FILE PACKAGE...}
shift
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2> /dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "[install-packages] installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
proxy=()
if curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:3142/acng-report.html 2> /dev/null; then
  proxy=(-o Acquire::http::Proxy=http://127.0.0.1:3142)
fi
apt-get "${proxy[@]}" update -qq
# Installing a daemon package on a host without systemd must not try to start it.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get "${proxy[@]}" install -y -qq --no-install-recommends "${missing[@]}" > "$log_file" 2>&1 \
  || { tail -40 "$log_file" >&2; exit 1; }
