#!/usr/bin/env bash
# The rehearsal in a KVM virtual machine (Vagrantfile, provider libvirt): the local box
# built from the rehearsal's debootstrap image, a machine of the target's size (2 vCPUs,
# 4 GB) converged by site.yml with the rehearsal's settings.
# Usage: tools/vm-rehearsal.sh box|up|provision|reload|down|status|ip|bridge|ssh-config
# Needs root (libvirt's system instance); the host is prepared by tools/vm-host-setup.sh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

BOX_NAME=ft/bookworm64
BOX_WORK=${FT_VM_BOX_WORK:-/var/tmp/ft-vagrant-box}
STAMP=$top/.cache/vagrant/box.stamp
FORWARDER_PID=$top/.cache/vagrant/apt-forwarder.pid
export VAGRANT_HOME=$top/.cache/vagrant/home
export VAGRANT_DOTFILE_PATH=$top/.cache/vagrant/dotfile
export VAGRANT_CHECKPOINT_DISABLE=1
export VAGRANT_DEFAULT_PROVIDER=libvirt
export FT_VAGRANT_BOX=${FT_VAGRANT_BOX:-$BOX_NAME}
# The machine is reached at its own address: HTTP's redirect names 443.
export FT_VAGRANT_PUBLIC_HTTPS_PORT=${FT_VAGRANT_PUBLIC_HTTPS_PORT:-443}
export ANSIBLE_FORCE_COLOR=0
# Where KVM is missing or does not work (tools/vm-host-setup.sh probes it): QEMU's software
# emulation, one line saying so, never silently.
KVM_STATE=${KVM_STATE:-/run/ft-harness-kvm}
kvm_state=$(cat "$KVM_STATE" 2> /dev/null || echo "qemu KVM not probed (run tools/vm-host-setup.sh)")
if [ -z "${FT_VAGRANT_LIBVIRT_DRIVER:-}" ]; then
  if [ "$kvm_state" = kvm ]; then
    export FT_VAGRANT_LIBVIRT_DRIVER=kvm
  else
    echo "[vm] NO usable KVM (${kvm_state#qemu }): QEMU software emulation (TCG), ~10x slower" >&2
    export FT_VAGRANT_LIBVIRT_DRIVER=qemu
  fi
elif [ "$FT_VAGRANT_LIBVIRT_DRIVER" = qemu ]; then
  echo "[vm] FT_VAGRANT_LIBVIRT_DRIVER=qemu: QEMU software emulation (TCG), ~10x slower" >&2
fi
mkdir -p "$top/.cache/vagrant" artifacts

log() { printf '[vm] %s\n' "$*"; }

# The box's recipe: its build script and the debootstrap image it starts from.
box_hash() {
  cat tests/ops/build-vagrant-box.sh tools/build-image.sh | sha256sum | cut -c1-12
}

box() {
  local want
  want=$(box_hash)
  if [ "$(cat "$STAMP" 2> /dev/null)" = "$want" ] && vagrant box list | grep -q "^$BOX_NAME "; then
    log "box $BOX_NAME is up to date ($want)"
    return 0
  fi
  local t0=$SECONDS
  tools/build-image.sh bookworm
  tests/ops/build-vagrant-box.sh "$BOX_WORK"
  vagrant box add --force --name "$BOX_NAME" "$BOX_WORK/ft-bookworm64.box" > /dev/null
  # The old box's copies in libvirt's pool (vagrant-libvirt names each upload after the
  # box's timestamp) go, unless a machine still runs on one as its backing disk.
  if vagrant status --machine-readable 2> /dev/null | grep -q ',state,not_created'; then
    virsh -c qemu:///system vol-list default | awk '/ft-VAGRANTSLASH-bookworm64_vagrant_box_image/ {print $1}' \
      | while read -r vol; do virsh -c qemu:///system vol-delete --pool default "$vol" > /dev/null; done
  fi
  echo "$want" > "$STAMP"
  log "box $BOX_NAME built and added in $((SECONDS - t0)) s ($want)"
}

# The address of the machine on vagrant-libvirt's management network.
ip() {
  vagrant ssh-config 2> /dev/null | awk '/^  HostName / {print $2; exit}'
}

# The host's apt cache (apt-cacher-ng, loopback only) for the machine: a forwarder on the
# management network's gateway address, which only the machines on that network reach.
apt_forwarder() {
  local gateway
  gateway=$(virsh -c qemu:///system net-dumpxml vagrant-libvirt 2> /dev/null \
    | sed -n "s/.*<ip address='\([0-9.]*\)'.*/\1/p" | head -1)
  if [ -z "$gateway" ] || ! curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:3142/acng-report.html; then
    log "no apt cache for the machine (apt fetches from the mirror directly)"
    return 0
  fi
  if ! { [ -s "$FORWARDER_PID" ] && kill -0 "$(cat "$FORWARDER_PID")" 2> /dev/null; }; then
    setsid socat "TCP-LISTEN:3142,bind=$gateway,reuseaddr,fork" TCP:127.0.0.1:3142 \
      > /dev/null 2>&1 < /dev/null &
    echo $! > "$FORWARDER_PID"
  fi
  export FT_APT_PROXY=http://$gateway:3142
}

up() {
  local t0=$SECONDS
  box
  log "vagrant up --provider=libvirt (driver $FT_VAGRANT_LIBVIRT_DRIVER, 2 vCPUs, 4096 MB)"
  # Vagrant's progress bars (carriage returns) stay out of the log.
  vagrant up --provider=libvirt --no-provision 2>&1 | stdbuf -o0 tr '\r' '\n' | grep --line-buffered -v '^.\[KProgress' \
    | tee artifacts/vm-up.log
  apt_forwarder
  log "converging: provisioners prepare and site (log: artifacts/vm-rehearsal.log)"
  local t1=$SECONDS
  vagrant provision 2>&1 | tee artifacts/vm-rehearsal.log | grep -E '^==>|PLAY RECAP|ok=|failed|FAILED|fatal' || true
  if ! grep -q 'failed=0' artifacts/vm-rehearsal.log || grep -qE 'failed=[1-9]|unreachable=[1-9]' artifacts/vm-rehearsal.log; then
    log "the converge failed; see artifacts/vm-rehearsal.log" >&2
    exit 1
  fi
  log "converged in $((SECONDS - t1)) s; make rehearsal-vm took $((SECONDS - t0)) s"
  status
}

provision() {
  apt_forwarder
  vagrant provision "$@"
}

reload() {
  vagrant reload --no-provision "$@"
  apt_forwarder
}

status() {
  local addr
  addr=$(ip)
  cat << MSG

Rehearsal server: virtual machine ft-vagrant (libvirt/$FT_VAGRANT_LIBVIRT_DRIVER, box $FT_VAGRANT_BOX), converged by site.yml
  address:          $addr (vagrant-libvirt's management network; reachable from this machine only)
  the bots:         ssh -i .cache/vault/deploy_ed25519 deploy@$addr sudo ft-status
  shell:            tools/vm-rehearsal.sh ssh-config > .cache/vagrant/ssh-config; ssh -F .cache/vagrant/ssh-config default
                    or as the deploy user: ssh -i .cache/vault/deploy_ed25519 deploy@$addr
  services:         ... sudo systemctl list-units --type=service --state=running
  HTTP / HTTPS:     http://$addr/  https://$addr/ (nginx: a path per bot, e.g. /rossc/; self-signed certificate)
  FreqUI:           https://$addr/ (accept the self-signed certificate once)
    log in as:      user trader (freqtrade_api_username); the password is vault_api_server_password in
                    the rehearsal's vault: .venv/bin/ansible-vault view --vault-password-file .cache/vault/pass .cache/vault/vault.yml
    the other bots: in FreqUI's bot list, add https://$addr/<bot> (bots: inventories/rehearsal/group_vars/all/main.yml)
  Telegram:         ... curl -s https://api.telegram.org/_messages (on the machine)
  converge log:     artifacts/vm-rehearsal.log
  the VM tests:     make test-vm
  remove it:        make rehearsal-vm-down
MSG
}

down() {
  if vagrant status --machine-readable 2> /dev/null | grep -q ',state,not_created'; then
    log "nothing to remove"
  else
    vagrant destroy -f
  fi
  if [ -s "$FORWARDER_PID" ]; then
    kill "$(cat "$FORWARDER_PID")" 2> /dev/null || true
    rm -f "$FORWARDER_PID"
  fi
}

cmd=${1:-up}
shift || true
case "$cmd" in
  box) box ;;
  up) up ;;
  provision) provision "$@" ;;
  reload) reload "$@" ;;
  down) down ;;
  status) status ;;
  ip) ip ;;
  bridge) virsh -c qemu:///system net-info vagrant-libvirt | awk '/^Bridge:/ {print $2}' ;;
  ssh-config) vagrant ssh-config ;;
  *)
    echo "usage: $0 box|up|provision|reload|down|status|ip|bridge|ssh-config" >&2
    exit 2
    ;;
esac
