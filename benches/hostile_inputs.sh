#!/usr/bin/env bash
# Time and peak memory of the hostile inputs of audit 2, item 12 (docs/SECURITY.md, "Audit 2"):
# a 1 GiB blob of zeros for `scan --git`, a 512 MiB HISTFILE, a 256 MiB file without the magic
# for `verify` and `restore`, 20 sparse 256 MiB "copies" in backups/auto for `backups` and
# `passwd` and for the pruning after a write. Each through a running agent, so no Argon2 runs in the measured process (but
# passwd's). Needs GNU time (/usr/bin/time -v); uses about 1.6 GiB of disk, mostly sparse.
#
# Usage: benches/hostile_inputs.sh path/to/sesame
set -uo pipefail
bin=${1:?usage: benches/hostile_inputs.sh path/to/sesame}
work=$(mktemp -d)
export HOME=$work/home XDG_RUNTIME_DIR=$work/run SESAME_VAULT=$work/data/vault.sesame
export SESAME_PASSPHRASE='correct horse battery staple'
mkdir -p "$HOME" && mkdir -m 700 "$XDG_RUNTIME_DIR"
trap '"$bin" lock --all >/dev/null 2>&1; rm -rf "$work"' EXIT
fast=(--kdf-memory 8MiB --kdf-iterations 1 --kdf-parallelism 1)
"$bin" init "${fast[@]}" --no-recovery >/dev/null 2>&1
echo "sk-proj-Abc123Def456Ghi789Jkl0" | "$bin" add openai 2>/dev/null
echo "second-value-0123456789abcdef" | "$bin" add other 2>/dev/null
"$bin" unlock --timeout 30m 2>/dev/null

measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -v "$@" >/dev/null 2>"$work/time"
  printf "%-50s %8s s  %8s KiB peak RSS  exit %s\n" "$label" \
    "$(awk -F': ' '/Elapsed \(wall/ {print $2}' "$work/time")" \
    "$(awk -F': ' '/Maximum resident/ {print $2}' "$work/time")" \
    "$(awk -F': ' '/Exit status/ {print $2}' "$work/time")"
}
agent=(env -u SESAME_PASSPHRASE)

mkdir -p "$work/small" && echo hello > "$work/small/a.txt"
measure "baseline: scan of a one-line file" "${agent[@]}" "$bin" scan "$work/small"

mkdir -p "$work/repo" && (cd "$work/repo" && git init -q && truncate -s 1G zeros.bin &&
  git add zeros.bin && git -c user.name=b -c user.email=b@example.com commit -q -m zeros &&
  rm zeros.bin)
measure "scan --git, a 1 GiB blob of zeros" "${agent[@]}" "$bin" scan "$work/repo" --git
measure "scan --git --binary, the same" "${agent[@]}" "$bin" scan "$work/repo" --git --binary

head -c $((512 << 20)) /dev/zero | tr '\0' x | fold -w 79 > "$work/history"
measure "scan --history, a 512 MiB HISTFILE" \
  env -u SESAME_PASSPHRASE HISTFILE="$work/history" "$bin" scan "$work/small" --history

truncate -s 256M "$work/big.sesame"
measure "verify, a 256 MiB file without the magic" "${agent[@]}" "$bin" verify --structure-only "$work/big.sesame"
measure "restore --force, the same file" "${agent[@]}" "$bin" restore --force "$work/big.sesame"

for i in $(seq -w 1 20); do
  truncate -s 256M "$work/data/backups/auto/vault-202001${i}T000000Z.sesame"
done
measure "backups, 20 sparse 256 MiB copies" "${agent[@]}" "$bin" backups
measure "add (then pruning), the same 20 copies" \
  sh -c 'echo third-value-0123456789abcdef | env -u SESAME_PASSPHRASE "$0" add third' "$bin"
measure "passwd (Argon2 8 MiB), the same 20 copies" \
  env SESAME_NEW_PASSPHRASE='another horse battery staple 42' "$bin" passwd "${fast[@]}"
