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
