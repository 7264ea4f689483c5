//! sesame: an encrypted local secrets vault.
//!
//! A passphrase, stretched with Argon2id, unwraps a random data key; the data key seals one vault
//! file (AES-256-GCM, the whole header authenticated) holding many labelled secrets. The library
//! owns every rule and all I/O of the vault; the `sesame` binary only parses arguments, asks for
//! input and prints. `docs/FORMAT.md` specifies the file, `docs/SECURITY.md` the threat model.

// Unsafe code is denied everywhere but `sys`, the one module that closes raw descriptors.
#![deny(unsafe_code)]
// The library's surface is what the binary, the tests and the fuzz targets use; everything
// else is crate-private, so an unused item is reported as dead code, not hidden by `pub`.
#![warn(unreachable_pub, missing_docs)]

pub mod agent;
pub mod approval;
pub mod backup;
pub mod cli;
pub mod container;
pub mod crypto;
pub mod dotenv;
mod error;
pub mod format;
pub mod hardening;
mod helpers;
mod hidden_prompt;
pub mod inject;
mod input;
// Private but for fuzzing, whose targets check its test oracle (`mask::property`).
#[cfg(fuzzing)]
pub mod mask;
#[cfg(not(fuzzing))]
mod mask;
// Private but for fuzzing, whose targets check its test oracle (`matcher::property`).
#[cfg(fuzzing)]
pub mod matcher;
#[cfg(not(fuzzing))]
mod matcher;
pub mod merge;
pub mod names;
pub mod openbao;
pub mod printable;
pub mod recovery;
mod scan;
pub mod secret;
pub mod slots;
mod store;
mod strength;
mod supervise;
mod sys;
mod template;
mod transaction;
pub mod units;
mod unlock;
pub mod usage;
pub mod vault;

pub use error::{Error, Result};
