#!/usr/bin/env bash
# ruff over the Python of the collection, the tests and the benchmarks; mypy --strict over the library.
# Uses its own virtualenv (cached) so the linters never mix with what the tests run on.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LINT=${STRAW_TEST_CACHE:-/var/tmp/straw-slurm-test}/lint-venv
if [[ ! -x $LINT/bin/ansible-lint ]]; then
  python3 -m venv "$LINT"
  "$LINT/bin/pip" install -q --disable-pip-version-check ruff mypy PyJWT dnspython antsibull-changelog \
    ansible-lint 2>"$LINT.log"
fi
[[ -x $LINT/bin/pycodestyle ]] || "$LINT/bin/pip" install -q --disable-pip-version-check pycodestyle 2>>"$LINT.log"
# yamllint for examples/ (the Kubernetes manifest); ansible-builder for the container tests.
[[ -x $LINT/bin/yamllint && -x $LINT/bin/ansible-builder ]] || \
  "$LINT/bin/pip" install -q --disable-pip-version-check yamllint ansible-builder 2>>"$LINT.log"
cd "$ROOT"
files=(plugins tests benchmarks benchmarks/run benchmarks/soak)
[[ -e bin/straw ]] && files+=(bin/straw)
"$LINT/bin/ruff" check --quiet "${files[@]}"
# The same pep8 rules as ansible-test's sanity test, seconds earlier.
"$LINT/bin/pycodestyle" --max-line-length 160 --ignore E402,W503,W504,E741 plugins tests benchmarks
(cd plugins/module_utils && "$LINT/bin/mypy" --strict --python-version 3.10 --no-error-summary -p _slurm)
"$LINT/bin/antsibull-changelog" lint
"$LINT/bin/yamllint" --strict -c examples/.yamllint examples

# ansible-lint (production profile, .ansible-lint) over the whole repository and every YAML
# example in the READMEs, with this checkout as the collection straw.slurm.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/collections/ansible_collections/straw" "$work/examples"
ln -s "$ROOT" "$work/collections/ansible_collections/straw/slurm"
"$LINT/bin/python" - "$work/examples" README.md roles/configless/README.md <<'PY'
import re, sys
out = sys.argv[1]
for source in sys.argv[2:]:
    with open(source) as handle:
        blocks = re.findall(r"```yaml\n(.*?)```", handle.read(), re.S)
    for index, block in enumerate(blocks):
        name = "%s/%s-%d.yml" % (out, source.replace("/", "_").replace(".md", ""), index)
        with open(name, "w") as handle:
            handle.write("---\n" + block)
PY
ANSIBLE_COLLECTIONS_PATH=$work/collections PATH=$LINT/bin:$PATH \
  "$LINT/bin/ansible-lint" --profile production --offline --nocolor -q . "$work"/examples/*.yml
echo "lint: ruff, pycodestyle, mypy --strict, the changelog fragments, yamllint (examples) and ansible-lint (production) are clean"
