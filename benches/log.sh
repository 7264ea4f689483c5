#!/usr/bin/env bash
# The usage log at scale (issue 17), through the agent:
#
#   1. `list`, `log`, `log LABEL` and `get` on a 100-secret vault whose log holds 10,000 usage
#      records (made by 10,000 `get`s, 100 a label);
#   2. `run --all -- true` on a 10,000-secret vault, and whether it logged its one record.
#
# Prints hyperfine's tables and the log's size. Needs hyperfine (apt-get install hyperfine).
# Usage: benches/log.sh [path/to/sesame]   (default: builds and uses target/release/sesame)
set -euo pipefail
source "$(dirname "$0")/common.sh"

work=$(mktemp -d)
mkdir -p -m 700 "$work/run"
export XDG_RUNTIME_DIR=$work/run
trap 'for v in "$work"/v*/vault.sesame; do SESAME_VAULT=$v "$bin" lock >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT
echo "bench: correct horse battery staple" > "$work/pass"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(uname -sr)"
echo "sesame: $bin ($("$bin" --version))"

new_vault() { # new_vault DIR SECRETS: a vault with SECRETS secrets, unlocked in the agent
    mkdir -p -m 700 "$1"
    export SESAME_VAULT=$1/vault.sesame
    SESAME_PASSPHRASE_FILE=$work/pass "$bin" init --no-recovery --kdf-memory 8MiB \
        --kdf-iterations 1 2>/dev/null
    python3 -c "
for i in range($2): print(f'KEY_{i:05d}=sk-bench-value-{i:05d}-0123456789abcdef')" > "$1/env"
    SESAME_PASSPHRASE_FILE=$work/pass "$bin" import --dotenv "$1/env" >/dev/null 2>&1
    rm "$1/env"
    SESAME_PASSPHRASE_FILE=$work/pass "$bin" unlock --timeout 30m >/dev/null 2>&1
}

echo "== 1. a 10,000-record usage log"
new_vault "$work/v1" 100
for i in $(seq 0 9999); do
    "$bin" get "key-000$(printf %02d $((i % 100)))" >/dev/null 2>&1
done
log=$SESAME_VAULT.log
echo "log: $(stat -c %s "$log") bytes; $("$bin" log --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') rows shown by log"
hyperfine -N --warmup 3 --runs 30 \
    -n list "$bin list" \
    -n log "$bin log" \
    -n "log LABEL" "$bin log key-00042" \
    -n get "$bin get key-00042"

echo "== 2. run --all on 10,000 labels"
new_vault "$work/v2" 10000
hyperfine -N --warmup 1 --runs 10 -n "run --all -- true" "$bin run --all -- true"
"$bin" run --all -- true 2> "$work/err"
echo "stderr of run --all: $(head -c 300 "$work/err")"
"$bin" log --json 2>/dev/null | python3 -c '
import json, sys
runs = [e for e in json.load(sys.stdin) if e["action"] == "run"]
newest = len(runs[0]["labels"]) if runs else 0
print(f"run records: {len(runs)}; labels in the newest: {newest}")'
echo "log: $(stat -c %s "$SESAME_VAULT.log") bytes"
