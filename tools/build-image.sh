#!/usr/bin/env bash
# Build a bare Debian "server" image for the rehearsal and Molecule: a debootstrap root
# filesystem with systemd as PID 1, imported with `docker import` (no registry is
# reachable, so nothing is pulled). The image is tagged with a hash of this recipe and
# rebuilt only when the recipe changes.
#
# Usage: tools/build-image.sh bookworm|trixie
set -euo pipefail

SUITE=${1:?usage: build-image.sh bookworm|trixie}
IMAGE=${IMAGE_NAME:-ft-debian}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# apt-cacher-ng on the host (tools/host-setup.sh) caches every download for the next build.
APT_CACHE=${APT_CACHE:-http://127.0.0.1:3142}
# What a freshly rented VPS has: systemd, sshd, python3 for Ansible, sudo and cron.
INCLUDE=systemd,systemd-sysv,dbus,python3,sudo,openssh-server,cron,ca-certificates,iproute2,procps

recipe_hash=$( { cat "$0"; echo "$SUITE $MIRROR $INCLUDE"; } | sha256sum | cut -c1-12)
tag="$IMAGE:$SUITE-$recipe_hash"

if docker image inspect "$tag" > /dev/null 2>&1; then
  docker tag "$tag" "$IMAGE:$SUITE"
  echo "[build-image] $tag is up to date"
  exit 0
fi

case "$SUITE" in
  bookworm | trixie) ;;
  *) echo "unsupported suite: $SUITE (bookworm or trixie)" >&2; exit 2 ;;
esac

workdir=$(mktemp -d /var/tmp/ft-rootfs.XXXXXX)
trap 'rm -rf "$workdir"' EXIT
root="$workdir/root"

# Fetch through the cache when it answers; the image itself keeps the real mirror.
fetch_mirror=$MIRROR
if curl -fsS -o /dev/null --max-time 2 "$APT_CACHE/acng-report.html" 2>/dev/null; then
  fetch_mirror="$APT_CACHE/${MIRROR#http://}"
fi

echo "[build-image] debootstrap $SUITE from $fetch_mirror"
start=$(date +%s)
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$root" "$fetch_mirror" \
  > "$workdir/debootstrap.log" 2>&1 || { tail -30 "$workdir/debootstrap.log" >&2; exit 1; }

# A bare server: real mirrors, no machine identity, no leftover package lists.
cat > "$root/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
SOURCES
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
# Units that cannot work in a container and only add noise to the boot.
for unit in systemd-remount-fs.service getty@tty1.service console-getty.service \
  sys-kernel-config.mount sys-kernel-debug.mount systemd-firstboot.service tmp.mount; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

tar --numeric-owner -C "$root" -c . \
  | docker import -c 'CMD ["/sbin/init"]' -c 'ENV container=docker' - "$tag" > /dev/null
docker tag "$tag" "$IMAGE:$SUITE"
# Drop images of older recipes so the disk does not fill up with them.
docker images --format '{{.Repository}}:{{.Tag}}' "$IMAGE" \
  | grep "^$IMAGE:$SUITE-" | grep -v "^$tag$" | xargs -r docker rmi > /dev/null 2>&1 || true
echo "[build-image] built $tag in $(( $(date +%s) - start )) s"
