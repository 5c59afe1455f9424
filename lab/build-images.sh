#!/usr/bin/env bash
# Build the lab images from Debian packages (no container registry exists here).
#
#   lifeboat-base:<key>  debootstrap'd bookworm with systemd, sshd, cron, python3
#   lifeboat-lab:<key>   base + the servers the lab runs (PostgreSQL 15, ...)
#
# Each tag is a hash of its recipe, so an unchanged recipe is never rebuilt and
# a changed one always is. The tags in use are written to .lab/images.env.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.lab"
mkdir -p "$STATE"

log() { printf '[images] %s\n' "$*" >&2; }

BASE_PACKAGES="python3,python3-apt,systemd,systemd-sysv,dbus,openssh-server,cron,sudo,gzip,zstd,ca-certificates,curl,procps,iproute2,sqlite3,tar"

mirror() {
  # The mirror apt on this machine already uses, so the project names no host.
  local uri
  uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $2 !~ /^\[/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || { log "cannot find the Debian mirror in apt's sources"; exit 1; }
  echo "$uri"
}

base_key=$( (echo "$BASE_PACKAGES"; cat "$ROOT/lab/build-images.sh") | sha256sum | cut -c1-12)
BASE="lifeboat-base:$base_key"

if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  rootfs=$(mktemp -d /var/tmp/lifeboat-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  log "debootstrap bookworm into $rootfs (about two minutes)"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$rootfs" "$(mirror)" >"$STATE/debootstrap.log" 2>&1 \
    || { tail -n 20 "$STATE/debootstrap.log" >&2; exit 1; }
  cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/" 2>/dev/null || true
  [ -s "$rootfs/etc/apt/sources.list.d/debian.sources" ] && rm -f "$rootfs/etc/apt/sources.list"
  # A container has no consoles or hardware to wait for.
  chroot "$rootfs" systemctl mask getty@tty1.service serial-getty@console.service \
    systemd-udevd.service systemd-modules-load.service sys-kernel-config.mount >/dev/null 2>&1 || true
  echo "lifeboat" >"$rootfs/etc/hostname"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | docker import -c 'CMD ["/sbin/init"]' - "$BASE" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  log "built $BASE"
fi

lab_key=$( (echo "$base_key"; cat "$ROOT/lab/Dockerfile.lab") | sha256sum | cut -c1-12)
LAB="lifeboat-lab:$lab_key"
if ! docker image inspect "$LAB" >/dev/null 2>&1; then
  log "building $LAB"
  docker build -q --build-arg "BASE=$BASE" -t "$LAB" -f "$ROOT/lab/Dockerfile.lab" "$ROOT/lab" >/dev/null
fi

cat >"$STATE/images.env" <<EOF
LIFEBOAT_BASE_IMAGE=$BASE
LIFEBOAT_LAB_IMAGE=$LAB
EOF
log "images ready: $BASE $LAB"
