#!/usr/bin/env bash
# Runs the library's unit tests on every target Python from 3.8 to 3.13 that this machine
# has (pyenv's, or python3.X on PATH), each in its own cached virtualenv with pytest.
# The module runs on the target's interpreter, so the library must work on all of them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${STRAW_TEST_CACHE:-/var/tmp/straw-slurm-test}
cd "$ROOT"
ran=() missing=()
for minor in 8 9 10 11 12 13; do
  py=""
  for candidate in "$HOME"/.pyenv/versions/3."$minor".*/bin/python3."$minor" "$(command -v "python3.$minor" || true)"; do
    [[ -n $candidate && -x $candidate ]] && { py=$candidate; break; }
  done
  if [[ -z $py ]]; then missing+=("3.$minor"); continue; fi
  venv=$CACHE/py3.$minor
  if [[ ! -x $venv/bin/pytest ]]; then
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check pytest hypothesis pycryptodome 2>"$venv.log"
  fi
  echo "pythons: unit tests on $("$venv/bin/python" -V)"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit | tail -1
  ran+=("3.$minor")
done
echo "pythons: ran on ${ran[*]:-none}${missing:+; not on this machine: ${missing[*]}}"
