# shellcheck shell=bash
# Sourced by tests/run and ./demo: installs what they need on a Debian machine (as root)
# and sets VENV, the virtualenv with ansible-core, PyJWT and the test tools.
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CACHE=${STRAW_TEST_CACHE:-/var/tmp/straw-slurm-test}
VENV=$CACHE/venv
export PYTHONDONTWRITEBYTECODE=1
mkdir -p "$CACHE"

straw_need_apt=()
command -v mmdebstrap >/dev/null || straw_need_apt+=(mmdebstrap)
command -v ss >/dev/null || straw_need_apt+=(iproute2)
command -v findmnt >/dev/null || straw_need_apt+=(util-linux)
command -v shellcheck >/dev/null || straw_need_apt+=(shellcheck)
command -v openssl >/dev/null || straw_need_apt+=(openssl)
command -v git >/dev/null || straw_need_apt+=(git)
command -v buildah >/dev/null || straw_need_apt+=(buildah)  # the container examples' tests
# systemd-nspawn boots a real systemd for the units' tests (tests/integration/test_units_systemd.py).
command -v systemd-nspawn >/dev/null || straw_need_apt+=(systemd-container)
# Real peers that are not slurmctld, for tests/integration/test_causes.py (run on private
# ports with their own configuration; the packages' own services are not used).
[[ -x /usr/sbin/sshd ]] || straw_need_apt+=(openssh-server)
[[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null || straw_need_apt+=(nginx)
# munge and unmunge check the credentials we make from the key (tests/unit/test_munge_key.py
# runs a private munged on a socket of its own; the package's service is not used).
[[ -x /usr/sbin/munged ]] || straw_need_apt+=(munge)
PY=${STRAW_PYTHON:-$(command -v python3 || true)}
# A fresh Debian may have no python3 at all, and Debian's python3 has no ensurepip (so no
# venv with pip) without python3-venv.
if [[ -z $PY ]]; then
  straw_need_apt+=(python3 python3-venv)
elif ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
  straw_need_apt+=(python3-venv)
fi
if (( ${#straw_need_apt[@]} )); then
  echo "setup: installing ${straw_need_apt[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${straw_need_apt[@]}" >/dev/null
  PY=${STRAW_PYTHON:-$(command -v python3)}
fi

straw_stamp=$(sha256sum < "$ROOT/tests/requirements.txt" | cut -c1-16)
if [[ ! -x $VENV/bin/python || $(cat "$VENV/.stamp" 2>/dev/null) != "$straw_stamp" ]]; then
  echo "setup: preparing $VENV" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/tests/requirements.txt" 2>"$VENV.log"
  echo "$straw_stamp" > "$VENV/.stamp"
fi
export PATH=$VENV/bin:$PATH

# ansible-playbook finds this checkout as the collection straw.slurm.
STRAW_COLLECTIONS=$CACHE/collections
mkdir -p "$STRAW_COLLECTIONS/ansible_collections/straw"
ln -sfn "$ROOT" "$STRAW_COLLECTIONS/ansible_collections/straw/slurm"
