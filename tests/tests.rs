#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The one integration-test binary: end-to-end tests drive the real `sesame` binary, each with a
//! private temporary vault (`e2e::harness`); library-level property tests sit beside them.

mod e2e;
