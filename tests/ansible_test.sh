#!/usr/bin/env bash
# ansible-test on a copy of the collection, offline.
#   tests/ansible_test.sh VENV sanity|units [ansible-test options]
# VENV is a virtualenv with ansible-core. ansible-test must run from
# .../ansible_collections/straw/slurm, so the files git knows are copied to such a tree in the
# cache. Its sanity virtualenvs are bootstrapped with a get-pip script it would download;
# tests/get_pip_offline.py stands in for it (see there).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=$1 COMMAND=$2; shift 2
CACHE=${STRAW_TEST_CACHE:-/var/tmp/straw-slurm-test}
# A tree of its own for each run, so that several ansible-core versions can run at once.
mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/ansible-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
TREE=$WORK/ansible_collections/straw/slurm

pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',*$/\1/p" \
  "$("$VENV/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -1)
[[ -n $pip_version ]] || { echo "sanity: cannot tell which pip ansible-test wants" >&2; exit 2; }
mkdir -p ~/.ansible/test/cache
# The pip settings in force here (from PIP_* variables and pip's config files), for the shim.
settings=$("$VENV/bin/python" - <<'PY'
import os, subprocess, sys
wanted = ("index-url", "extra-index-url", "find-links", "cert", "trusted-host", "timeout")
found = {}
out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], stdout=subprocess.PIPE,
                     universal_newlines=True).stdout
for line in out.splitlines():
    key, _, value = line.partition("=")
    name = key.split(".")[-1]
    if name in wanted or (name == "default-timeout"):
        found["timeout" if name == "default-timeout" else name] = value.strip().strip("'")
for name in wanted:
    env = os.environ.get("PIP_" + name.upper().replace("-", "_"))
    if env:
        found[name] = env
print(repr(found))
PY
)
# Written aside and renamed, as another run may be reading it.
shim=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
sed "s|^SETTINGS = {}  # filled in by tests/sanity.sh|SETTINGS = $settings|" "$ROOT/tests/get_pip_offline.py" \
  > "$shim.$$" && mv -f "$shim.$$" "$shim"

mkdir -p "$TREE"
(cd "$ROOT" && git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
  if [[ -e $f || -L $f ]]; then cp --parents -P "$f" "$TREE/"; fi
done)
# ansible-test reads the git metadata to decide what belongs to the collection.
(cd "$TREE" && git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm snapshot)
cd "$TREE"
python=$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
extra=()
[[ $COMMAND == units ]] && extra=(--requirements)  # tests/unit/requirements.txt into its venv
"$VENV/bin/ansible-test" "$COMMAND" --color no --python "$python" "${extra[@]}" "$@"
