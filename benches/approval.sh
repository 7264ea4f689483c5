#!/usr/bin/env bash
# What an approval costs besides the person's reaction (needs hyperfine and python3): `sesame get`
# of a confirmed secret, answered `y` at once by an automatic console (benches/auto_yes.py), against
# `get` of an unconfirmed secret of the same vault, both through the agent. Target: at most 5 ms
# added.
#
# Usage: benches/approval.sh [path/to/sesame]   (default: builds and uses target/release/sesame)
set -euo pipefail
source "$(dirname "$0")/common.sh"
needs python3

bench_sandbox
trap '"$bin" lock --all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
SESAME_PASSPHRASE_FILE=$work/pass "$bin" init --no-recovery 2>/dev/null
for i in $(seq -w 1 100); do
    printf 'sk-bench-value-%s-0123456789abcdef' "$i" |
        SESAME_PASSPHRASE_FILE=$work/pass "$bin" add "bench/key$i" 2>/dev/null
done
SESAME_PASSPHRASE_FILE=$work/pass "$bin" edit bench/key050 --confirm 2>/dev/null
echo "vault: $(stat -c %s "$SESAME_VAULT") bytes, 100 secrets, bench/key050 confirmed"

SESAME_PASSPHRASE_FILE=$work/pass python3 benches/auto_yes.py "$bin" > "$work/console.log" 2>&1 &
for _ in $(seq 100); do
    grep -q "console ready" "$work/console.log" 2>/dev/null && break
    sleep 0.1
done
grep -q "console ready" "$work/console.log" || { echo "the console did not start" >&2; exit 1; }
"$bin" get bench/key050 >/dev/null # one approval end to end before measuring

echo "== get of a confirmed secret, approved at once (A) vs get of an unconfirmed one (B)"
hyperfine -N --runs 30 --warmup 3 -n confirmed "$bin get bench/key050" -n unconfirmed "$bin get bench/key051"
"$bin" lock >/dev/null 2>&1
wait
