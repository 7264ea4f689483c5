#!/usr/bin/env bash
# Benchmarks for `sesame run`, side by side in one run (needs hyperfine: apt-get install hyperfine).
#
#   1. start-up overhead: `sesame run -- true` against `true` alone, with the smallest Argon2
#      parameters so the key derivation does not hide the overhead (and, for reference, the cost
#      of that derivation on its own: `sesame list` on the same vault);
#   2. --mask throughput: 200 MB through `sesame run --mask -- cat` against the same bytes through
#      a pipe (`cat | cat`: the path masking takes, child -> pipe -> parent -> stdout) and, for
#      reference, `cat` alone (which may use splice/sendfile and never touch the data).
#
# Usage: benches/run.sh [path/to/sesame]   (default: builds and uses target/release/sesame)
set -euo pipefail
source "$(dirname "$0")/common.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SESAME_VAULT=$work/vault.sesame SESAME_PASSPHRASE='bench: correct horse battery staple'
"$bin" init --kdf-memory 8MiB --kdf-iterations 1 --kdf-parallelism 1 --no-recovery 2>/dev/null
printf 'sk-bench-0123456789abcdef' | "$bin" add bench/key 2>/dev/null

echo "== start-up overhead (Argon2 m=8MiB t=1 p=1)"
hyperfine --warmup 5 --runs 50 -N \
    "true" \
    "$bin list" \
    "$bin run --env K=bench/key -- true" \
    "$bin run --mask --env K=bench/key -- true"

echo "== --mask throughput, 200 MB of base64 lines, the value in one line of every thousand"
head -c 150000000 /dev/urandom | base64 -w 100 \
    | awk 'NR % 1000 == 0 { print "token sk-bench-0123456789abcdef here"; next } { print }' \
    > "$work/stream"
size=$(stat -c %s "$work/stream")
echo "stream: $size bytes"
hyperfine --warmup 2 --runs 10 \
    "cat $work/stream > /dev/null" \
    "cat $work/stream | cat > /dev/null" \
    "$bin run --mask --env K=bench/key -- cat $work/stream > /dev/null"
echo "MB/s = $size / 1e6 / mean seconds"
