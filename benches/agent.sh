#!/usr/bin/env bash
# The agent's benefit, side by side in one run (needs hyperfine): `sesame get` and
# `sesame run -- true` on a 1,000-secret vault with the default Argon2 parameters, through the
# agent and with the passphrase, against `true` alone.
#
# Usage: benches/agent.sh [path/to/sesame]   (default: builds and uses target/release/sesame)
set -euo pipefail
source "$(dirname "$0")/common.sh"

bench_sandbox
trap '"$bin" lock --all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
SESAME_PASSPHRASE_FILE=$work/pass "$bin" init --no-recovery 2>/dev/null
SESAME_PASSPHRASE_FILE=$work/pass "$bin" unlock --timeout 30m 2>/dev/null
for i in $(seq -w 1 1000); do
    printf 'sk-bench-value-%s-0123456789abcdef' "$i" | "$bin" add "bench/key$i" 2>/dev/null
done
echo "vault: $(stat -c %s "$SESAME_VAULT") bytes, 1000 secrets, Argon2id defaults (64 MiB, t=3, p=4)"

hyperfine -N --warmup 5 --runs 50 \
    "true" \
    "$bin get bench/key0500" \
    "$bin run --env K=bench/key0500 -- true"
"$bin" lock >/dev/null 2>&1
hyperfine --warmup 2 --runs 10 \
    "SESAME_PASSPHRASE_FILE=$work/pass $bin get bench/key0500" \
    "SESAME_PASSPHRASE_FILE=$work/pass $bin run --env K=bench/key0500 -- true"
