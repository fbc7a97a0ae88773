#!/usr/bin/env bash
# Prepare the control machine (Debian 12) for the rehearsal in a KVM virtual machine
# (make rehearsal-vm, make test-vm): QEMU, libvirt, the vagrant-libvirt plugin, the tools
# the box build needs, and running libvirt daemons. Idempotent and quick on a second run.
# Needs root. tools/host-setup.sh (Docker, apt cache, vagrant itself) runs first.
#
# On a host without systemd as PID 1 (a container, this build machine) the daemons are
# started directly, as tools/host-setup.sh does for dockerd.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
LOG_DIR=${LOG_DIR:-/var/log/ft-harness}
PACKAGES=(
  qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-clients dnsmasq-base
  vagrant vagrant-libvirt grub-pc-bin fdisk e2fsprogs nmap iptables socat
)

log() { printf '[vm-host-setup] %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "tools/vm-host-setup.sh needs root (run it through sudo)" >&2
  exit 1
fi
mkdir -p "$LOG_DIR"

# A daemon started in the background unless one of that name already runs.
start_daemon() {
  local name=$1
  shift
  if pgrep -x "$name" > /dev/null; then
    return 0
  fi
  log "starting $name (log: $LOG_DIR/$name.log)"
  setsid "$@" > "$LOG_DIR/$name.log" 2>&1 < /dev/null &
}

ensure_libvirtd() {
  if virsh -c qemu:///system version > /dev/null 2>&1; then
    return 0
  fi
  if [ -d /run/systemd/system ] && systemctl start libvirtd 2> /dev/null; then
    log "started libvirtd.service"
  else
    mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt
    start_daemon virtlogd /usr/sbin/virtlogd
    start_daemon virtlockd /usr/sbin/virtlockd
    start_daemon libvirtd /usr/sbin/libvirtd
  fi
  for _ in $(seq 1 60); do
    virsh -c qemu:///system version > /dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "libvirtd did not answer within 30 s; see $LOG_DIR/libvirtd.log" >&2
  exit 1
}

# The "default" pool: vagrant-libvirt uploads the box's disk there.
ensure_pool() {
  if ! virsh -c qemu:///system pool-info default > /dev/null 2>&1; then
    log "defining storage pool default (/var/lib/libvirt/images)"
    mkdir -p /var/lib/libvirt/images
    virsh -c qemu:///system pool-define-as default dir --target /var/lib/libvirt/images > /dev/null
    virsh -c qemu:///system pool-autostart default > /dev/null
  fi
  if [ "$(virsh -c qemu:///system pool-info default | awk '/^State:/ {print $2}')" != running ]; then
    virsh -c qemu:///system pool-start default > /dev/null
  fi
}

# What udev does on an ordinary host: /dev/kvm belongs to group kvm, which QEMU's user
# (libvirt-qemu) is in. Without udev (a container) the node keeps whatever group id the
# outer host gave it, and QEMU fails with "Could not access KVM kernel module".
ensure_kvm_group() {
  [ -c /dev/kvm ] || return 0
  if [ "$(stat -c %G /dev/kvm)" != kvm ] || [ "$(stat -c %a /dev/kvm)" != 660 ]; then
    log "/dev/kvm: group kvm, mode 0660 (was $(stat -c '%G %a' /dev/kvm))"
    chgrp kvm /dev/kvm
    chmod 0660 /dev/kvm
  fi
}

# /dev/kvm alone does not prove that KVM runs a 64-bit Linux: on this build machine (itself
# a virtual machine, no svm/vmx flag in /proc/cpuinfo) the kernel's decompressor runs under
# KVM and the kernel proper never starts. Boot this host's own kernel under KVM for up to
# 20 s and look for its first line. The answer (kvm or qemu, and why) is kept in KVM_STATE
# until the next boot of the host.
KVM_STATE=${KVM_STATE:-/run/ft-harness-kvm}
probe_kvm() {
  [ -s "$KVM_STATE" ] && return 0
  if [ ! -w /dev/kvm ]; then
    echo "qemu no /dev/kvm" > "$KVM_STATE"
    return 0
  fi
  local kernel initrd serial
  kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -1)
  initrd=$(find /boot -maxdepth 1 -name 'initrd.img-*' | sort -V | tail -1)
  if [ -z "$kernel" ]; then
    kernel=$(find /var/tmp/ft-vagrant-box/root/boot -maxdepth 1 -name 'vmlinuz-*' 2> /dev/null | tail -1)
    initrd=$(find /var/tmp/ft-vagrant-box/root/boot -maxdepth 1 -name 'initrd.img-*' 2> /dev/null | tail -1)
  fi
  if [ -z "$kernel" ]; then
    log "no kernel to probe KVM with yet (make rehearsal-vm builds the box, then probes)"
    return 0
  fi
  serial=$(mktemp)
  timeout 20 qemu-system-x86_64 -accel kvm -cpu host,-arch-capabilities -smp 1 -m 512 \
    -display none -nic none -serial "file:$serial" -kernel "$kernel" ${initrd:+-initrd "$initrd"} \
    -append "earlyprintk=serial,ttyS0 console=ttyS0 panic=-1" > /dev/null 2>&1 || true
  if grep -q 'Linux version' "$serial"; then
    echo "kvm" > "$KVM_STATE"
  else
    echo "qemu /dev/kvm is there but a 64-bit Linux kernel does not start under it (nested virtualization?)" > "$KVM_STATE"
  fi
  rm -f "$serial"
}

"$HERE/install-packages.sh" "$LOG_DIR/vm-apt.log" "${PACKAGES[@]}"
ensure_kvm_group
ensure_libvirtd
ensure_pool
probe_kvm
hypervisor=$(virsh -c qemu:///system version | awk '/Running hypervisor/ {print $3, $4}')
case "$(cat "$KVM_STATE" 2> /dev/null)" in
  kvm) log "ready: $hypervisor, KVM works" ;;
  qemu*) log "ready: $hypervisor, NO usable KVM ($(cut -d' ' -f2- "$KVM_STATE")): software emulation (TCG)" ;;
  *) log "ready: $hypervisor, KVM not probed yet" ;;
esac
