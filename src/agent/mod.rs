//! The agent (`docs/AGENT.md`): a background process holding one vault's data key so a day's work
//! needs one passphrase. `protocol` is the wire format, `server` the agent itself, `client` what
//! every other command uses to reach it; `console`, `gate` and `peer` are approvals (the console's
//! channel, the agent's side of it, and who is asking).

pub mod client;
pub mod console;
pub mod gate;
pub mod peer;
pub mod protocol;
pub mod server;

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Default lifetime of an agent, counted from the last `unlock`.
pub const DEFAULT_TIMEOUT_SECS: u64 = 15 * 60;

/// Waits at most `wait` for the agent's `ready` line on `stdout` (what `unlock` does after
/// handing over the key): an agent stuck before it serves must not hang `unlock` forever. The
/// reading thread ends when the pipe closes (the caller kills the agent on an error).
pub fn wait_for_ready(
    stdout: Option<impl std::io::Read + Send + 'static>,
    wait: std::time::Duration,
) -> std::result::Result<(), String> {
    use std::io::BufRead;
    use std::sync::mpsc::{RecvTimeoutError, channel};
    let Some(stdout) = stdout else {
        return Err("no pipe to the agent".into());
    };
    let (sender, receiver) = channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    match receiver.recv_timeout(wait) {
        Ok(line) if line.trim() == "ready" => Ok(()),
        Ok(_) | Err(RecvTimeoutError::Disconnected) => Err("no ready signal".into()),
        Err(RecvTimeoutError::Timeout) => Err(format!(
            "it did not say it was ready within {} s, so it was stopped",
            wait.as_secs_f64()
        )),
    }
}

/// `$XDG_RUNTIME_DIR/sesame/`, else `/tmp/sesame-<uid>/`.
pub fn socket_folder() -> PathBuf {
    folder_for(
        std::env::var_os("XDG_RUNTIME_DIR"),
        rustix::process::getuid().as_raw(),
    )
}

/// A relative `XDG_RUNTIME_DIR` is ignored, as the XDG spec says: it would name a different
/// folder for every working directory, so a client and the agent (which runs in `/`) would miss
/// each other.
fn folder_for(xdg_runtime_dir: Option<std::ffi::OsString>, uid: u32) -> PathBuf {
    match xdg_runtime_dir
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
    {
        Some(dir) => dir.join("sesame"),
        None => PathBuf::from(format!("/tmp/sesame-{uid}")),
    }
}

/// True when the process at the other end of `stream` runs as our own uid (`SO_PEERCRED`, or
/// `getpeereid` on macOS: `crate::sys::peer_uid`). The agent checks its clients with it, and
/// clients check the agent: a socket another user managed to put in our folder would otherwise
/// collect what clients send. A peer the system cannot name is not trusted.
pub(crate) fn peer_is_us(stream: &std::os::unix::net::UnixStream) -> bool {
    crate::sys::peer_uid(stream) == Some(rustix::process::getuid().as_raw())
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
///
/// The fallback `/tmp/sesame-<uid>` can be created first by another user. sesame does not then
/// pick another name: client and agent must find the same folder with no shared state, and any
/// predictable name can be taken the same way. The error says who owns it and how to get out
/// (remove it, or set `XDG_RUNTIME_DIR`).
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
    if meta.is_dir() && meta.uid() != uid {
        return Err(Error::usage(format!(
            "{} belongs to uid {}, not to you (uid {uid}): another user may have created it to \
             block or watch sesame's agent. Have it removed, or set XDG_RUNTIME_DIR to a private \
             folder of yours (the agent then uses $XDG_RUNTIME_DIR/sesame)",
            folder.display(),
            meta.uid()
        )));
    }
    if !meta.is_dir() || meta.permissions().mode() & 0o077 != 0 {
        return Err(Error::usage(format!(
            "{} must be a folder owned by you with mode 0700; fix or remove it",
            folder.display()
        )));
    }
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `unlock` used to wait for the agent's "ready" with no limit: an agent stuck before it
    /// served hung `unlock` for ever (the audit, "Low").
    #[test]
    fn unlock_stops_waiting_for_an_agent_that_never_says_ready() -> std::io::Result<()> {
        use std::io::Write;
        use std::time::{Duration, Instant};
        let (reader, writer) = std::io::pipe()?;
        let start = Instant::now();
        let waited = wait_for_ready(Some(reader), Duration::from_millis(300));
        assert!(waited.is_err_and(|why| why.contains("did not say it was ready")));
        // A hang guard, not a timing assertion: it returned instead of waiting for the writer.
        assert!(start.elapsed() < Duration::from_secs(30));
        drop(writer);

        let (reader, mut writer) = std::io::pipe()?;
        writer.write_all(b"ready\n")?;
        assert_eq!(
            wait_for_ready(Some(reader), Duration::from_secs(30)),
            Ok(())
        );
        let (reader, writer) = std::io::pipe()?;
        drop(writer); // the agent died before it was ready
        assert_eq!(
            wait_for_ready(Some(reader), Duration::from_secs(30)),
            Err("no ready signal".to_string())
        );
        Ok(())
    }

    #[test]
    fn a_relative_xdg_runtime_dir_is_ignored() {
        // Broke: `XDG_RUNTIME_DIR=run` named ./run/sesame, relative to each process's working
        // directory, so a client and the agent (which runs in `/`) used different sockets.
        assert_eq!(
            folder_for(Some("run".into()), 1000),
            PathBuf::from("/tmp/sesame-1000")
        );
        assert_eq!(
            folder_for(Some("".into()), 1000),
            PathBuf::from("/tmp/sesame-1000")
        );
        assert_eq!(folder_for(None, 7), PathBuf::from("/tmp/sesame-7"));
        assert_eq!(
            folder_for(Some("/run/user/1000".into()), 1000),
            PathBuf::from("/run/user/1000/sesame")
        );
    }
}
