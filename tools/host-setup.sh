#!/usr/bin/env bash
# Prepare the control machine (Debian 12) for the rehearsal and the tests: Debian packages,
# a running Docker daemon and the apt cache the test containers share. Idempotent and
# quick on a second run. Needs root: the Makefile calls it through sudo for a normal user.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
STATE_DIR=${STATE_DIR:-/var/lib/ft-harness}
LOG_DIR=${LOG_DIR:-/var/log/ft-harness}
# Host packages: container runtime and image build, the venv, the apt cache for containers,
# and the real tools the tests call (promtool/amtool, vagrant validate, browser tests).
PACKAGES=(
  docker.io debootstrap apt-cacher-ng python3-venv python3-dev make git curl jq
  iproute2 sqlite3 openssh-client openssl prometheus prometheus-alertmanager
  pebble chromium chromium-driver testssl.sh wrk vagrant restic nmap ssh-audit lynis
)

log() { printf '[host-setup] %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "tools/host-setup.sh needs root (run it through sudo)" >&2
  exit 1
fi
# /var/cache/ft-harness/pip is the pip cache every test container shares.
mkdir -p "$STATE_DIR" "$LOG_DIR" /var/cache/ft-harness/pip

# A daemon that the host's init may or may not manage: use it when it answers, else start it.
ensure_apt_cacher() {
  if curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:3142/acng-report.html 2>/dev/null; then
    return 0
  fi
  log "starting apt-cacher-ng (log: $LOG_DIR/apt-cacher-ng.log)"
  mkdir -p /var/cache/apt-cacher-ng /run/apt-cacher-ng
  chown apt-cacher-ng:apt-cacher-ng /var/cache/apt-cacher-ng /run/apt-cacher-ng 2>/dev/null || true
  # Our own config: it fetches from deb.debian.org only, and listens only where it is used:
  # loopback (image builds) and the Docker bridge's gateway (the containers).
  local gateway
  gateway=$("$HERE/docker-gateway.sh")
  setsid /usr/sbin/apt-cacher-ng -c "$HERE/apt-cacher-ng" ForeGround=1 "BindAddress=127.0.0.1 $gateway" \
    > "$LOG_DIR/apt-cacher-ng.log" 2>&1 < /dev/null &
  for _ in $(seq 1 20); do
    curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:3142/acng-report.html 2>/dev/null && return 0
    sleep 0.5
  done
  echo "apt-cacher-ng did not start; see $LOG_DIR/apt-cacher-ng.log" >&2
  exit 1
}

ensure_dockerd() {
  if docker info > /dev/null 2>&1; then
    return 0
  fi
  if [ -d /run/systemd/system ] && systemctl start docker 2> /dev/null; then
    log "started docker.service"
  else
    log "starting dockerd in the background (log: $LOG_DIR/dockerd.log)"
    # The socket's group lets the sudo-invoking user drive docker without root.
    local group=root
    if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
      group=$(id -gn "$SUDO_USER")
    fi
    setsid dockerd --group "$group" > "$LOG_DIR/dockerd.log" 2>&1 < /dev/null &
  fi
  for _ in $(seq 1 60); do
    docker info > /dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "dockerd did not answer within 30 s; see $LOG_DIR/dockerd.log" >&2
  exit 1
}

# CAs this machine trusts beyond Debian's bundle (e.g. a TLS-inspecting egress proxy):
# the test containers must trust them too, or pip cannot reach PyPI from inside. Empty on
# an ordinary machine.
collect_extra_cas() {
  python3 - "$STATE_DIR/extra-ca.crt" <<'PY'
import glob, re, sys
pem = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
def certs(text): return [m.group(0) for m in pem.finditer(text)]
known = set()
for path in glob.glob("/usr/share/ca-certificates/**/*.crt", recursive=True):
    known.update(certs(open(path).read()))
host = certs(open("/etc/ssl/certs/ca-certificates.crt").read())
extra = [c for c in host if c not in known]
open(sys.argv[1], "w").write("\n".join(extra) + ("\n" if extra else ""))
print(f"[host-setup] {len(extra)} extra CA certificate(s) for the containers")
PY
}

"$HERE/install-packages.sh" "$LOG_DIR/apt.log" "${PACKAGES[@]}"
collect_extra_cas
ensure_dockerd
ensure_apt_cacher
log "ready: $(docker version --format 'docker {{.Server.Version}}')"
