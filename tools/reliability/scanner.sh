#!/usr/bin/env bash
# A scanner container on the default docker network (another host, as seen from the server):
# plain Debian 12 with nmap and ssh-audit from Debian's archive, through the host's apt cache.
# Made once and kept; `make reliability-down` removes it.  Usage: scanner.sh [NAME]
set -euo pipefail
NAME=${1:-ft-reliability-scan}
IMAGE=${FT_RELIABILITY_IMAGE:-ft-debian:bookworm}
if ! docker container inspect "$NAME" > /dev/null 2>&1; then
  docker run -d --name "$NAME" --hostname "$NAME" "$IMAGE" sleep infinity > /dev/null
elif [ "$(docker container inspect -f '{{.State.Running}}' "$NAME")" != true ]; then
  docker start "$NAME" > /dev/null
fi
docker exec "$NAME" sh -c 'command -v nmap && command -v ssh-audit' > /dev/null 2>&1 && exit 0
gateway=$("$(dirname "$0")/../docker-gateway.sh")
proxy=${FT_APT_PROXY:-http://$gateway:3142}
docker exec "$NAME" sh -c "echo 'Acquire::http::Proxy \"$proxy\";' > /etc/apt/apt.conf.d/01proxy &&
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nmap ssh-audit" \
  > /dev/null
