#!/usr/bin/env bash
# `sesame scan` beside ripgrep (needs hyperfine and rg): a tree of about 200 MB of source files
# (Rust, TOML and Markdown from cargo's registry copies, repeated) and a vault of 100 stored
# values, unlocked through the agent. `scan --git` on a repository of 10,000 commits is measured
# by benches/scan_git.sh (against `git log --all -p | rg -F -f values`, and a baseline build).
#
# rg searches the 100 values as-is; sesame searches every form of them (as-is, JSON, URL,
# base64 x 3 alignments x 2 alphabets; see README), so it looks for several times more strings.
#
# With a second binary (e.g. a build from before the walk was handed to git), both are timed side
# by side, on the tree as a plain folder and again once it is a git work tree (every file
# committed, so git lists them all).
#
# Usage: benches/scan.sh [path/to/sesame] [path/to/baseline-sesame]
#        (default: builds and uses target/release/sesame)
set -euo pipefail
baseline=${2:+$(realpath "$2")}
source "$(dirname "$0")/common.sh"
command -v rg >/dev/null || { echo "rg is needed: apt-get install ripgrep" >&2; exit 1; }

bench_sandbox
trap '"$bin" lock --all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
SESAME_PASSPHRASE_FILE=$work/pass "$bin" init --no-recovery 2>/dev/null
SESAME_PASSPHRASE_FILE=$work/pass "$bin" unlock --timeout 30m 2>/dev/null

# 100 random 40-character keys, stored, and written one a line for rg -f.
python3 - "$work/values" <<'EOF'
import secrets, string, sys
alphabet = string.ascii_letters + string.digits
with open(sys.argv[1], "w") as f:
    for i in range(100):
        f.write("sk-" + "".join(secrets.choice(alphabet) for _ in range(37)) + "\n")
EOF
i=0
while read -r value; do
    i=$((i + 1))
    printf '%s' "$value" | "$bin" add "bench/key$i" 2>/dev/null
done < "$work/values"

# The tree: source files from cargo's registry, copied until there are 200 MB.
registry=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/ | head -1)
tree=$work/tree
mkdir -p "$tree"
copy=0
while [ "$(du -sm "$tree" | cut -f1)" -lt 200 ]; do
    copy=$((copy + 1))
    mkdir -p "$tree/copy$copy"
    (cd "$registry" && find . -type f \( -name '*.rs' -o -name '*.toml' -o -name '*.md' \) -size -1000k -print0 |
        xargs -0 cp --parents -t "$tree/copy$copy")
done
# A few planted keys, so both tools have something to print.
sed -n '7p' "$work/values" > "$tree/copy1/planted.env"
echo "files: $(find "$tree" -type f | wc -l), $(du -sh "$tree" | cut -f1); cores: $(nproc)"

cd "$work"
hyperfine -N -i --warmup 2 --runs 10 \
    "rg -F -f $work/values tree" \
    "rg -F -j1 -f $work/values tree" \
    "$bin scan tree" \
    ${baseline:+"$baseline scan tree"}

if [ -n "$baseline" ]; then
    echo "the same tree as a git work tree, every file committed:"
    git init -q -b main tree
    git -C tree add -A
    git -C tree -c gc.auto=0 -c user.name=b -c user.email=b@example.com commit -q -m tree
    hyperfine -N -i --warmup 2 --runs 10 "$bin scan tree" "$baseline scan tree"
fi
