#!/usr/bin/env bash
# galaxy-importer, with the certification settings of galaxy-importer.cfg, on the collection
# tarball built from this checkout. Fails on any error and on any warning but those named
# below, each allowed only while its cause is there. Uses its own virtualenv (cached).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${STRAW_TEST_CACHE:-/var/tmp/straw-slurm-test}
IMPORTER=$CACHE/importer-venv
if [[ ! -x $IMPORTER/bin/python ]] || ! "$IMPORTER/bin/python" -c 'import galaxy_importer' 2>/dev/null; then
  python3 -m venv "$IMPORTER"
  "$IMPORTER/bin/pip" install -q --disable-pip-version-check galaxy-importer 2>"$IMPORTER.log"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$IMPORTER/bin/ansible-galaxy" collection build --output-path "$work/built" "$ROOT" >/dev/null
tarball=$(ls "$work"/built/straw-slurm-*.tar.gz)
allowed=()
# Until the first release: the version is below 1.0.0, and antsibull-changelog has not made
# changelogs/changelog.yaml yet. Everything else is checked meanwhile.
if "$IMPORTER/bin/python" - "$ROOT/galaxy.yml" <<'PY'
import sys, yaml
version = yaml.safe_load(open(sys.argv[1]))["version"]
sys.exit(0 if int(version.split(".")[0]) < 1 else 1)
PY
then
  echo "importer: galaxy.yml's version is below 1.0.0, which certification refuses: the rest is checked" >&2
  export GALAXY_IMPORTER_REQUIRE_V1_OR_GREATER=false
fi
[[ -e $ROOT/changelogs/changelog.yaml ]] || allowed+=("No changelog found")
# Reported for any ignore file at all; the sanity ignores are reviewed with ansible-test.
allowed+=("Ignore files skip ansible-test sanity tests")
# Galaxy requires `repository`, and the project has no public URL yet: the importer reads a
# copy of the tarball whose MANIFEST.json names a stand-in (never shipped) until galaxy.yml
# has the real one.
if ! grep -q '^repository:' "$ROOT/galaxy.yml"; then
  echo "importer: galaxy.yml has no repository, which Galaxy requires: the rest is checked" >&2
  mkdir "$work/tree" "$work/standin"
  tar -xzf "$tarball" -C "$work/tree"
  "$IMPORTER/bin/python" - "$work/tree/MANIFEST.json" <<'PY'
import json, sys
with open(sys.argv[1]) as handle:
    manifest = json.load(handle)
manifest["collection_info"]["repository"] = "https://repository.invalid/straw.slurm"
with open(sys.argv[1], "w") as handle:
    json.dump(manifest, handle, indent=True)
PY
  tar -czf "$work/standin/${tarball##*/}" -C "$work/tree" .
  tarball=$work/standin/${tarball##*/}
fi
status=0
(cd "$work" && GALAXY_IMPORTER_CONFIG=$ROOT/galaxy-importer.cfg PATH=$IMPORTER/bin:$PATH \
  "$IMPORTER/bin/python" -m galaxy_importer.main "$tarball") >"$work/out" 2>&1 || status=$?
problems=$(grep -E '^(ERROR|WARNING|CRITICAL)' "$work/out" || true)
for pattern in "${allowed[@]}"; do
  problems=$(grep -v -e "$pattern" <<<"$problems" || true)
done
if (( status != 0 )) || [[ -n $problems ]]; then
  cat "$work/out" >&2
  echo "importer: galaxy-importer failed (status $status)${problems:+; not allowed:}" >&2
  [[ -z $problems ]] || echo "$problems" >&2
  exit 1
fi
grep -E '^(WARNING)' "$work/out" | sed 's/^/importer: allowed for now: /' >&2 || true
echo "importer: galaxy-importer (certification settings) passes"
