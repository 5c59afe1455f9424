#!/usr/bin/env bash
# make test: every check of the project, cheapest first. The lab images are built in the background
# meanwhile (debootstrap waits on the mirror and the disk, lint and the unit tests on the CPU), sanity and
# the unit tests run side by side, and the integration tests wait for the images. Each step's time is
# printed at the end, also when one fails.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
MAKE=${MAKE:-make}
mkdir -p .lab
TIMES=()
IMAGES_PID=

step() {
  local name=$1 start rc=0
  shift
  start=$(date +%s)
  printf '[test] %s\n' "$name" >&2
  "$@" || rc=$?  # set -e would leave before the time is kept
  TIMES+=("$(printf '%-12s %5d s  exit %d' "$name" $(($(date +%s) - start)) "$rc")")
  return "$rc"
}

finish() {
  local rc=$?
  [ -n "$IMAGES_PID" ] && kill "$IMAGES_PID" 2>/dev/null
  printf '[test] %s\n' "${TIMES[@]}" >&2
  exit "$rc"
}
trap finish EXIT

set -e
step host lab/setup.sh host
images_start=$(date +%s)
lab/setup.sh images >.lab/images.log 2>&1 &
IMAGES_PID=$!
step lint "$MAKE" --no-print-directory lint
step build "$MAKE" --no-print-directory build
# ansible-test sanity and the unit tests each keep one core busy: side by side, each into its own log,
# printed when both are done.
parallel() {
  local pids=() names=() rc=0 name i
  for name in "$@"; do
    "$MAKE" --no-print-directory "$name" >".lab/test-$name.log" 2>&1 &
    pids+=($!)
    names+=("$name")
  done
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      rc=1
      printf '[test] %s FAILED (its output follows)\n' "${names[$i]}" >&2
    fi
    cat ".lab/test-${names[$i]}.log" >&2
  done
  return "$rc"
}
step "sanity+unit" parallel sanity unit
printf '[test] waiting for the lab images (.lab/images.log)\n' >&2
if ! wait "$IMAGES_PID"; then
  IMAGES_PID=
  cat .lab/images.log >&2
  TIMES+=("$(printf '%-12s %5d s  exit 1 (in the background)' images $(($(date +%s) - images_start)))")
  exit 1
fi
IMAGES_PID=
TIMES+=("$(printf '%-12s %5d s  exit 0 (in the background, until its end)' images $(($(date +%s) - images_start)))")
step integration "$MAKE" --no-print-directory integration
step molecule "$MAKE" --no-print-directory molecule
