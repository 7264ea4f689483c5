//! The one module allowed `unsafe`: taking ownership of descriptors sesame inherited by number
//! (`--passphrase-fd N` and friends), and the agent closing every descriptor it inherited.
//! rustix 1.x has no safe `close_range`, and std can only own a raw descriptor through
//! `from_raw_fd`; both calls are sound only at start-up, before sesame opens anything itself.

#![allow(unsafe_code)]

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// True when descriptor `fd` is open in this process, checked without touching it: `/dev/fd/N`
/// exists exactly for the open descriptors (Linux: a link in `/proc/self/fd`; macOS: fdescfs).
fn is_open(fd: RawFd) -> bool {
    fd >= 0 && std::fs::symlink_metadata(format!("/dev/fd/{fd}")).is_ok()
}

/// Takes ownership of an inherited descriptor above 2 and marks it close-on-exec, so no child
/// process ever receives it and dropping the result closes it. `None` when it is not open (or is
/// one of the standard streams, which sesame never closes).
///
/// Must be called at start-up, before sesame opens a file, and at most once per number: only then
/// is the descriptor one that nothing else in the process owns.
pub fn claim_inherited_fd(fd: RawFd) -> Option<OwnedFd> {
    if fd <= 2 || !is_open(fd) {
        return None;
    }
    // SAFETY: `fd` is open (checked just above; the process is still single-threaded and has
    // opened nothing, so it cannot have been closed or reused since) and nothing in this process
    // owns it: it was inherited, and the caller claims each number once, before any file is
    // opened. Its only cleanup is `close`, which the returned `OwnedFd` does when dropped.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // Close-on-exec from now on: even before it is dropped, no child (`run`, `--verify`, the
    // passphrase command, the agent) inherits it. If this fails the descriptor is still closed
    // as soon as it is read, before any child starts.
    let _ = rustix::io::fcntl_setfd(&owned, rustix::io::FdFlags::CLOEXEC);
    Some(owned)
}

/// Closes every descriptor above 2 (for the agent, which must not keep what its starter's shell
/// left open for its whole life). Best effort: where `/dev/fd` cannot be listed nothing is closed.
///
/// Must be called first thing in a process that owns no descriptor above 2 yet.
pub fn close_inherited_fds() {
    let numbers: Vec<RawFd> = match std::fs::read_dir("/dev/fd") {
        Ok(entries) => entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .filter(|&fd: &RawFd| fd > 2)
            .collect(),
        Err(_) => return,
    };
    // The listing's own descriptor is in `numbers` but already closed: skip what is not open
    // (closing a closed descriptor is a bug rustix asserts against).
    for fd in numbers.into_iter().filter(|&fd| is_open(fd)) {
        // SAFETY: `fd` is open, and the caller guarantees nothing in this process owns a
        // descriptor above 2; the process is single-threaded here, so no number can be reused
        // between the check and this call: closing it takes nothing from any owner.
        unsafe { rustix::io::close(fd) };
    }
}
