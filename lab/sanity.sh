#!/usr/bin/env bash
# ansible-test sanity and units for the collection, on a fresh machine with only
# the Python package index reachable. Safe to run again: every step checks before
# it acts. Everything it creates lives under .lab/sanity (ignored by git):
#   venv/     ansible-core (the version constraints.txt pins) and the unit-test requirements
#   home/     HOME for ansible-test: its sanity venvs (~/.ansible/test/venv) and the pip
#             bootstrap it asks for (~/.ansible/test/cache/get_pip_*.py)
#   build/    the collection built by ansible-galaxy, as it ships
#   ansible_collections/lifeboat/dr/   that artifact extracted, plus tests/unit (ansible-test
#             needs the collection at such a path, a real directory, not .collections' symlink)
#
#   lab/sanity.sh            sanity, then units
#   lab/sanity.sh sanity     only ansible-test sanity
#   lab/sanity.sh units      only ansible-test units
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.lab/sanity"
VENV="$STATE/venv"
TEST_HOME="$STATE/home"
COPY="$STATE/ansible_collections/lifeboat/dr"
PYTHON_VERSION=3.11

log() { printf '[sanity] %s\n' "$*" >&2; }

venv() {
  local stamp="$VENV/.constraints.sha256" want
  want=$(sha256sum "$ROOT/constraints.txt" | cut -d' ' -f1)
  if [ -x "$VENV/bin/ansible-test" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return
  fi
  log "creating .lab/sanity/venv with ansible-core"
  rm -rf "$VENV"
  mkdir -p "$STATE"
  "python$PYTHON_VERSION" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check ansible-core -c "$ROOT/constraints.txt"
  echo "$want" >"$stamp"
}

# ansible-test creates each sanity test's venv without pip, then runs
# ~/.ansible/test/cache/get_pip_<version>.py, which it would download from a host
# that is not reachable here. This stand-in does the same job from the Python
# that every venv has: ensurepip, then pip installs what ansible-test asks for
# (the pinned pip itself) from the package index.
pip_bootstrap() {
  local cache="$TEST_HOME/.ansible/test/cache" version
  version=$("$VENV/bin/python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.11", path="python3.11"))["pip"])
PY
)
  local script="$cache/get_pip_${version//./_}.py"
  mkdir -p "$cache"
  cat >"$script.tmp" <<'PY'
"""Stand-in for get-pip.py: ensurepip, then pip installs the arguments given."""
import subprocess
import sys

options = ("--no-setuptools", "--no-wheel")
args = [a for a in sys.argv[1:] if a not in options]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "-q"] + args)
if "--no-setuptools" in sys.argv:  # ensurepip brings setuptools along; get-pip.py would not
    subprocess.check_call([sys.executable, "-m", "pip", "uninstall", "-q", "-y", "setuptools"])
PY
  if cmp -s "$script.tmp" "$script"; then rm "$script.tmp"; else mv "$script.tmp" "$script"; fi
}

# ansible-test runs on what ships: the built artifact (galaxy.yml's build_ignore
# keeps lab/, bench/, inventories/ and dev files out), extracted afresh each run so
# that deleted files do not linger, plus tests/unit (not shipped: it needs bench/
# and test data). ansible-test's own output (tests/output) is kept. The copy is a
# git repository of its own (nothing committed): ansible-test lists a collection's
# files with git, and would otherwise find this working tree's repository above
# it, where .lab/ is ignored.
copy() {
  rm -rf "$STATE/build"
  mkdir -p "$STATE/build" "$COPY"
  "$VENV/bin/ansible-galaxy" collection build --output-path "$STATE/build" "$ROOT" >/dev/null
  find "$COPY" -mindepth 1 -maxdepth 1 ! -name tests ! -name .git -exec rm -rf {} +
  if [ -d "$COPY/tests" ]; then
    find "$COPY/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
  fi
  [ -d "$COPY/.git" ] || git init -q "$COPY"
  tar -C "$COPY" -xzf "$STATE"/build/lifeboat-dr-*.tar.gz
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard tests/unit \
     | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
     | tar --null -T - -cf -) | tar -C "$COPY" -xf -
}

# The working copy's settings (the Makefile exports ANSIBLE_CONFIG, whose collections
# path leads to this tree rather than the copy) must not reach ansible-test.
ansible_test() {
  (cd "$COPY" && env -u ANSIBLE_CONFIG -u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_ROLES_PATH \
     HOME="$TEST_HOME" PATH="$VENV/bin:$PATH" "$VENV/bin/ansible-test" "$@")
}

sanity() {
  ansible_test sanity --python "$PYTHON_VERSION" --local --color no "$@"
}

units() {
  ansible_test units --python "$PYTHON_VERSION" --local --requirements --color no "$@"
}

case "${1:-all}" in
  sanity) shift; venv; pip_bootstrap; copy; sanity "$@" ;;
  units) shift; venv; copy; units "$@" ;;
  all) venv; pip_bootstrap; copy; sanity; units ;;
  *) echo "usage: $0 [all|sanity|units] [ansible-test options]" >&2; exit 2 ;;
esac
