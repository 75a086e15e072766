#!/usr/bin/env bash
# ruff over the Python of the collection and the tests; mypy --strict over the library.
# Uses its own virtualenv (cached) so the linters never mix with what the tests run on.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LINT=${STRAW_TEST_CACHE:-/var/tmp/straw-slurm-test}/lint-venv
if [[ ! -x $LINT/bin/antsibull-changelog ]]; then
  python3 -m venv "$LINT"
  "$LINT/bin/pip" install -q --disable-pip-version-check ruff mypy PyJWT dnspython antsibull-changelog 2>"$LINT.log"
fi
cd "$ROOT"
files=(plugins tests)
[[ -e bin/straw ]] && files+=(bin/straw)
"$LINT/bin/ruff" check --quiet "${files[@]}"
(cd plugins/module_utils && "$LINT/bin/mypy" --strict --python-version 3.10 --no-error-summary -p _slurm)
"$LINT/bin/antsibull-changelog" lint
echo "lint: ruff, mypy --strict and the changelog fragments are clean"
