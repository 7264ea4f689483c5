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

use std::io::Read;

use crate::container::{format_error, inspect};
use crate::error::{Error, Result};
use crate::format::{Header, MAX_HEADER_LEN, read};
use crate::store;

/// Generations kept when `SESAME_AUTO_BACKUPS` is not set.
pub const DEFAULT_AUTO_BACKUPS: usize = 10;
/// The most generations `SESAME_AUTO_BACKUPS` may ask for.
pub const MAX_AUTO_BACKUPS: usize = 1000;
/// The extension of every copy.
pub const EXTENSION: &str = "sesame";

/// Opens the file at `path` and checks its header, reading at most [`MAX_HEADER_LEN`] bytes:
/// the magic, the fixed fields and the slots, and that the file's length is the header's plus
/// the payload length the header announces. Returns the header and the bytes read (the header
/// and whatever of the payload came with it) with the still open file.
fn read_header(path: &Path) -> Result<(Header, Vec<u8>, std::fs::File)> {
    let (file, len) = store::open_vault_file(path)?;
    let mut head = Vec::with_capacity(len.min(MAX_HEADER_LEN) as usize);
    (&file)
        .take(MAX_HEADER_LEN)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let (header, header_len) = read::parse_head(&head).map_err(|e| format_error(path, e))?;
    read::check_length(&header, header_len, len).map_err(|e| format_error(path, e))?;
    Ok((header, head, file))
}

/// Reads a file offered as a copy of a vault (`verify FILE`, `restore FILE`, a copy in the
/// backups folders) whole, but only once its header is checked ([`read_header`]): a file that
/// is not a vault, or whose length is not the one its header announces, is refused after at
/// most 64 KiB read, whatever its size (a planted 256 MiB file used to be read whole first).
pub fn read_copy(path: &Path) -> Result<Vec<u8>> {
    let (_, mut bytes, file) = read_header(path)?;
    (&file)
        .take(crate::format::MAX_FILE_LEN)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    Ok(bytes)
}

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

/// Refuses a `backups`, `backups/auto` or `backups/damaged` folder that is a symbolic link (or
/// not a folder at all). Copies are written, listed and pruned by name inside these folders: through a link,
/// whoever placed it would have sesame write vault copies wherever it points, and pruning
/// delete files there. A missing folder is fine (it is created when needed).
pub fn check_folders(vault: &Path) -> Result<()> {
    for folder in [folder(vault), auto_folder(vault), damaged_folder(vault)] {
        let Ok(meta) = fs::symlink_metadata(&folder) else {
            continue;
        };
        let problem = if meta.file_type().is_symlink() {
            "it is a symbolic link"
        } else if !meta.is_dir() {
            "it is not a folder"
        } else {
            continue;
        };
        return Err(Error::io(
            format!("{} cannot hold the vault's copies", folder.display()),
            std::io::Error::other(format!(
                "{problem}, and sesame writes, lists and prunes copies only in a real folder; \
                 remove it, or put a folder of your own in its place (SESAME_AUTO_BACKUPS=0 \
                 writes without automatic copies)"
            )),
        ));
    }
    Ok(())
}

/// True when `path` is a copy in a backups folder: a file named as [`copy_file_name`] names
/// copies, in a folder `backups` or `backups/auto`. Such a file is opened read-only: a command
/// that would write it is refused, and reading it records no use, so no lock or log file is
/// created beside the copies (pruning would never remove them), and no `backups/` beside them.
pub fn is_copy_in_backups(path: &Path) -> bool {
    let name_of = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    let folder = store::folder_of(path);
    let in_backups = match name_of(folder).as_deref() {
        Some("backups") => true,
        Some("auto" | "damaged") => folder.parent().and_then(name_of).as_deref() == Some("backups"),
        _ => false,
    };
    let Some(name) = name_of(path) else {
        return false;
    };
    in_backups
        && name
            .match_indices('-')
            .any(|(i, _)| i > 0 && is_copy_of(&name, &name[..i]))
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
    /// Kept as the newest automatic generation, at this path in `backups/auto`.
    Generation(PathBuf),
    /// The file did not parse; set aside at this path in `backups/damaged`.
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
    check_folders(vault)?;
    ensure_private_folder(&folder)?;
    check_folders(vault)?;
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
    check_folders(vault)?;
    ensure_private_folder(&folder)?;
    // Again once made: a link put in place meanwhile is refused too.
    check_folders(vault)?;
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

/// Removes the oldest generations beyond `keep`; nothing when a backups folder is a link. Only
/// sound generations (their header and length check out, as [`read_header`] reads them: at most
/// 64 KiB each) count and are removed: a damaged file in the folder is neither a generation nor
/// pruned, so damaged files can never push the last sound generations out.
fn prune(folder: &Path, vault: &Path, keep: usize) {
    if check_folders(vault).is_err() {
        return;
    }
    let mut copies = copies_in(folder, &stem(vault));
    copies.sort_by(|a, b| b.order.cmp(&a.order).then(b.path.cmp(&a.path)));
    // The header is enough: a whole read of each would make every write read every planted
    // 256 MiB file (docs/SECURITY.md, Audit 2, item 12).
    let sound = |copy: &Copy| read_header(&copy.path).is_ok();
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
        // A copy's own backups folder would be a `backups/` inside the backups folder.
        None if is_copy_in_backups(vault) => Err(Error::usage(format!(
            "{} is itself a copy in a backups folder; name where the new copy goes: \
             `sesame backup DEST`",
            vault.display()
        ))),
        None => {
            check_folders(vault)?;
            let made = name_in(&folder(vault))?;
            check_folders(vault)?;
            Ok(made)
        }
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
    /// A generation kept before a write, in `backups/auto`.
    Automatic,
    /// Made by `sesame backup`, in `backups/`.
    Manual,
}

/// A copy found on disk, with what can be read without a key.
pub struct Copy {
    /// The copy's file.
    pub path: PathBuf,
    /// Automatic or manual.
    pub kind: CopyKind,
    /// Its size in bytes.
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
/// None in a folder that is a symbolic link ([`check_folders`]).
fn copies_in(folder: &Path, stem: &str) -> Vec<Copy> {
    if fs::symlink_metadata(folder).is_ok_and(|m| m.file_type().is_symlink()) {
        return Vec::new();
    }
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
        copy.header = read_header(&copy.path).ok().map(|(header, _, _)| header);
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
