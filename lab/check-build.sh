#!/usr/bin/env bash
# Build the collection and check the artifact as a user gets it:
#   1. it contains no lab, bench, inventory, molecule, test or dev files;
#   2. it installs into a clean path;
#   3. from there, outside this working copy (and without its ansible.cfg), ansible-doc
#      reads every module and every shipped playbook passes --syntax-check by FQCN;
#   4. ansible-builder finds the collection's Python and system needs in the installed copy
#      (introspect, as an image build does) and makes the execution environment's build context
#      from execution-environment.yml (building the image needs a container registry).
# The dependencies (community.postgresql, ...) come from the `ansible` package in the
# venv, as --no-deps install cannot fetch them without Galaxy.
#
#   lab/check-build.sh [BIN]     BIN: directory with ansible-galaxy, ansible-doc,
#                                ansible-playbook (default .venv/bin)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(cd "${1:-$ROOT/.venv/bin}" && pwd)
BUILD="$ROOT/.lab/build"
# Anything under these must stay out of the artifact (galaxy.yml's build_ignore).
NOT_SHIPPED='^(lab|bench|inventories|molecule|tests/(unit|integration)|\.[^/]*)(/|$)|^(Makefile|ansible\.cfg|requirements\.txt|constraints\.txt|tests/conftest\.py|playbooks/lab_(up|down)\.yml)$'

rm -rf "$BUILD"
mkdir -p "$BUILD"
"$BIN/ansible-galaxy" collection build --output-path "$BUILD" "$ROOT"
artifact=$(ls "$BUILD"/lifeboat-dr-*.tar.gz)
tar -tzf "$artifact" | sed 's|^\./||' | sort >"$BUILD/files.txt"
if grep -E "$NOT_SHIPPED" "$BUILD/files.txt"; then
  echo "the built collection contains the files above, which must not ship: extend build_ignore in galaxy.yml" >&2
  exit 1
fi

"$BIN/ansible-galaxy" collection install --force --no-deps -p "$BUILD/collections" "$artifact"
installed="$BUILD/collections/ansible_collections/lifeboat/dr"
test -f "$installed/roles/backup_agent/meta/argument_specs.yml"

outside=$(mktemp -d /tmp/lifeboat-build-check.XXXXXX)
trap 'rm -rf "$outside"' EXIT
cd "$outside"
unset ANSIBLE_CONFIG ANSIBLE_ROLES_PATH
export ANSIBLE_COLLECTIONS_PATH="$BUILD/collections"

modules=0
for path in "$installed"/plugins/modules/*.py; do
  m=$(basename "$path" .py)
  if ! "$BIN/ansible-doc" -j "lifeboat.dr.$m" | grep -q "\"module\": \"$m\""; then
    echo "ansible-doc cannot read lifeboat.dr.$m from the built collection" >&2
    exit 1
  fi
  modules=$((modules + 1))
done

playbooks=0
for path in "$installed"/playbooks/*.yml; do
  p=$(basename "$path" .yml)
  if ! "$BIN/ansible-playbook" --syntax-check "lifeboat.dr.$p" >"$BUILD/syntax-check-$p.log" 2>&1; then
    cat "$BUILD/syntax-check-$p.log" >&2
    echo "ansible-playbook --syntax-check lifeboat.dr.$p fails from the built collection" >&2
    exit 1
  fi
  playbooks=$((playbooks + 1))
done

"$BIN/ansible-builder" introspect --sanitize "$BUILD/collections" >"$BUILD/introspect.yml"
for needed in "dnspython>=2.6  # from collection lifeboat.dr" "boto3>=1.34  # from collection lifeboat.dr" \
              "matplotlib>=3.8  # from collection lifeboat.dr" \
              "openssh-client [platform:dpkg]  # from collection lifeboat.dr"; do
  if ! grep -qF "$needed" "$BUILD/introspect.yml"; then
    cat "$BUILD/introspect.yml" >&2
    echo "ansible-builder introspect does not find '$needed' in the built collection's meta/execution-environment.yml" >&2
    exit 1
  fi
done
rm -rf "$BUILD/ee-context"
"$BIN/ansible-builder" create --file "$ROOT/execution-environment.yml" --context "$BUILD/ee-context" \
  --output-filename Containerfile >"$BUILD/ee-create.log"
for file in Containerfile _build/requirements.yml _build/scripts/assemble; do
  test -f "$BUILD/ee-context/$file" || { echo "ansible-builder create made no $file" >&2; exit 1; }
done
grep -q "name: lifeboat.dr" "$BUILD/ee-context/_build/requirements.yml"
grep -q "quay.io/ansible/awx-ee" "$BUILD/ee-context/Containerfile"

echo "built $(basename "$artifact"): $(grep -vc '/$' "$BUILD/files.txt") files, none from lab, bench, inventories or dev files;" \
  "$modules modules documented and $playbooks playbooks parse from the installed copy;" \
  "the execution environment's needs introspect and its build context is made"
