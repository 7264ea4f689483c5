#!/usr/bin/env bash
# `sesame scan --git` on a repository of 10,000 commits over 500 files (one commit adds a stored
# key, a later one removes it), side by side with hyperfine: against a second sesame binary when
# one is given (e.g. a build from before git was read by git), and against the yardstick
# `git log --all -p | rg -F -f values`.
#
# Usage: benches/scan_git.sh [path/to/sesame] [path/to/baseline-sesame]
set -euo pipefail
baseline=${2:+$(realpath "$2")}
source "$(dirname "$0")/common.sh"

bench_sandbox
trap '"$bin" lock --all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
SESAME_PASSPHRASE_FILE=$work/pass "$bin" init --no-recovery --kdf-memory 8MiB --kdf-iterations 1 2>/dev/null
SESAME_PASSPHRASE_FILE=$work/pass "$bin" unlock --timeout 30m 2>/dev/null
python3 - "$work/values" <<'PY'
import secrets, string, sys
alphabet = string.ascii_letters + string.digits
with open(sys.argv[1], "w") as f:
    for i in range(100):
        f.write("sk-" + "".join(secrets.choice(alphabet) for _ in range(37)) + "\n")
PY
i=0
while read -r value; do
    i=$((i + 1))
    printf '%s' "$value" | "$bin" add "bench/key$i" 2>/dev/null
done < "$work/values"

repo=$work/repo
git init -q -b main "$repo"
python3 - "$work/values" <<'PY' | git -C "$repo" fast-import --quiet
import sys
key = open(sys.argv[1]).read().split()[41]
out = sys.stdout
for n in range(1, 10001):
    path = f"src/module{n % 500:03}.rs"
    body = f"// revision {n}\npub fn f{n}() -> u64 {{ {n} }}\n" * 20
    if n == 5000:
        body += f'const KEY: &str = "{key}";\n'
    data = body.encode()
    out.write(f"commit refs/heads/main\ncommitter b <b@example.com> {1700000000 + n} +0000\n")
    out.write("data 2\nc\n")
    out.write(f"M 644 inline {path}\ndata {len(data)}\n")
    out.flush()
    sys.stdout.buffer.write(data)
    out.write("\n")
PY
git -C "$repo" gc -q
echo "repository: $(git -C "$repo" rev-list --all | wc -l) commits, $(du -sh "$repo/.git" | cut -f1) packed; cores: $(nproc)"
cd "$work"
if [ -n "$baseline" ]; then
    hyperfine -N -i --runs 10 -n new "$bin scan --git $repo" -n baseline "$baseline scan --git $repo"
fi
hyperfine -i --runs 10 -n "sesame scan --git" "$bin scan --git $repo" \
    -n "git log -p | rg" "git -C $repo log --all -p | rg -F -f $work/values"
