#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The one integration-test binary: end-to-end tests drive the real `sesame` binary, each with a
//! private temporary vault (`e2e::harness`); library-level property tests sit beside them.

mod e2e;

/// `--help` of each command and the main error messages, as data (`tests/cmd/*.toml`, trycmd).
/// After a deliberate change of help or messages: `TRYCMD=overwrite cargo test cli_snapshots`,
/// then review the diff. Commands other changes are still reshaping (run, log, profile, slot,
/// push, pull) have no snapshot yet.
#[test]
fn cli_snapshots() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}
