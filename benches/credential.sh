#!/usr/bin/env bash
# A credential helper's cost, side by side in one run (needs hyperfine, git): `git credential
# fill` answered by sesame through a running agent (A) against the same fill answered by git's own
# in-memory `credential-cache` daemon (B), on a vault of 100 secrets. Both run as git runs them
# (`credential.helper`, through `sh -c`), with no other git configuration.
#
# Usage: benches/credential.sh [path/to/sesame]   (default: builds and uses target/release/sesame)
set -euo pipefail
source "$(dirname "$0")/common.sh"
needs git

bench_sandbox
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
cache="cache --socket=$work/cache.sock --timeout=3600"
trap '"$bin" lock --all >/dev/null 2>&1; git credential-cache --socket="$work/cache.sock" exit 2>/dev/null; rm -rf "$work"' EXIT
SESAME_PASSPHRASE_FILE=$work/pass "$bin" init --no-recovery 2>/dev/null
for i in $(seq -w 1 99); do
    printf 'sk-bench-value-%s-0123456789abcdef' "$i" \
        | SESAME_PASSPHRASE_FILE=$work/pass "$bin" add "bench/key$i" 2>/dev/null
done
printf 'ghp_bench0123456789abcdef0123456789abcd' \
    | SESAME_PASSPHRASE_FILE=$work/pass "$bin" add git/git.example.com --note username=ann 2>/dev/null
SESAME_PASSPHRASE_FILE=$work/pass "$bin" unlock --timeout 30m 2>/dev/null
printf 'protocol=https\nhost=git.example.com\n\n' > "$work/request"
# git's cache learns the same credential the way it always does: `git credential approve`.
printf 'protocol=https\nhost=git.example.com\nusername=ann\npassword=ghp_bench0123456789abcdef0123456789abcd\n\n' \
    | git -c credential.helper="$cache" credential approve
cat > "$work/via_sesame.sh" <<SCRIPT
exec git -c credential.helper='!$bin git-credential' credential fill < $work/request > /dev/null
SCRIPT
cat > "$work/via_cache.sh" <<SCRIPT
exec git -c credential.helper='$cache' credential fill < $work/request > /dev/null
SCRIPT
# Both answer, with the same credential.
for side in sesame cache; do
    out=$(sh "$work/via_$side.sh"; git -c credential.helper="$( [ $side = sesame ] && echo "!$bin git-credential" || echo "$cache")" credential fill < "$work/request")
    case $out in *password=ghp_bench*) ;; *) echo "the $side side gave no password" >&2; exit 1 ;; esac
done
echo "vault: $(stat -c %s "$SESAME_VAULT") bytes, 100 secrets; $(git --version)"
echo "== git credential fill: sesame through the agent (A) vs git credential-cache (B)"
hyperfine -N --runs 40 --warmup 5 -n sesame "sh $work/via_sesame.sh" -n credential-cache "sh $work/via_cache.sh"
echo "== the agent's share: sesame git-credential get alone, and sesame --version (process start)"
hyperfine -N --runs 40 --warmup 5 -n "git-credential get" "sh -c 'exec $bin git-credential get < $work/request > /dev/null'"
hyperfine -N --runs 40 --warmup 5 "$bin --version"
