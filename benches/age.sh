#!/usr/bin/env bash
# Unlocking with what you carry, side by side in one run (needs hyperfine, age, age-keygen):
# `sesame get` through an age X25519 slot against `age -d` of a small file with the same identity
# (the yardstick: what the age format costs on its own), then `get` through an SSH ed25519 key in
# an age slot, through an ssh-agent slot (a private `ssh-agent`), and with the passphrase
# (Argon2id defaults), all on one vault of 100 secrets.
#
# Usage: benches/age.sh [path/to/sesame]   (default: builds and uses target/release/sesame)
set -euo pipefail
source "$(dirname "$0")/common.sh"
needs age age-keygen ssh-keygen ssh-agent ssh-add

bench_sandbox
ssh-agent -D -a "$work/agent.sock" >/dev/null 2>&1 &
agent_pid=$!
trap '"$bin" lock --all >/dev/null 2>&1; kill "$agent_pid" 2>/dev/null; rm -rf "$work"' EXIT
SESAME_PASSPHRASE_FILE=$work/pass "$bin" init --no-recovery 2>/dev/null
for i in $(seq -w 1 100); do
    printf 'sk-bench-value-%s-0123456789abcdef' "$i" \
        | SESAME_PASSPHRASE_FILE=$work/pass "$bin" add "bench/key$i" 2>/dev/null
done
age-keygen -o "$work/id.txt" 2>/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$work/id_ed25519"
SESAME_PASSPHRASE_FILE=$work/pass "$bin" slot add age -r "$(age-keygen -y "$work/id.txt")" 2>/dev/null
SESAME_PASSPHRASE_FILE=$work/pass "$bin" slot add age --name ssh -R "$work/id_ed25519.pub" 2>/dev/null
while [ ! -S "$work/agent.sock" ]; do sleep 0.05; done
SSH_AUTH_SOCK=$work/agent.sock ssh-add -q "$work/id_ed25519"
SSH_AUTH_SOCK=$work/agent.sock SESAME_PASSPHRASE_FILE=$work/pass "$bin" slot add ssh-agent 2>/dev/null
# The yardstick: a small file (the size of a slot's plaintext) encrypted to the same identity.
head -c 68 /dev/urandom | age -r "$(age-keygen -y "$work/id.txt")" -o "$work/small.age"
echo "vault: $(stat -c %s "$SESAME_VAULT") bytes, 100 secrets, Argon2id defaults (64 MiB, t=3, p=4)"

echo "== get through the age X25519 slot (A) vs age -d of a 68-byte file (B)"
hyperfine -N --runs 30 --warmup 3 -n "sesame get (age slot)" "$bin get bench/key050 --identity $work/id.txt" \
    -n "age -d" "age -d -i $work/id.txt -o /dev/null $work/small.age"
echo "== get through the age slot opened by an SSH ed25519 key"
hyperfine -N --runs 30 --warmup 3 "$bin get bench/key050 --identity $work/id_ed25519"
echo "== get through the ssh-agent slot"
SSH_AUTH_SOCK=$work/agent.sock hyperfine -N --runs 30 --warmup 3 "$bin get bench/key050"
echo "== get through a running sesame agent (sesame's own floor: no unwrap at all)"
SESAME_PASSPHRASE_FILE=$work/pass "$bin" unlock --timeout 5m 2>/dev/null
hyperfine -N --runs 30 --warmup 3 "$bin get bench/key050"
"$bin" lock >/dev/null 2>&1
echo "== get with the passphrase (Argon2id defaults)"
SESAME_PASSPHRASE_FILE=$work/pass hyperfine -N --runs 5 --warmup 1 "$bin get bench/key050"
