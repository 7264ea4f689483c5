#!/usr/bin/env bash
# `merge` of two 10,000-secret copies side by side with a plain `add` at that size, in one run
# (needs hyperfine, python3): each copy changed apart (on "the laptop": 100 rotations, 100 new
# secrets, 50 removals; here: 100 other rotations), both opened through this vault's agent, the
# merge written through the one transaction. Aim: merge <= 300 ms. Also `get` at 10,000 secrets
# against 10, for the per-secret sealing question of docs/FORMAT.md.
#
# Each timed run first puts this copy back as it was (`cp`, a few ms, in both commands alike), so
# every run merges the same changes.
#
# Usage: benches/merge.sh [path/to/sesame]   (default: builds and uses target/release/sesame)
set -euo pipefail
source "$(dirname "$0")/common.sh"
needs python3

bench_sandbox "$work/desk/vault.sesame"
trap '"$bin" lock --all >/dev/null 2>&1; rm -rf "$work"' EXIT
export SESAME_PASSPHRASE_FILE=$work/pass
python3 - "$work" <<'PY'
import secrets, sys
work = sys.argv[1]
with open(f"{work}/all.env", "w") as f:
    for i in range(10000):
        f.write(f"KEY_{i:05d}=sk-{secrets.token_hex(20)}\n")
with open(f"{work}/few.env", "w") as f:
    for i in range(10):
        f.write(f"KEY_{i:05d}=sk-{secrets.token_hex(20)}\n")
PY
init="init --kdf-memory 8MiB --kdf-iterations 1 --kdf-parallelism 1 --no-recovery"
"$bin" $init 2>/dev/null
"$bin" import --dotenv "$work/all.env" 2>/dev/null
mkdir -p "$work/laptop"
cp "$SESAME_VAULT" "$work/laptop/vault.sesame"
laptop=$work/laptop/vault.sesame
"$bin" unlock --timeout 30m 2>/dev/null
for i in $(seq -w 0 99); do
    echo "sk-laptop-$i" | "$bin" --vault "$laptop" rotate "key-000$i" 2>/dev/null
    echo "sk-new-$i" | "$bin" --vault "$laptop" add "laptop/new$i" 2>/dev/null
    echo "sk-desk-$i" | "$bin" rotate "key-001$i" 2>/dev/null
done
for i in $(seq -w 0 49); do
    "$bin" --vault "$laptop" rm --yes "key-002$i" 2>/dev/null
done
cp "$SESAME_VAULT" "$work/desk.before"
# A vault of 10 secrets, for `get` at a small size.
SESAME_VAULT=$work/few/vault.sesame "$bin" $init 2>/dev/null
SESAME_VAULT=$work/few/vault.sesame "$bin" import --dotenv "$work/few.env" 2>/dev/null
SESAME_VAULT=$work/few/vault.sesame "$bin" unlock --timeout 30m 2>/dev/null

echo "== merge of two 10,000-secret copies vs add, both through the agent"
hyperfine --runs 10 --warmup 1 \
    -n "merge OTHER (two 10,000-secret copies)" \
    "cp $work/desk.before $SESAME_VAULT && $bin merge $laptop >/dev/null 2>&1" \
    -n "add at 10,000 secrets" \
    "cp $work/desk.before $SESAME_VAULT && echo v | $bin add bench/new >/dev/null 2>&1"
echo "== get at 10,000 secrets vs at 10, through the agent"
hyperfine -N --runs 20 --warmup 2 \
    -n "get at 10,000 secrets" "$bin get key-05000" \
    -n "get at 10 secrets" "env SESAME_VAULT=$work/few/vault.sesame $bin get key-00005"
