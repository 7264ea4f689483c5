#!/usr/bin/env bash
# `import --dotenv` against `init` alone, side by side in one run (needs hyperfine): importing a
# 10,000-line .env is one transaction, so it should cost one write, not 10,000. For scale, the
# same run also times 100 single `add`s (each one a full unlock-change-write).
#
# Usage: benches/import.sh [path/to/sesame]   (default: builds and uses target/release/sesame)
set -euo pipefail
source "$(dirname "$0")/common.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/big.env" <<'PY'
import secrets, sys
with open(sys.argv[1], "w") as f:
    for i in range(10000):
        f.write(f"KEY_{i:05d}=sk-{secrets.token_hex(20)}\n")
PY
export SESAME_PASSPHRASE='bench: correct horse battery staple'
init="$bin init --kdf-memory 8MiB --kdf-iterations 1 --kdf-parallelism 1 --no-recovery"
fresh="rm -rf $work/v; SESAME_VAULT=$work/v/vault.sesame $init >/dev/null 2>&1"
hyperfine --warmup 2 --runs 20 \
    -n "init alone" "$fresh" \
    -n "init + import 10,000 lines" \
    "$fresh; SESAME_VAULT=$work/v/vault.sesame $bin import --dotenv $work/big.env 2>/dev/null" \
    -n "init + 100 adds" \
    "$fresh; for i in \$(seq 100); do echo v | SESAME_VAULT=$work/v/vault.sesame $bin add k\$i 2>/dev/null; done"
