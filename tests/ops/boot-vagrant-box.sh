#!/usr/bin/env bash
# Boot the local box's disk as vagrant-libvirt would size it (2 CPUs, 4 GB, virtio disk and
# network), under QEMU's software emulation (TCG: no KVM here), at the lowest CPU priority.
# SSH and HTTPS are forwarded like the Vagrantfile's ports. Prints the time until the
# "vagrant" user can log in with Vagrant's insecure key.
#
# Usage: tests/ops/boot-vagrant-box.sh [WORKDIR]   (the build script's WORKDIR)
#   stop it: kill "$(cat WORKDIR/qemu.pid)"
set -euo pipefail

work=${1:-/var/tmp/ft-vagrant-box}
ssh_port=${FT_BOX_SSH_PORT:-2232}
https_port=${FT_BOX_HTTPS_PORT:-9443}
key=${VAGRANT_INSECURE_KEY:-$(find /usr/share/rubygems-integration/all/gems -path "*/vagrant-*/keys/vagrant" | sort -V | tail -1)}

[ -s "$work/pkg/box.img" ] || tar -C "$work/pkg" -xzf "$work/ft-bookworm64.box" box.img
# A throw-away overlay: the box image itself stays pristine.
qemu-img create -q -f qcow2 -b "$work/pkg/box.img" -F qcow2 "$work/run.qcow2"
install -m 0600 "$key" "$work/vagrant.key"
rm -f "$work/serial.log"
start=$(date +%s)
nice -n 19 qemu-system-x86_64 -accel tcg -smp 2 -m 4096 \
  -drive "file=$work/run.qcow2,if=virtio,format=qcow2" \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$ssh_port-:22,hostfwd=tcp:127.0.0.1:$https_port-:443" \
  -device virtio-net-pci,netdev=n0 -display none -serial "file:$work/serial.log" \
  -pidfile "$work/qemu.pid" -daemonize
for _ in $(seq 1 150); do
  if ssh -q -i "$work/vagrant.key" -p "$ssh_port" -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 vagrant@127.0.0.1 true 2> /dev/null; then
    echo "[boot] ssh as vagrant after $(($(date +%s) - start)) s (pid $(cat "$work/qemu.pid"))"
    exit 0
  fi
  sleep 2
done
echo "[boot] no ssh after $(($(date +%s) - start)) s; see $work/serial.log" >&2
exit 1
