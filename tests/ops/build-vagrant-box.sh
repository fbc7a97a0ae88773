#!/usr/bin/env bash
# A local Vagrant box for the libvirt provider, made from the rehearsal's debootstrap image
# (tools/build-image.sh) because no box can be downloaded here: kernel, initramfs, DHCP on
# any e* interface, the "vagrant" user with Vagrant's insecure key and passwordless sudo,
# a 20 GB disk with GRUB in its MBR. Needs root, docker, fdisk, qemu-utils, grub-pc-bin.
#
# Usage: tests/ops/build-vagrant-box.sh [WORKDIR]   (default /var/tmp/ft-vagrant-box)
#   -> WORKDIR/ft-bookworm64.box; add it with
#      vagrant box add --name ft/bookworm64 WORKDIR/ft-bookworm64.box
#      FT_VAGRANT_BOX=ft/bookworm64 vagrant up --provider=libvirt
# Boot it without libvirt (what docs/vagrant.md measured): tests/ops/boot-vagrant-box.sh.
set -euo pipefail

work=${1:-/var/tmp/ft-vagrant-box}
image=${FT_BOX_IMAGE:-ft-debian:bookworm}
apt_cache=${APT_CACHE:-http://127.0.0.1:3142}
disk_gb=20
vagrant_key=${VAGRANT_INSECURE_PUBKEY:-$(find /usr/share/rubygems-integration/all/gems -path "*/vagrant-*/keys/vagrant.pub" | sort -V | tail -1)}
root="$work/root"

mkdir -p "$work"
rm -rf "$root" "$work/pkg"
mkdir -p "$root" "$work/pkg"

echo "[box] root filesystem from $image"
cid=$(docker create "$image" /bin/true)
trap 'docker rm "$cid" > /dev/null 2>&1 || true; umount "$root/dev" "$root/proc" 2> /dev/null || true' EXIT
docker export "$cid" | tar -C "$root" -xf -
docker rm "$cid" > /dev/null
# docker export leaves /.dockerenv, which makes systemd (and Ansible's facts) see a container.
rm -f "$root/.dockerenv"

echo "[box] kernel, initramfs, networkd + resolved"
apt_opts=()
if curl -fsS -o /dev/null --max-time 2 "$apt_cache/acng-report.html" 2> /dev/null; then
  apt_opts=(-o "Acquire::http::Proxy=$apt_cache")
fi
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
cp /etc/resolv.conf "$root/etc/resolv.conf"
chroot "$root" apt-get "${apt_opts[@]}" update -q > "$work/apt.log"
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get "${apt_opts[@]}" install -y -q \
  --no-install-recommends linux-image-amd64 initramfs-tools zstd systemd-resolved >> "$work/apt.log"
umount "$root/dev" "$root/proc"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb

# The container image masks units that a virtual machine needs.
for unit in systemd-remount-fs.service getty@tty1.service console-getty.service \
  sys-kernel-config.mount sys-kernel-debug.mount systemd-firstboot.service tmp.mount; do
  [ -L "$root/etc/systemd/system/$unit" ] && rm "$root/etc/systemd/system/$unit"
done
echo 'LABEL=ftroot / ext4 errors=remount-ro 0 1' > "$root/etc/fstab"
echo ft-box > "$root/etc/hostname"
# Interface names differ between machine types (ens3, enp1s0, eth0): DHCP on all of them.
printf '[Match]\nName=e*\n\n[Network]\nDHCP=yes\n' > "$root/etc/systemd/network/20-wired.network"
chroot "$root" systemctl enable systemd-networkd systemd-resolved > /dev/null 2>&1

echo "[box] vagrant user"
chroot "$root" useradd -m -s /bin/bash vagrant
echo vagrant:vagrant | chroot "$root" chpasswd
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' > "$root/etc/sudoers.d/vagrant"
chmod 0440 "$root/etc/sudoers.d/vagrant"
install -d -m 0700 -o 1000 -g 1000 "$root/home/vagrant/.ssh"
install -m 0600 -o 1000 -g 1000 "$vagrant_key" "$root/home/vagrant/.ssh/authorized_keys"
echo 'UseDNS no' > "$root/etc/ssh/sshd_config.d/vagrant.conf"
# Each machine made from the box gets its own identity and host keys on first boot.
: > "$root/etc/machine-id"
rm -f "$root"/etc/ssh/ssh_host_*
cat > "$root/etc/systemd/system/ssh-hostkeys.service" <<'UNIT'
[Unit]
Description=Generate missing SSH host keys
Before=ssh.service
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl enable ssh-hostkeys.service > /dev/null 2>&1

echo "[box] ${disk_gb} GB disk: MBR, one ext4 partition, GRUB with an embedded boot config"
disk="$work/disk.raw"
rm -f "$disk"
truncate -s "${disk_gb}G" "$disk"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$disk"
mkfs.ext4 -q -L ftroot -d "$root" -E offset=1048576 "$disk" "$(((disk_gb * 1024 * 1024 * 1024 - 1048576) / 1024))k"
cat > "$work/early.cfg" <<'CFG'
set root=(hd0,msdos1)
set timeout=0
linux /vmlinuz root=LABEL=ftroot ro console=ttyS0,115200 console=tty0
initrd /initrd.img
boot
CFG
grub-mkimage -O i386-pc -o "$work/core.img" -c "$work/early.cfg" -p '(hd0,msdos1)/boot/grub' \
  biosdisk part_msdos ext2 linux normal echo configfile
# boot.img loads sector 1; core.img's own blocklist covers the sectors after it.
dd if=/usr/lib/grub/i386-pc/boot.img of="$disk" bs=440 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$disk" bs=512 seek=1 conv=notrunc status=none

echo "[box] package"
qemu-img convert -O qcow2 "$disk" "$work/pkg/box.img"
rm -f "$disk"
printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %s}\n' "$disk_gb" > "$work/pkg/metadata.json"
printf 'Vagrant.configure("2") do |config|\n  config.vm.provider :libvirt do |lv|\n    lv.disk_bus = "virtio"\n  end\nend\n' \
  > "$work/pkg/Vagrantfile"
tar -C "$work/pkg" -czf "$work/ft-bookworm64.box" metadata.json Vagrantfile box.img
echo "[box] $work/ft-bookworm64.box ($(du -h "$work/ft-bookworm64.box" | cut -f1))"
