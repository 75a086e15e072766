#!/usr/bin/env bash
# Every ansible-core that galaxy.yml claims (requires_ansible: >=2.16.0), each in a cached
# virtualenv on a Python it supports (pyenv's, or python3.X on PATH).
#
#   tests/cores.sh venv VERSION          builds $CACHE/venv-core-VERSION if needed, prints its path
#   tests/cores.sh sanity VERSION...     ansible-test sanity on each, one after the other, timed
#
# A version none of whose Pythons is here (2.20 and 2.21 need 3.12+, which Debian 12 lacks) is
# said and skipped (status 3 for venv).
#
# The venvs also hold PyJWT and dnspython, the controller's side of the collection (the lookup),
# so that tests/integration/test_cores.py can run real plays with the oldest and the newest.
# 2.19 is not here: it is the main virtualenv's (tests/requirements.txt).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${STRAW_TEST_CACHE:-/var/tmp/straw-slurm-test}

# The Pythons each version runs on, preferred first (spread over 3.10-3.13 so that the sanity
# tests' own import and compile checks see several of them).
pythons_for() {
  case $1 in
    2.16) echo 3.10 3.11 3.12 ;;
    2.17) echo 3.12 3.11 3.10 ;;
    2.18) echo 3.13 3.12 3.11 ;;
    2.20) echo 3.12 3.13 ;;
    2.21) echo 3.13 3.12 ;;
    *) echo "cores: no Python known for ansible-core $1" >&2; return 2 ;;
  esac
}

find_python() {
  local minor candidate
  for minor in $(pythons_for "$1"); do
    for candidate in "$HOME"/.pyenv/versions/"$minor".*/bin/python"$minor" "$(command -v "python$minor" || true)"; do
      [[ -n $candidate && -x $candidate ]] && { echo "$candidate"; return 0; }
    done
  done
  return 1
}

core_venv() {
  local version=$1 venv=$CACHE/venv-core-$1 python next
  if [[ ! -x $venv/bin/ansible-test ]] || ! "$venv/bin/python" -c 'import jwt, dns' 2>/dev/null; then
    python=$(find_python "$version") || {
      echo "cores: no Python among $(pythons_for "$version") for ansible-core $version" >&2; return 3; }
    next=${version%.*}.$(( ${version#*.} + 1 ))
    echo "cores: preparing $venv ($("$python" -V))" >&2
    rm -rf "$venv"
    if ! { "$python" -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check \
             "ansible-core>=$version,<$next" 'PyJWT>=2.8' 'dnspython>=2.3'; } 2>"$venv.log"; then
      echo "cores: could not prepare $venv (see $venv.log)" >&2
      rm -rf "$venv"
      return 1
    fi
  fi
  echo "$venv"
}

case ${1:-} in
  venv) core_venv "$2" ;;
  sanity)
    shift
    for version in "$@"; do
      status=0
      venv=$(core_venv "$version") || status=$?
      if (( status == 3 )); then
        echo "cores: no sanity run on ansible-core $version: this machine has no Python it runs on"
        continue
      fi
      (( status == 0 )) || exit "$status"
      start=$SECONDS
      echo "cores: ansible-test sanity, ansible-core $version on $("$venv/bin/python" -V)"
      "$ROOT/tests/ansible_test.sh" "$venv" sanity
      echo "cores: ansible-core $version clean in $(( SECONDS - start ))s"
    done ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
