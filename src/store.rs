//! All file I/O of the vault: where it lives, the write lock, bounded reads, and the atomic,
//! durable replace (temp file in the same folder, fsync, rename, fsync the folder).
//!
//! The lock is a separate `<vault>.lock` file, never the vault itself: the rename replaces the
//! vault's inode, so a lock on it would protect nothing.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::format::MAX_FILE_LEN;

/// How long a writer waits for another one before giving up with exit 6.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);

/// The vault path: `--vault`, else `SESAME_VAULT`, else `$XDG_DATA_HOME/sesame/vault.sesame`,
/// else `~/.local/share/sesame/vault.sesame`.
pub fn resolve_vault_path(flag: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(path) = flag {
        return Ok(path);
    }
    if let Some(path) = std::env::var_os("SESAME_VAULT").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let data_home = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".local/share"),
            None => {
                return Err(Error::usage(
                    "cannot find the default vault: HOME is not set; pass --vault PATH or set SESAME_VAULT",
                ));
            }
        },
    };
    Ok(data_home.join("sesame").join("vault.sesame"))
}

pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Creates the vault's folder (mode 0700) if it does not exist. An existing folder is left as it is.
pub fn ensure_folder(path: &Path) -> Result<()> {
    let folder = folder_of(path);
    if folder.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
        .map_err(|e| Error::io(format!("cannot create folder {}", folder.display()), e))
}

/// An exclusive lock on `<vault>.lock`, held until dropped.
pub struct WriteLock {
    _file: File,
}

/// Takes the write lock, waiting up to `SESAME_LOCK_TIMEOUT` (default 10 s), else `Busy` (exit 6).
pub fn lock(path: &Path) -> Result<WriteLock> {
    let wait = match std::env::var("SESAME_LOCK_TIMEOUT") {
        Ok(text) if !text.is_empty() => crate::units::parse_duration(&text)?,
        _ => DEFAULT_LOCK_WAIT,
    };
    lock_waiting(path, wait)
}

/// Takes the write lock, waiting at most `wait`.
pub fn lock_waiting(path: &Path, wait: Duration) -> Result<WriteLock> {
    let lock_path = sibling(path, ".lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| Error::io(format!("cannot open lock file {}", lock_path.display()), e))?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(WriteLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => {
                if start.elapsed() >= wait {
                    return Err(Error::Busy {
                        path: path.to_path_buf(),
                        waited_secs: wait.as_secs(),
                    });
                }
                thread::sleep(Duration::from_millis(20));
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(Error::io(format!("cannot lock {}", lock_path.display()), e));
            }
        }
    }
}

/// Reads a vault file whole, refusing one larger than the format allows before reading it.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => Error::VaultNotFound {
            path: path.to_path_buf(),
        },
        _ => Error::io(format!("cannot open {}", path.display()), e),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    if meta.is_dir() {
        return Err(Error::NotAVault {
            path: path.to_path_buf(),
            reason: "it is a folder".into(),
        });
    }
    if meta.len() > MAX_FILE_LEN {
        return Err(Error::NotAVault {
            path: path.to_path_buf(),
            reason: format!(
                "it is {} bytes, more than the 256 MiB a vault may hold",
                meta.len()
            ),
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    Ok(bytes)
}

/// Replaces `path` with `bytes` atomically and durably: a 0600 temp file in the same folder,
/// written and fsynced, renamed over the vault, then the folder fsynced so the rename itself
/// survives a crash. At every instant the path holds either the old file or the new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let folder = folder_of(path);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let ctx = |what: &str| format!("cannot {what} in {}", folder.display());
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(folder)
        .map_err(|e| Error::io(ctx("create a temporary file"), e))?;
    temp.write_all(bytes)
        .map_err(|e| Error::io(ctx("write a temporary file"), e))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| Error::io(ctx("sync a temporary file"), e))?;
    temp.persist(path)
        .map_err(|e| Error::io(format!("cannot replace {}", path.display()), e.error))?;
    sync_folder(folder)
}

fn sync_folder(folder: &Path) -> Result<()> {
    let dir = File::open(folder)
        .map_err(|e| Error::io(format!("cannot open folder {}", folder.display()), e))?;
    match dir.sync_all() {
        Ok(()) => Ok(()),
        // Some platforms (and file systems) cannot fsync a folder; the rename is still atomic.
        Err(e) if cfg!(not(target_os = "linux")) && e.kind() == ErrorKind::InvalidInput => Ok(()),
        Err(e) => Err(Error::io(
            format!("cannot sync folder {}", folder.display()),
            e,
        )),
    }
}

/// Whether a vault file exists at `path` (a dangling path or a folder counts as existing: `init`
/// must not silently replace either).
pub fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}
