//! The agent (`docs/AGENT.md`): a background process holding one vault's data key so a day's work
//! needs one passphrase. `protocol` is the wire format, `server` the agent itself, `client` what
//! every other command uses to reach it.

pub mod client;
pub mod protocol;
pub mod server;

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Default lifetime of an agent, counted from the last `unlock`.
pub const DEFAULT_TIMEOUT_SECS: u64 = 15 * 60;

/// `$XDG_RUNTIME_DIR/sesame/`, else `/tmp/sesame-<uid>/`.
pub fn socket_folder() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("sesame"),
        None => PathBuf::from(format!(
            "/tmp/sesame-{}",
            rustix::process::getuid().as_raw()
        )),
    }
}

/// The socket of the agent for `vault` (named by a hash of its canonical path).
pub fn socket_path(vault: &Path) -> PathBuf {
    let canonical = fs::canonicalize(vault).unwrap_or_else(|_| vault.to_path_buf());
    let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    socket_folder().join(format!("agent-{hex}.sock"))
}

/// Checks the socket folder is ours and private (creating it 0700 if missing). A folder that is
/// a symlink, belongs to someone else or is open to group/others is refused: another user could
/// otherwise plant a socket there and collect what clients send.
pub fn checked_folder(create: bool) -> Result<PathBuf> {
    let folder = socket_folder();
    if create && !folder.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&folder)
            .map_err(|e| Error::io(format!("cannot create {}", folder.display()), e))?;
    }
    let meta = fs::symlink_metadata(&folder)
        .map_err(|e| Error::io(format!("cannot use {}", folder.display()), e))?;
    let uid = rustix::process::getuid().as_raw();
    if !meta.is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
        return Err(Error::usage(format!(
            "{} must be a folder owned by you with mode 0700; fix or remove it",
            folder.display()
        )));
    }
    Ok(folder)
}
