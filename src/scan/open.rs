//! Opening a file to search it: never blocking, never through a link, regular files only.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// A file opened for searching, or why it is not searched.
pub(crate) enum Searchable {
    File(File),
    Not(&'static str),
}

pub(crate) const NOT_REGULAR: &str = "a FIFO, device or socket";
pub(crate) const KERNEL_FILE: &str = "on a kernel file system (/proc, /sys)";

/// Opens `path` to search it without ever blocking on it: `O_NONBLOCK` (a FIFO put where the
/// walk saw a file opens at once instead of waiting for a writer), no symbolic link followed,
/// and the type checked on the opened file, so it cannot change between the check and the read.
/// Files of kernel file systems are passed over too: `/proc/kmsg` blocks a reader (and, with
/// `O_NONBLOCK`, fails), `/proc/kcore` is as large as the address space.
pub(crate) fn open_searchable(path: &Path) -> io::Result<Searchable> {
    use rustix::fs::OFlags;
    let flags = OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::NOCTTY;
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
    {
        Ok(file) => file,
        // A socket (or a FIFO nobody writes to, on some systems) cannot be opened at all.
        Err(e) if rustix::io::Errno::from_io_error(&e) == Some(rustix::io::Errno::NXIO) => {
            return Ok(Searchable::Not(NOT_REGULAR));
        }
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Ok(Searchable::Not(NOT_REGULAR));
    }
    if is_kernel_file(&file) {
        return Ok(Searchable::Not(KERNEL_FILE));
    }
    Ok(Searchable::File(file))
}

/// True when the opened `file` is on one of the kernel's pseudo file systems (`/proc`, `/sys`):
/// checked on the file itself, so a symlink or a swapped path cannot get past it. A template or
/// env file there is refused: `/proc/self/environ` is sesame's own environment, credentials and
/// all.
pub(crate) fn is_kernel_file(file: &File) -> bool {
    rustix::fs::fstatfs(file).is_ok_and(|st| is_kernel_magic(&st))
}

/// True when `path` (a folder the walk is about to enter, a PATH given) is on one of the kernel's
/// pseudo file systems: `scan /proc` (or `scan /`) does not walk the 26,000 entries there, most of
/// them unreadable or gone by the time they are opened.
pub(crate) fn is_kernel_path(path: &Path) -> bool {
    rustix::fs::statfs(path).is_ok_and(|st| is_kernel_magic(&st))
}

/// True for the kernel's pseudo file systems, whose "files" are interfaces, not stored text.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn is_kernel_magic(st: &rustix::fs::StatFs) -> bool {
    // statfs(2) magic numbers: proc, sysfs, debugfs, tracefs, securityfs, cgroup, cgroup2,
    // configfs, bpf, pstore, efivarfs.
    const KERNEL: [u64; 11] = [
        0x9fa0,
        0x6265_6572,
        0x6462_6720,
        0x7472_6163,
        0x7363_6673,
        0x0027_e0eb,
        0x6367_7270,
        0x6265_6570,
        0xcafe_4a11,
        0x6165_676c,
        0xde5e_81e4,
    ];
    #[allow(clippy::unnecessary_cast)]
    KERNEL.contains(&((st.f_type as u64) & 0xffff_ffff))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn is_kernel_magic(_st: &rustix::fs::StatFs) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_swapped_for_a_fifo_after_the_walk_is_passed_over_without_blocking() -> io::Result<()>
    {
        // The walk saw a file; by the time it is opened a FIFO with no writer stands there.
        // Opening it for reading used to block until a writer came (7 hangs in 30 runs).
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("swapped");
        let made = std::process::Command::new("mkfifo").arg(&path).status()?;
        assert!(made.success());
        assert!(matches!(
            open_searchable(&path)?,
            Searchable::Not(NOT_REGULAR)
        ));
        std::fs::remove_file(&path)?;
        std::fs::write(&path, b"text")?;
        assert!(matches!(open_searchable(&path)?, Searchable::File(_)));
        Ok(())
    }
}
