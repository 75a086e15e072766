#!/usr/bin/env bash
# Records credentials made by a real munged, for tests/unit/test_munge_key.py.
#
# Not run by the tests: they read vectors.json, so they pass without munge installed.
# Rerun by hand, as root with Debian's `munge` package installed, to add cases:
#     tests/unit/data/munge/make_vectors.sh
# It reuses munge.key.b64 here (made once with mungekey) so older vectors stay valid, starts a
# private munged on a socket in a temporary directory, encodes each case below with `munge`
# (as another uid where the case says so), reads what munged reports back with
# `unmunge -N`, writes vectors.json, and stops that munged (by its pid) on exit.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/munge-vectors.XXXXXX)
chmod 0755 "$WORK"  # munged wants its socket directory reachable by every uid
cleanup() {
  if [[ -s $WORK/pid ]]; then
    kill "$(cat "$WORK/pid")" 2>/dev/null || true
    sleep 1
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

KEY=$(mktemp)
base64 -d "$HERE/munge.key.b64" > "$KEY"
[[ -s $KEY ]] || mungekey --create --keyfile="$KEY" --bits=1024
install -m 0400 "$KEY" "$WORK/munge.key"
munged --force --key-file="$WORK/munge.key" --socket="$WORK/sock" --pid-file="$WORK/pid" \
  --log-file="$WORK/log" --seed-file="$WORK/seed"

# Payloads, readable by the other uids.
printf 'hello from munged\n' > "$WORK/text"
for _ in $(seq 40); do printf 'PartitionName=debug Nodes=node[001-128] Default=YES\n'; done > "$WORK/repetitive"
# Slurm's body hash: type 0x02 (K12) then 32 bytes; these 32 are SHA-256 of a fixed string.
{ printf '\002'; printf 'REQUEST_CONFIG body' | sha256sum | cut -c1-64 | xxd -r -p; } > "$WORK/body_hash"
head -c 1000 /dev/urandom > "$WORK/random1000"
mkdir -m 1777 "$WORK/drop"  # where unmunge, run as another uid, writes what it decoded
chmod 0644 "$WORK"/text "$WORK"/repetitive "$WORK"/body_hash "$WORK"/random1000

# name | munge options | payload file (- for none) | encode as uid:gid (- for root) | decode as
CASES='
default_aes128||text|-|-
aes256|-c aes256|text|-|-
cipher_none|-c none|text|-|-
mac_md5|-m md5|text|-|-
mac_sha1|-m sha1|text|-|-
mac_sha512|-m sha512|text|-|-
mac_ripemd160|-m ripemd160|text|-|-
zlib|-z zlib|repetitive|-|-
bzlib|-z bzlib|repetitive|-|-
aes256_sha512_zlib|-c aes256 -m sha512 -z zlib|repetitive|-|-
restricted_uid|-u 1000 -g 1000|text|-|1000:1000
slurm_body_hash|-c none|body_hash|-|-
slurm_push|-u 64030|body_hash|-|64030:64030
no_payload|-n|-|-|-
ttl_60|-t 60|text|-|-
other_user|-c aes256|text|1234:5678|-
random_1000|-z zlib|random1000|-|-
blowfish|-c blowfish|text|-|-
cast5|-c cast5|text|-|-
'
as_user() {  # as_user uid:gid|- command...
  local who=$1; shift
  if [[ $who == - ]]; then "$@"; else setpriv --reuid="${who%:*}" --regid="${who#*:}" --clear-groups "$@"; fi
}

: > "$WORK/lines"
while IFS='|' read -r name options payload encoder decoder; do
  [[ -n $name ]] || continue
  input=(-n); [[ $payload == - ]] || input=(-i "$WORK/$payload")
  # shellcheck disable=SC2086 # options are words
  credential=$(as_user "$encoder" munge -S "$WORK/sock" $options "${input[@]}")
  printf '%s' "$credential" > "$WORK/cred"; chmod 0644 "$WORK/cred"
  # Every case, blowfish and cast5 too (kept to test the refusal), is checked genuine here.
  as_user "$decoder" unmunge -S "$WORK/sock" -N -i "$WORK/cred" -m "$WORK/drop/meta.$name" \
    -o "$WORK/drop/out.$name"
  python3 - "$name" "$credential" "$WORK/drop/meta.$name" "$WORK/drop/out.$name" >> "$WORK/lines" <<'PY'
import json, sys
name, credential, meta_path, out_path = sys.argv[1:]
meta = dict(line.split(":", 1) for line in open(meta_path).read().splitlines() if ":" in line)
meta = {k.strip(): v.strip() for k, v in meta.items()}
assert meta["STATUS"] == "0", meta
print(json.dumps({
    "name": name, "credential": credential, "payload_hex": open(out_path, "rb").read().hex(),
    "uid": int(meta["UID"]), "gid": int(meta["GID"]),
    "restrict_uid": int(meta.get("UID_RESTRICTION", 4294967295)),
    "restrict_gid": int(meta.get("GID_RESTRICTION", 4294967295)),
    "cipher": int(meta["CIPHER"]), "mac": int(meta["MAC"]), "zip": int(meta["ZIP"]),
    "encode_time": int(meta["ENCODE_TIME"]), "ttl": int(meta["TTL"]), "addr": meta["ENCODE_HOST"],
}))
PY
done <<< "$CASES"

python3 - "$WORK/lines" "$(munged --version 2>&1 | head -1)" > "$HERE/vectors.json" <<'PY'
import json, sys
vectors = [json.loads(line) for line in open(sys.argv[1])]
json.dump({"made_by": sys.argv[2], "vectors": vectors}, sys.stdout, indent=1)
print()
PY
echo "make_vectors: wrote $(grep -c '"name"' "$HERE/vectors.json") vectors to $HERE/vectors.json"
