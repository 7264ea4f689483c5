//! All file I/O of the vault: where it lives, the write lock, bounded reads, and the atomic,
//! durable replace (temp file in the same folder, fsync, rename, fsync the folder).
//!
//! The lock is a separate `<vault>.lock` file, never the vault itself: the rename replaces the
//! vault's inode, so a lock on it would protect nothing. Files are opened through no symlink and
//! only if regular: whoever can write the folder must not be able to aim sesame at another file.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rustix::fs::OFlags;
use rustix::io::Errno;

use crate::error::{Error, Result};
use crate::format::MAX_FILE_LEN;

/// How long a writer waits for another one before giving up with exit 6.
pub(crate) const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);

/// Random characters in a temp file's name (`.<name>.XXXXXX.tmp`); stale ones are recognized by it.
const TEMP_RAND_LEN: usize = 6;

/// The vault path: `--vault`, else `SESAME_VAULT`, else `$XDG_DATA_HOME/sesame/vault.sesame`,
/// else `~/.local/share/sesame/vault.sesame`; a symlink to an existing file is resolved
/// ([`follow_link`]).
pub(crate) fn resolve_vault_path(flag: Option<PathBuf>) -> Result<PathBuf> {
    named_vault_path(flag).map(follow_link)
}

/// If `path` is a symbolic link to an existing file, that file's canonical path; else `path`.
///
/// Everything is then derived from the file the link reaches: the lock, the usage log and the
/// temp file live beside it, and a write replaces it, not the link. So a link to a synced copy
/// keeps receiving changes, and every path that reaches one vault takes the same lock. A link
/// whose target is missing is kept as named: reading it fails, and `init` refuses to replace it.
pub(crate) fn follow_link(path: PathBuf) -> PathBuf {
    match fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(&path).unwrap_or(path),
        _ => path,
    }
}

fn named_vault_path(flag: Option<PathBuf>) -> Result<PathBuf> {
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

pub(crate) fn folder_of(path: &Path) -> &Path {
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

/// Opens `path` through no symlink, without blocking on a FIFO, and only if it is a regular file.
///
/// `O_NOFOLLOW` makes a symlink at `path` fail (`ELOOP`) instead of being followed: someone who can
/// write the folder could otherwise make sesame create or append to any file the user can write.
/// `O_NONBLOCK` makes opening a FIFO return at once (it has no effect on regular files); the type
/// is then checked on the opened file, so it cannot change between the check and the use.
pub(crate) fn open_regular(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    let flags = (OFlags::NOFOLLOW | OFlags::NONBLOCK).bits();
    let file = options.custom_flags(flags as i32).open(path).map_err(|e| {
        match Errno::from_io_error(&e) {
            Some(Errno::LOOP) => io::Error::new(
                ErrorKind::InvalidInput,
                "it is a symbolic link, which sesame does not follow here",
            ),
            // Opening a socket, or a FIFO for writing with no reader.
            Some(Errno::NXIO) => io::Error::new(ErrorKind::InvalidInput, NOT_REGULAR),
            _ => e,
        }
    })?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::new(ErrorKind::InvalidInput, "it is a folder"));
    }
    if !meta.is_file() {
        return Err(io::Error::new(ErrorKind::InvalidInput, NOT_REGULAR));
    }
    Ok(file)
}

const NOT_REGULAR: &str = "it is not a regular file (a FIFO, device or socket)";

/// A warning to show when the vault's folder can be written by group or others: they could
/// replace or delete the vault, and plant files (or symlinks) where sesame keeps its lock, log
/// and temp files. `None` when the folder is private or does not exist yet.
pub(crate) fn folder_warning(path: &Path) -> Option<String> {
    let folder = folder_of(path);
    let meta = fs::metadata(folder).ok()?;
    if meta.permissions().mode() & 0o022 == 0 {
        return None;
    }
    Some(format!(
        "the vault's folder {} can be written by other users, who could replace the vault or \
         the files beside it; run `chmod 700 {}`",
        folder.display(),
        folder.display()
    ))
}

/// Creates the vault's folder (mode 0700) if it does not exist. An existing folder is left as it is.
pub(crate) fn ensure_folder(path: &Path) -> Result<()> {
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
pub(crate) struct WriteLock {
    _file: File,
}

/// Takes the write lock, waiting up to `SESAME_LOCK_TIMEOUT` (default 10 s), else `Busy` (exit 6).
pub(crate) fn lock(path: &Path) -> Result<WriteLock> {
    let wait = match std::env::var("SESAME_LOCK_TIMEOUT") {
        Ok(text) if !text.is_empty() => crate::units::parse_duration(&text)?,
        _ => DEFAULT_LOCK_WAIT,
    };
    lock_waiting(path, wait)
}

/// Takes the write lock, waiting at most `wait`.
pub(crate) fn lock_waiting(path: &Path, wait: Duration) -> Result<WriteLock> {
    let lock_path = sibling(path, ".lock");
    let file = open_regular(
        &lock_path,
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600),
    )
    .map_err(|e| Error::io(format!("cannot open lock file {}", lock_path.display()), e))?;
    let busy = || Error::Busy {
        path: path.to_path_buf(),
        waited_secs: wait.as_secs(),
    };
    let lock_error = |e| Error::io(format!("cannot lock {}", lock_path.display()), e);
    match file.try_lock() {
        Ok(()) => return Ok(WriteLock { _file: file }),
        Err(fs::TryLockError::WouldBlock) if wait.is_zero() => return Err(busy()),
        Err(fs::TryLockError::WouldBlock) => {}
        Err(fs::TryLockError::Error(e)) => return Err(lock_error(e)),
    }
    // Held by another writer: block on the lock itself in a helper thread, so this process takes
    // it the moment it is released (a sleep-and-retry loop left it idle for up to the sleep, and
    // let newcomers overtake waiters). The thread owns the file: if the wait times out, its send
    // fails once it gets the lock, and dropping the file releases the lock at once.
    let (sender, receiver) = mpsc::sync_channel(1);
    thread::Builder::new()
        .name("sesame-lock".into())
        .spawn(move || {
            let result = file.lock().map(|()| file);
            let _ = sender.send(result);
        })
        .map_err(lock_error)?;
    match receiver.recv_timeout(wait) {
        Ok(Ok(file)) => Ok(WriteLock { _file: file }),
        Ok(Err(e)) => Err(lock_error(e)),
        Err(_) => Err(busy()),
    }
}

/// Reads a vault file whole, refusing one larger than the format allows before reading it, and
/// anything but a regular file (a FIFO would hang every command; a symlink here was not resolved
/// by [`resolve_vault_path`], so its target is missing or it was put there since).
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    let (file, len) = open_vault_file(path)?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    Ok(bytes)
}

/// Opens a vault file for reading as [`read`] does (no symlink, regular files only, no more
/// than the format allows); returns it with its length.
pub(crate) fn open_vault_file(path: &Path) -> Result<(File, u64)> {
    let not_a_vault = |reason: String| Error::NotAVault {
        path: path.to_path_buf(),
        reason,
    };
    let file = open_regular(path, OpenOptions::new().read(true)).map_err(|e| match e.kind() {
        ErrorKind::NotFound => Error::VaultNotFound {
            path: path.to_path_buf(),
        },
        ErrorKind::InvalidInput => not_a_vault(e.to_string()),
        _ => Error::io(format!("cannot open {}", path.display()), e),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    if meta.len() > MAX_FILE_LEN {
        return Err(Error::NotAVault {
            path: path.to_path_buf(),
            reason: format!(
                "it is {} bytes, more than the 256 MiB a vault may hold",
                meta.len()
            ),
        });
    }
    Ok((file, meta.len()))
}

/// Replaces `path` with `bytes` atomically and durably: a 0600 temp file in the same folder,
/// written and fsynced, renamed over the vault, then the folder fsynced so the rename itself
/// survives a crash. At every instant the path holds either the old file or the new one.
///
/// The caller holds the write lock ([`lock`]); see [`stage`].
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    stage(path, bytes)?.commit()
}

/// A replacement for a file, written and fsynced beside it but not yet renamed into place.
/// Dropped without [`Staged::commit`], its temp file is removed.
pub(crate) struct Staged {
    temp: tempfile::NamedTempFile,
    path: PathBuf,
}

/// The first half of [`write_atomic`]: lets a caller prepare a second file before replacing the
/// first, so the window between the two renames is as short as it can be (`rekey`).
///
/// The caller holds the write lock. Only the lock holder writes temp files, so any
/// `.<name>.XXXXXX.tmp` already in the folder was left by a writer that was killed, and is removed.
pub(crate) fn stage(path: &Path, bytes: &[u8]) -> Result<Staged> {
    let folder = folder_of(path);
    let mut prefix = OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    remove_stale_temps(folder, &prefix);
    let ctx = |what: &str| format!("cannot {what} in {}", folder.display());
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .rand_bytes(TEMP_RAND_LEN)
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(folder)
        .map_err(|e| Error::io(ctx("create a temporary file"), e))?;
    temp.write_all(bytes)
        .map_err(|e| Error::io(ctx("write a temporary file"), e))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| Error::io(ctx("sync a temporary file"), e))?;
    Ok(Staged {
        temp,
        path: path.to_path_buf(),
    })
}

impl Staged {
    /// Renames the staged file over its target, then fsyncs the folder.
    pub(crate) fn commit(self) -> Result<()> {
        self.rename()?.sync()
    }

    /// Renames the staged file over its target: the first half of [`Staged::commit`]. Every
    /// reader sees the new file from now on; it survives a crash once [`Renamed::sync`] returns.
    pub(crate) fn rename(self) -> Result<Renamed> {
        let Staged { temp, path } = self;
        temp.persist(&path)
            .map_err(|e| Error::io(format!("cannot replace {}", path.display()), e.error))?;
        Ok(Renamed { path })
    }
}

/// A file renamed into place whose folder is not yet fsynced: a crash now may still bring back
/// the file it replaced (whole; the new one's bytes were fsynced before the rename).
#[must_use = "the rename is durable only once the folder is synced"]
pub(crate) struct Renamed {
    path: PathBuf,
}

impl Renamed {
    /// Fsyncs the folder, so the rename survives a crash.
    pub(crate) fn sync(self) -> Result<()> {
        sync_folder(folder_of(&self.path))
    }
}

/// Removes `<prefix>XXXXXX.tmp` files (exactly [`TEMP_RAND_LEN`] letters or digits, as
/// [`stage`] names them) that are regular files; a symlink or anything else is left alone, and
/// so is every other name. Best effort: a temp that cannot be removed is only clutter.
fn remove_stale_temps(folder: &Path, prefix: &OsString) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    let prefix = prefix.as_encoded_bytes();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_stale_temp = name
            .as_encoded_bytes()
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(b".tmp"))
            .is_some_and(|middle| {
                middle.len() == TEMP_RAND_LEN && middle.iter().all(u8::is_ascii_alphanumeric)
            });
        // `DirEntry::file_type` does not follow symlinks.
        if is_stale_temp && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Opens a file the user names for reading (an env file, a template), following symlinks but
/// never blocking on a FIFO (`O_NONBLOCK`), with its metadata read from the opened file, so the
/// caller's type check holds for what it reads.
pub(crate) fn open_for_reading(path: &Path) -> io::Result<(File, fs::Metadata)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    let meta = file.metadata()?;
    Ok((file, meta))
}

/// Writes `bytes` to `path` (a file the user names: `inject -o`) atomically, with mode 0600: a
/// temp file in the same folder, written and fsynced, renamed over `path`, then the folder
/// fsynced. The rename replaces a symlink at `path` instead of writing through it, and a folder
/// at `path` is refused. A failure leaves `path` as it was and no temp file behind.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let shown = path.display();
    if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(Error::usage(format!(
            "{shown} is a folder; name the file to write"
        )));
    }
    let folder = folder_of(path);
    let ctx = |what: &str| format!("cannot {what} for {shown} in {}", folder.display());
    let mut prefix = OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(folder)
        .map_err(|e| Error::io(ctx("create a temporary file"), e))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| Error::io(ctx("write a temporary file"), e))?;
    temp.persist(path)
        .map_err(|e| Error::io(format!("cannot replace {shown}"), e.error))?;
    sync_folder(folder)
}

/// Fsyncs a folder, so the names created or renamed in it survive a crash.
pub(crate) fn sync_folder(folder: &Path) -> Result<()> {
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
pub(crate) fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

#[cfg(test)]
mod lock_tests {
    use super::*;

    #[test]
    fn a_lock_wait_that_timed_out_does_not_keep_the_lock() -> Result<()> {
        // The wait blocks on the lock in a helper thread; when the wait gives up, that thread
        // still gets the lock once the holder lets go, and must release it then, or a `run`
        // whose usage record timed out would hold every writer off while its child runs.
        let dir = tempfile::tempdir().map_err(|e| Error::io("temp dir", e))?;
        let vault = dir.path().join("vault.sesame");
        let held = lock_waiting(&vault, Duration::ZERO)?;
        assert!(matches!(
            lock_waiting(&vault, Duration::from_millis(50)),
            Err(Error::Busy { .. })
        ));
        assert!(matches!(
            lock_waiting(&vault, Duration::ZERO),
            Err(Error::Busy { .. })
        ));
        drop(held);
        // Taken again (the abandoned helper let go): within 5 s on the slowest machine.
        let again = lock_waiting(&vault, Duration::from_secs(5))?;
        drop(again);
        Ok(())
    }

    #[test]
    fn a_waiting_writer_gets_the_lock_when_it_is_released() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("temp dir", e))?;
        let vault = dir.path().join("vault.sesame");
        let held = lock_waiting(&vault, Duration::ZERO)?;
        let path = vault.clone();
        let waiter = thread::spawn(move || lock_waiting(&path, Duration::from_secs(20)).is_ok());
        thread::sleep(Duration::from_millis(50));
        drop(held);
        assert!(waiter.join().unwrap_or(false));
        Ok(())
    }
}
