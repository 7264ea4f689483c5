//! sesame: an encrypted local secrets vault.
//!
//! A passphrase, stretched with Argon2id, unwraps a random data key; the data key seals one vault
//! file (AES-256-GCM, the whole header authenticated) holding many labelled secrets. The library
//! owns every rule and all I/O of the vault; the `sesame` binary only parses arguments, asks for
//! input and prints. `docs/FORMAT.md` specifies the file, `docs/SECURITY.md` the threat model.

// Unsafe code is denied everywhere but `sys`, the one module that closes raw descriptors.
#![deny(unsafe_code)]

pub mod agent;
pub mod backup;
pub mod cli;
pub mod container;
pub mod crypto;
pub mod dotenv;
pub mod error;
pub mod format;
pub mod hardening;
pub mod inject;
pub mod input;
pub mod mask;
pub mod matcher;
pub mod names;
pub mod openbao;
pub mod recovery;
pub mod scan;
pub mod secret;
pub mod slots;
pub mod store;
pub mod strength;
pub mod supervise;
pub mod sys;
pub mod transaction;
pub mod units;
pub mod unlock;
pub mod usage;
pub mod vault;

pub use error::{Error, Result};
