#!/usr/bin/env bash
# Make this machine look to the project as a new one does: no lab containers,
# networks or images, no venv, no lab state, no pip/npm/Ansible caches, no
# stand-in servers and no Docker engine running. `make test-fresh` runs this,
# then `make test`, so that a step which only works because the machine ran the
# project before fails here rather than on a newcomer's machine or in CI.
#
# Left in place (a fresh machine of ours has them or they are the machine's own):
# Debian packages (setup.sh installs the missing ones), the apt lists of this
# machine, images or containers that are not Lifeboat's (and the Docker engine
# while any of them runs), and what is installed under ~/.ansible.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf '[fresh] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if docker info >/dev/null 2>&1; then
  containers=$( (docker ps -aq --filter name='^lifeboat-'; docker ps -aq --filter label=lifeboat.lab.id) | sort -u)
  if [ -n "$containers" ]; then
    log "removing Lifeboat containers"
    # shellcheck disable=SC2086
    docker rm -f $containers >/dev/null
  fi
  for network in $(docker network ls -q --filter name='^lifeboat'); do
    docker network rm "$network" >/dev/null || log "left network $network (something else is attached to it)"
  done
  images=$(docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^lifeboat-(base|lab):' || true)
  if [ -n "$images" ]; then
    log "removing the lab images: $(echo "$images" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    docker rmi -f $images >/dev/null
  fi
  # A new machine has no engine running; setup starts one. Other people's containers keep theirs.
  if [ -z "$(docker ps -q)" ]; then
    log "stopping the Docker engine (setup starts it again)"
    as_root pkill -x dockerd || true
    for _ in $(seq 1 30); do pgrep -x dockerd >/dev/null || break; sleep 1; done
  else
    log "leaving the Docker engine running: containers that are not Lifeboat's use it"
  fi
fi

# Stand-ins started from this checkout (moto, Azurite, the GCS emulator) outlive a run;
# anything else running from this checkout's venv or lab state goes too.
root_pattern=$(printf '%s' "$ROOT" | sed 's/[][\.*^$+?(){}|]/\\&/g')
pkill -f "${root_pattern}/(\.venv|\.lab)/" 2>/dev/null || true

log "removing the venv, the lab state and the caches"
rm -rf "$ROOT/.venv" "$ROOT/.lab" "$ROOT/.ansible" "$ROOT/.cache" "$ROOT/.pytest_cache" "$ROOT/.hypothesis" \
  "$ROOT/tests/output" "$ROOT/molecule/"*/.molecule
find "$ROOT" -name __pycache__ -type d -prune -exec rm -rf {} +
# Download caches (a newcomer has none) and Ansible's temporary and ansible-test files; the
# collections and roles installed under ~/.ansible stay.
rm -rf "${HOME:?}/.cache/pip" "${HOME:?}/.npm/_cacache" "${HOME:?}/.ansible/tmp" "${HOME:?}/.ansible/test" \
  "${HOME:?}/.cache/molecule" /var/tmp/lifeboat-rootfs.*
log "done: the next make runs as on a new machine"
