# Sourced by the benchmark scripts: the sesame binary to measure (the first argument, else a fresh
# release build) in $bin, and a check that hyperfine is installed.
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then
    bin=$(realpath "$1")
else
    cargo build --release --locked --quiet
    bin=$PWD/target/release/sesame
fi
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 1; }

# Exits unless every named program is installed.
needs() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
    done
}

# A private folder for one benchmark in $work: the agent's runtime folder, the vault at
# ${1:-$work/vault.sesame} (both exported), and the passphrase in $work/pass (mode 600). The
# caller sets its own EXIT trap (what it started differs).
bench_sandbox() {
    work=$(mktemp -d)
    export XDG_RUNTIME_DIR=$work/run SESAME_VAULT=${1:-$work/vault.sesame}
    mkdir -m 700 "$XDG_RUNTIME_DIR"
    (umask 077; echo "bench: correct horse battery staple" > "$work/pass")
}
