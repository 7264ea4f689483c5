#!/usr/bin/env bash
# Every comparison of issue 17 side by side, each in one hyperfine run (interleaved warm-ups,
# same machine state), then docs/PERFORMANCE.md's generated section and docs/perf.svg.
#
#   1. unlock (Argon2id 64 MiB, t=3, p=4): `sesame list` against the C `argon2` CLI (same m, t, p)
#      and libsodium (same m, t; it has one lane only);
#   2. get / list / rotate (a write: same path as add and rm) through the agent, against vault
#      size (100, 1,000, 10,000 secrets), with automatic generations on (the default);
#   3. 8 parallel writers against one writer doing the same 40 writes.
#
# Needs hyperfine, the C argon2 CLI and libsodium: apt-get install hyperfine argon2 libsodium-dev.
# Usage: benches/perf.sh [path/to/sesame]   (default: builds and uses target/release/sesame)
set -euo pipefail
source "$(dirname "$0")/common.sh"
command -v argon2 >/dev/null && [ -e /usr/include/sodium.h ] \
    || { echo "needs: apt-get install argon2 libsodium-dev" >&2; exit 1; }

work=$(mktemp -d)
out=$work/results
mkdir -p "$out" -m 700 "$work/run"
export XDG_RUNTIME_DIR=$work/run
trap 'for v in "$work"/v*/vault.sesame; do SESAME_VAULT=$v "$bin" lock >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT
cc -O2 -o "$work/sodium_kdf" benches/sodium_kdf.c -lsodium
echo "bench: correct horse battery staple" > "$work/pass"
machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(uname -sr)"

new_vault() { # new_vault DIR SECRETS: a vault with the defaults and SECRETS secrets, unlocked
    mkdir -p -m 700 "$1"
    export SESAME_VAULT=$1/vault.sesame
    SESAME_PASSPHRASE_FILE=$work/pass "$bin" init --no-recovery 2>/dev/null
    python3 -c "
for i in range($2): print(f'KEY_{i:05d}=sk-bench-value-{i:05d}-0123456789abcdef')" > "$1/env"
    SESAME_PASSPHRASE_FILE=$work/pass "$bin" import --dotenv "$1/env" >/dev/null 2>&1
    rm "$1/env"
}

echo "== 1. unlock, Argon2id 64 MiB t=3 p=4"
new_vault "$work/v1" 1
"$bin" lock >/dev/null 2>&1 || true
hyperfine --warmup 3 --runs 30 --export-json "$out/unlock.json" \
    -n sesame "SESAME_PASSPHRASE_FILE=$work/pass $bin list" \
    -n "C argon2 CLI (p=4)" "echo -n bench | argon2 saltsaltsalt -id -m 16 -t 3 -p 4 -r" \
    -n "libsodium (p=1)" "$work/sodium_kdf 65536 3"

echo "== 2. get / list / rotate against vault size"
for n in 100 1000 10000; do
    new_vault "$work/v$n" "$n"
    SESAME_PASSPHRASE_FILE=$work/pass "$bin" unlock --timeout 30m >/dev/null 2>&1
    hyperfine -N --warmup 3 --runs 20 --export-json "$out/ops-$n.json" \
        -n get "$bin get key-00042" \
        -n list "$bin list"
    hyperfine --warmup 3 --runs 20 --export-json "$out/write-$n.json" \
        -n rotate "printf v | $bin rotate --same key-00043"
done

echo "== 3. 8 parallel writers against one (100 secrets, 40 writes)"
cat > "$work/writers.sh" <<'SH'
#!/bin/sh
# writers.sh BIN CLIENTS WRITES [start]: CLIENTS processes, each rotating its own secret WRITES
# times; with `start`, each runs `BIN --version` instead (process start alone: the reference).
for c in $(seq 1 "$2"); do
    if [ "$4" = start ]; then args=--version; else args="rotate key-0000$c"; fi
    ( for i in $(seq 1 "$3"); do printf 'v%s' "$i" | "$1" $args >/dev/null 2>&1; done ) &
done
wait
SH
chmod +x "$work/writers.sh"
export SESAME_VAULT=$work/v100/vault.sesame
hyperfine --warmup 1 --runs 10 --export-json "$out/parallel.json" \
    -n "1 writer x 40" "$work/writers.sh $bin 1 40" \
    -n "8 writers x 5" "$work/writers.sh $bin 8 5" \
    -n "1 x 40 --version" "$work/writers.sh $bin 1 40 start" \
    -n "8 x 5 --version" "$work/writers.sh $bin 8 5 start"

python3 benches/report.py "$out" "$machine, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end" "$($bin --version)"
