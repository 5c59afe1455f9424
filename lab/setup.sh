#!/usr/bin/env bash
# Make this machine ready for the lab and the tests: Debian packages, the
# Python venv, a running Docker engine and the lab images. Safe to run again:
# every step checks before it acts.
#
#   lab/setup.sh            everything
#   lab/setup.sh venv       only the Python venv (enough for lint and unit tests)
#   lab/setup.sh emulators  only Azurite (the S3 and GCS stand-ins come with the venv)
#   lab/setup.sh host       everything but the images (make test builds them meanwhile)
#   lab/setup.sh images     only the lab images
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.lab"
VENV="$ROOT/.venv"
mkdir -p "$STATE"
chmod 0700 "$STATE"

log() { printf '[setup] %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_packages() {
  # openssh-client: Ansible reaches the lab's blank hosts over SSH, as a real server.
  # chromium: tests/integration/test_drill_report.py opens the drill report in headless Chromium.
  local wanted=(docker.io debootstrap zstd sqlite3 postgresql-client age gnupg curl redis-server openssh-client chromium)
  local missing=()
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

venv() {
  local stamp="$VENV/.requirements.sha256"
  local want
  want=$(cat "$ROOT/requirements.txt" "$ROOT/constraints.txt" | sha256sum | cut -d' ' -f1)
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return
  fi
  log "creating the Python venv in .venv (a few minutes the first time)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r "$ROOT/requirements.txt" -c "$ROOT/constraints.txt"
  echo "$want" >"$stamp"
}

docker_engine() {
  if docker info >/dev/null 2>&1; then
    return
  fi
  log "starting the Docker engine"
  # setsid: the engine must outlive this script and the make that ran it.
  as_root setsid dockerd >/var/log/lifeboat-dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return
    sleep 1
  done
  log "the Docker engine did not come up; see /var/log/lifeboat-dockerd.log"
  exit 1
}

images() {
  "$ROOT/lab/build-images.sh"
}

# Object-store stand-ins for the offsite tests: moto and gcp-storage-emulator come
# with the venv; Azurite (Azure Blob) from npm, pinned, into .lab/node.
AZURITE_VERSION=3.35.0
emulators() {
  local prefix="$STATE/node"
  if [ -x "$prefix/node_modules/.bin/azurite-blob" ] && [ "$(cat "$prefix/.version" 2>/dev/null)" = "$AZURITE_VERSION" ]; then
    return
  fi
  if ! command -v npm >/dev/null; then
    log "installing Debian's npm for Azurite"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq npm >/dev/null
  fi
  log "installing Azurite $AZURITE_VERSION into .lab/node"
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --silent "azurite@$AZURITE_VERSION" >/dev/null
  echo "$AZURITE_VERSION" >"$prefix/.version"
}

case "${1:-all}" in
  venv) venv ;;
  emulators) emulators ;;
  host) apt_packages; venv; emulators; docker_engine ;;
  images) images ;;
  all) apt_packages; venv; emulators; docker_engine; images ;;
  *) echo "usage: $0 [all|host|images|venv|emulators]" >&2; exit 2 ;;
esac
