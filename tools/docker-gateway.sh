#!/usr/bin/env bash
# Prints the IPv4 address of Docker's default bridge on this host: where containers reach
# host services (the apt cache, the scanner's targets). dockerd 20.10 leaves the default
# bridge's IPAM gateway empty when it has just created the bridge, so the bridge
# interface's own address is the fallback.
set -euo pipefail
gateway=$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null || true)
if [ -z "$gateway" ]; then
  bridge=$(docker network inspect bridge \
    --format '{{index .Options "com.docker.network.bridge.name"}}' 2>/dev/null || true)
  gateway=$(ip -4 -o addr show dev "${bridge:-docker0}" 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -1)
fi
[ -n "$gateway" ] || { echo "no address for Docker's default bridge (is dockerd running?)" >&2; exit 1; }
echo "$gateway"
