#!/usr/bin/env bash
# `run --mask` throughput against the number of values masked (issue 15, item 7), side by side
# with `cat | cat` (the same pipe path: child -> pipe -> parent -> stdout) in one hyperfine run.
# 200 MB of base64 lines (letters and digits: the bytes API keys are made of), one line in a
# thousand holding the first value; 1, 2, 10, 100 and 1000 values of the `sk-proj-…`/`ghp_…`
# shapes, selected through an env file. Figures go in docs/PERFORMANCE.md.
#
# Usage: benches/mask.sh [path/to/sesame]   (default: builds and uses target/release/sesame)
set -euo pipefail
source "$(dirname "$0")/common.sh"

work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
export SESAME_VAULT=$work/vault.sesame SESAME_PASSPHRASE='bench: correct horse battery staple'
"$bin" init --kdf-memory 8MiB --kdf-iterations 1 --kdf-parallelism 1 --no-recovery 2>/dev/null
python3 - "$work" <<'PY'
import random, string, sys
random.seed(15)
alnum = string.ascii_letters + string.digits
with open(sys.argv[1] + "/values.env", "w") as f:
    for i in range(1000):
        body = "".join(random.choice(alnum) for _ in range(36))
        value = ("sk-proj-" if i % 2 == 0 else "ghp_") + body
        f.write(f"V{i}={value}\n")
for n in (1, 2, 10, 100, 1000):
    with open(f"{sys.argv[1]}/select{n}.env", "w") as f:
        for i in range(n):
            f.write(f"V{i}=sesame://x/v{i}\n")
PY
"$bin" import --dotenv "$work/values.env" --prefix x 2>/dev/null   # labels x/v0 … x/v999
value0=$(grep '^V0=' "$work/values.env" | cut -d= -f2)
head -c 150000000 /dev/urandom | base64 -w 100 \
    | awk -v v="$value0" 'NR % 1000 == 0 { print "token " v " here"; next } { print }' \
    > "$work/stream"
size=$(stat -c %s "$work/stream")
echo "stream: $size bytes"
cmds=("cat $work/stream | cat > /dev/null")
for n in 1 2 10 100 1000; do
    cmds+=("$bin run --mask --env-file $work/select$n.env -- cat $work/stream > /dev/null")
done
hyperfine --warmup 1 --runs 5 "${cmds[@]}"
echo "MB/s = $size / 1e6 / mean seconds"
