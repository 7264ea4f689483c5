//! Copies of the vault file (`docs/BACKUPS.md`): the automatic generation kept before every
//! write, manual `backup` copies, and the list `backups` shows.
//!
//! A copy is the vault file byte for byte, so it is exactly as protected as the vault and opens
//! with the passphrase (and recovery code) that opened the vault when it was made. Copies live in
//! `<vault folder>/backups/` (manual) and `<vault folder>/backups/auto/` (generations), folders
//! 0700 and files 0600, each written atomically and read back before it counts.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::container::inspect;
use crate::error::{Error, Result};
use crate::format::Header;
use crate::store;

/// Generations kept when `SESAME_AUTO_BACKUPS` is not set.
pub const DEFAULT_AUTO_BACKUPS: usize = 10;
/// The most generations `SESAME_AUTO_BACKUPS` may ask for.
pub const MAX_AUTO_BACKUPS: usize = 1000;
/// The extension of every copy.
pub const EXTENSION: &str = "sesame";

/// `<vault folder>/backups`.
pub fn folder(vault: &Path) -> PathBuf {
    store::folder_of(vault).join("backups")
}

/// `<vault folder>/backups/auto`.
pub fn auto_folder(vault: &Path) -> PathBuf {
    folder(vault).join("auto")
}

/// `<vault folder>/backups/damaged`: vault files that did not parse when a write replaced them.
/// Not generations: they are never listed as copies, counted for pruning, or pruned.
pub fn damaged_folder(vault: &Path) -> PathBuf {
    folder(vault).join("damaged")
}

/// The vault's file name without its extension: `vault` for `vault.sesame`.
fn stem(vault: &Path) -> String {
    vault
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "vault".to_string())
}

/// How many generations to keep: `SESAME_AUTO_BACKUPS` (0 turns them off), else 10.
pub fn auto_keep() -> Result<usize> {
    match std::env::var("SESAME_AUTO_BACKUPS") {
        Ok(text) if !text.trim().is_empty() => match text.trim().parse::<usize>() {
            Ok(n) if n <= MAX_AUTO_BACKUPS => Ok(n),
            _ => Err(Error::usage(format!(
                "SESAME_AUTO_BACKUPS must be a number from 0 (off) to {MAX_AUTO_BACKUPS}, got {text:?}"
            ))),
        },
        _ => Ok(DEFAULT_AUTO_BACKUPS),
    }
}

/// `20261125T161500Z` (or with milliseconds, `20261125T161500.123Z`): sortable, no `:` (which
/// some file systems and sync tools refuse).
pub fn stamp(time: SystemTime, millis: bool) -> String {
    let text = if millis {
        humantime::format_rfc3339_millis(time).to_string()
    } else {
        humantime::format_rfc3339_seconds(time).to_string()
    };
    text.chars().filter(|c| !matches!(c, '-' | ':')).collect()
}

/// `<stem>-<stamp>.sesame`, or `<stem>-<stamp>-<n>.sesame` for the n-th copy within one stamp.
pub fn copy_file_name(stem: &str, stamp: &str, n: Option<u32>) -> String {
    match n {
        None => format!("{stem}-{stamp}.{EXTENSION}"),
        Some(n) => format!("{stem}-{stamp}-{n}.{EXTENSION}"),
    }
}

/// `folder/<stem>-<stamp>.sesame`, with `-2`, `-3`… when that name is taken.
fn fresh_name(folder: &Path, stem: &str, stamp: &str) -> PathBuf {
    let mut candidate = folder.join(copy_file_name(stem, stamp, None));
    let mut n = 2;
    while store::exists(&candidate) {
        candidate = folder.join(copy_file_name(stem, stamp, Some(n)));
        n += 1;
    }
    candidate
}

fn ensure_private_folder(folder: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
        .map_err(|e| Error::io(format!("cannot create folder {}", folder.display()), e))
}

/// Writes `bytes` to `dest` atomically (0600), then reads it back and checks it is the same
/// bytes and a well-formed vault. A copy that fails the check is removed and reported.
fn write_checked(dest: &Path, bytes: &[u8]) -> Result<()> {
    store::write_atomic(dest, bytes)?;
    let back = store::read(dest)?;
    if back != bytes {
        let _ = fs::remove_file(dest);
        return Err(Error::io(
            format!("the copy {} did not read back as written", dest.display()),
            std::io::Error::other("read-back mismatch"),
        ));
    }
    // A copy that is not a well-formed vault is not left behind to be taken for one.
    inspect(&back, dest).inspect_err(|_| {
        let _ = fs::remove_file(dest);
    })?;
    Ok(())
}

/// Keeps the vault file a write is about to replace: a well-formed one as the newest
/// generation ([`keep_generation`]); a damaged one (it does not parse: truncated, emptied,
/// overwritten) set aside in [`damaged_folder`] instead, once, so `restore` and `init --force`
/// over it go ahead and no damaged file ever stands in for a generation.
pub fn keep_replaced(vault: &Path, bytes: &[u8]) -> Result<Kept> {
    if inspect(bytes, vault).is_ok() {
        return keep_generation(vault, bytes).map(|g| g.map_or(Kept::Nothing, Kept::Generation));
    }
    set_aside_damaged(vault, bytes).map(|d| d.map_or(Kept::Nothing, Kept::Damaged))
}

/// Where [`keep_replaced`] put the replaced file.
pub enum Kept {
    /// Generations are off (`SESAME_AUTO_BACKUPS=0`), or the damaged file was empty or already
    /// set aside.
    Nothing,
    Generation(PathBuf),
    Damaged(PathBuf),
}

/// Copies a damaged vault file into [`damaged_folder`] unless it is empty or a file there
/// already holds the same bytes (ten failed restores keep it once). Its bytes are written as
/// they are: nothing can be checked, and they may be all that is left of the secrets.
fn set_aside_damaged(vault: &Path, bytes: &[u8]) -> Result<Option<PathBuf>> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let folder = damaged_folder(vault);
    ensure_private_folder(&folder)?;
    let stem = stem(vault);
    let already = fs::read_dir(&folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| is_copy_of(&e.file_name().to_string_lossy(), &stem))
        .filter(|e| {
            e.path()
                .symlink_metadata()
                .is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
        })
        .any(|e| fs::read(e.path()).is_ok_and(|b| b == bytes));
    if already {
        return Ok(None);
    }
    let dest = fresh_name(&folder, &stem, &stamp(SystemTime::now(), true));
    store::write_atomic(&dest, bytes).map_err(|e| {
        Error::io(
            format!(
                "the vault was not changed: it is damaged, and setting it aside in {} failed \
                 ({e}); free some space and try again",
                folder.display()
            ),
            std::io::Error::other("setting the damaged vault aside failed"),
        )
    })?;
    Ok(Some(dest))
}

/// Keeps `bytes` (the vault about to be replaced) as the newest automatic generation. `None` when
/// generations are turned off. The oldest beyond [`auto_keep`] are removed by [`prune_generations`]
/// once the vault is written, after the write lock is released.
pub fn keep_generation(vault: &Path, bytes: &[u8]) -> Result<Option<PathBuf>> {
    let keep = auto_keep()?;
    if keep == 0 {
        return Ok(None);
    }
    let folder = auto_folder(vault);
    ensure_private_folder(&folder)?;
    let dest = fresh_name(&folder, &stem(vault), &stamp(SystemTime::now(), true));
    if link_checked(vault, &dest, bytes) {
        return Ok(Some(dest));
    }
    write_checked(&dest, bytes).map_err(|e| {
        Error::io(
            format!(
                "the vault was not changed: keeping its previous version in {} failed ({e}); \
                 free some space, or set SESAME_AUTO_BACKUPS=0 to write without one",
                folder.display()
            ),
            std::io::Error::other("automatic backup failed"),
        )
    })?;
    Ok(Some(dest))
}

/// Removes the oldest generations beyond [`auto_keep`] (none when generations are turned off).
///
/// Safe without the write lock, which the transaction has released by then, so listing the folder
/// and removing a file hold up no other writer: generations are only
/// added, each newer than all before it, so a listing taken before another writer added one can
/// only rank a file as new as, or newer than, a later listing does, and removes no file the later
/// one would keep. Two writers pruning at once remove the same oldest files.
pub fn prune_generations(vault: &Path) {
    match auto_keep() {
        Ok(keep) if keep > 0 => prune(&auto_folder(vault), vault, keep),
        _ => {}
    }
}

/// Removes the oldest generations beyond `keep`. Only sound generations (they read and parse
/// as a vault) count and are removed: a damaged file in the folder is neither a generation nor
/// pruned, so damaged files can never push the last sound generations out.
fn prune(folder: &Path, vault: &Path, keep: usize) {
    let mut copies = copies_in(folder, &stem(vault));
    copies.sort_by(|a, b| b.order.cmp(&a.order).then(b.path.cmp(&a.path)));
    let sound = |copy: &Copy| {
        store::read(&copy.path).is_ok_and(|bytes| inspect(&bytes, &copy.path).is_ok())
    };
    let mut kept = 0;
    for copy in &copies {
        if !sound(copy) {
            continue;
        }
        if kept < keep {
            kept += 1;
        } else {
            let _ = fs::remove_file(&copy.path);
        }
    }
}

/// Keeps the vault file about to be replaced as `dest` by a hard link instead of a copy: the
/// write that follows renames a new file over the vault's name, so the old inode lives on under
/// `dest` with not a byte copied and no second fsync of 1 MB. Counts only if `dest` then reads
/// back as exactly `bytes` (what was read under the lock) and is a well-formed vault, and the
/// link is made durable (the folder is fsynced). `false`, with nothing left behind, when any
/// step fails (another file system, a file system without links, a vault that changed): the
/// caller copies instead.
fn link_checked(vault: &Path, dest: &Path, bytes: &[u8]) -> bool {
    if fs::hard_link(vault, dest).is_err() {
        return false;
    }
    let sound = store::read(dest).is_ok_and(|back| back == bytes && inspect(&back, dest).is_ok())
        // The generation's time is when it was kept, as for a copy (listing and pruning order
        // by it); the vault shares the inode only until the rename a moment from now.
        && fs::File::options()
            .write(true)
            .open(dest)
            .and_then(|f| f.set_modified(SystemTime::now()))
            .is_ok()
        && store::sync_folder(store::folder_of(dest)).is_ok();
    if !sound {
        let _ = fs::remove_file(dest);
    }
    sound
}

/// Where `backup [DEST]` writes: DEST if it names a file, a fresh name inside DEST if it is a
/// folder, else a fresh name in `<vault folder>/backups/`.
pub fn destination(vault: &Path, dest: Option<&Path>) -> Result<PathBuf> {
    let now = SystemTime::now();
    let name_in = |folder: &Path| -> Result<PathBuf> {
        ensure_private_folder(folder)?;
        Ok(fresh_name(folder, &stem(vault), &stamp(now, false)))
    };
    match dest {
        None => name_in(&folder(vault)),
        Some(d) if d.is_dir() => name_in(d),
        Some(d) if store::exists(d) => Err(Error::usage(format!(
            "{} already exists; name a new file or a folder",
            d.display()
        ))),
        Some(d) => Ok(d.to_path_buf()),
    }
}

/// Writes a manual copy of `bytes` (the vault as read) to `dest` and checks it.
pub fn write_copy(vault: &Path, bytes: &[u8], dest: &Path) -> Result<()> {
    let same = fs::canonicalize(vault)
        .ok()
        .zip(dest.parent().and_then(|p| fs::canonicalize(p).ok()))
        .is_some_and(|(v, parent)| dest.file_name().is_some_and(|n| v == parent.join(n)));
    if same {
        return Err(Error::usage("the backup cannot be the vault itself"));
    }
    write_checked(dest, bytes)
}

/// Automatic or made by `backup`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyKind {
    Automatic,
    Manual,
}

/// A copy found on disk, with what can be read without a key.
pub struct Copy {
    pub path: PathBuf,
    pub kind: CopyKind,
    pub size: u64,
    /// Seconds since the epoch (the file's modification time: when it was written).
    pub modified: i64,
    /// The same in nanoseconds, to order copies written within one second.
    order: u128,
    /// The header, when the copy is well-formed.
    pub header: Option<Header>,
}

/// True when the file name `name` is a copy of the vault whose stem is `stem`: exactly what
/// [`copy_file_name`] writes, `<stem>-<stamp>[-<n>].sesame`. Pruning deletes what this accepts, so
/// it must not take the copies of `work-2.sesame` for copies of `work.sesame`, which share the
/// folder: the rest after `<stem>-` has to be a whole stamp, not merely start with a digit.
pub fn is_copy_of(name: &str, stem: &str) -> bool {
    let Some(rest) = name
        .strip_prefix(stem)
        .and_then(|r| r.strip_prefix('-'))
        .and_then(|r| r.strip_suffix(EXTENSION))
        .and_then(|r| r.strip_suffix('.'))
    else {
        return false;
    };
    let (stamp, n) = match rest.split_once('-') {
        Some((stamp, n)) => (stamp, Some(n)),
        None => (rest, None),
    };
    is_stamp(stamp) && n.is_none_or(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `YYYYMMDDTHHMMSSZ` or `YYYYMMDDTHHMMSS.mmmZ`, as [`stamp`] writes them.
fn is_stamp(text: &str) -> bool {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let Some(body) = text.strip_suffix('Z') else {
        return false;
    };
    let (seconds, millis) = match body.split_once('.') {
        Some((seconds, millis)) => (seconds, Some(millis)),
        None => (body, None),
    };
    seconds
        .split_once('T')
        .is_some_and(|(date, time)| digits(date, 8) && digits(time, 6))
        && millis.is_none_or(|m| digits(m, 3))
}

/// Copies of the vault named `stem` in `folder` (regular files named as [`is_copy_of`] says).
fn copies_in(folder: &Path, stem: &str) -> Vec<Copy> {
    let Ok(entries) = fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = is_copy_of(&name, stem);
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        if !ours || !meta.is_file() {
            continue;
        }
        out.push(Copy {
            path: entry.path(),
            kind: CopyKind::Automatic,
            size: meta.len(),
            modified: modified_secs(&meta),
            order: meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos()),
            header: None,
        });
    }
    out
}

fn modified_secs(meta: &fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(meta.mtime(), |d| {
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Every copy sesame knows of `vault` (automatic and in `backups/`), newest first, with the
/// header of each that parses.
pub fn list(vault: &Path) -> Vec<Copy> {
    let stem = stem(vault);
    let mut all = copies_in(&auto_folder(vault), &stem);
    for mut copy in copies_in(&folder(vault), &stem) {
        copy.kind = CopyKind::Manual;
        all.push(copy);
    }
    for copy in &mut all {
        copy.header = store::read(&copy.path)
            .ok()
            .and_then(|bytes| inspect(&bytes, &copy.path).ok().map(|p| p.header));
    }
    all.sort_by(|a, b| b.order.cmp(&a.order).then(b.path.cmp(&a.path)));
    all
}

#[cfg(test)]
mod link_tests {
    use super::*;

    #[test]
    fn a_generation_falls_back_to_a_copy_when_the_vault_cannot_be_linked() -> Result<()> {
        // A hard link is only a shortcut: where it cannot stand for the vault (here the path is
        // a symbolic link, so the link would be one too), the generation must still be written,
        // as a checked copy, and nothing half-made left behind.
        let bytes = include_bytes!("../tests/vectors/v1-basic.sesame");
        let dir = tempfile::tempdir().map_err(|e| Error::io("temp dir", e))?;
        let real = dir.path().join("real.sesame");
        fs::write(&real, bytes).map_err(|e| Error::io("write", e))?;
        let vault = dir.path().join("vault.sesame");
        std::os::unix::fs::symlink(&real, &vault).map_err(|e| Error::io("symlink", e))?;
        let kept = keep_generation(&vault, bytes)?.ok_or_else(|| Error::usage("no generation"))?;
        let meta = fs::symlink_metadata(&kept).map_err(|e| Error::io("stat", e))?;
        assert!(meta.is_file(), "{kept:?} is not a regular file");
        assert_eq!(fs::read(&kept).map_err(|e| Error::io("read", e))?, bytes);
        assert_eq!(
            fs::read_dir(auto_folder(&vault))
                .map_err(|e| Error::io("ls", e))?
                .count(),
            1
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `backup_file` fuzz target's first finding (see `fuzz/README.md`): the copies of a vault
    /// whose stem extends another's with `-` and a digit were taken for the other's copies.
    #[test]
    fn a_copy_belongs_to_one_vault_only() {
        let time = UNIX_EPOCH + std::time::Duration::from_millis(1_795_000_000_123);
        for n in [None, Some(2), Some(17)] {
            for millis in [false, true] {
                let name = copy_file_name("work-2", &stamp(time, millis), n);
                assert!(is_copy_of(&name, "work-2"), "{name}");
                assert!(!is_copy_of(&name, "work"), "{name}");
                assert!(!is_copy_of(&name, "work-2-"), "{name}");
            }
        }
        let found = "v-19700101T000000.000Z.v-v-62040323T160125Z.sesame";
        assert!(is_copy_of(found, "v-19700101T000000.000Z.v-v"));
        assert!(!is_copy_of(found, "v"));
        for not_ours in [
            "work-1.sesame",
            "work-20261125T161500Z.sesame.tmp",
            "work-20261125T161500Z-.sesame",
            "work-20261125T161500.12Z.sesame",
            "work-2026112T161500Z.sesame",
            "work.sesame",
        ] {
            assert!(!is_copy_of(not_ours, "work"), "{not_ours}");
        }
    }
}
