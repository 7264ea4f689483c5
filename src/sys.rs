//! The one module allowed `unsafe`: taking ownership of descriptors sesame inherited by number
//! (`--passphrase-fd N` and friends), the agent closing every descriptor it inherited, and for
//! `run --mask` reading a signal's inherited disposition and giving the child a controlling
//! terminal. rustix 1.x has no safe `close_range` or `sigaction`, std can only own a raw
//! descriptor through `from_raw_fd`, and a child's session is set up in `pre_exec`.

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

/// True when `signal` was ignored (SIG_IGN) when this process started, e.g. SIGHUP under `nohup`.
/// Must be called before sesame installs a handler for it.
pub fn signal_is_ignored(signal: i32) -> bool {
    // SAFETY: `sigaction` is plain data, for which all-zero bytes are a valid value.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null `act` only reads the current action into `old`, a valid, writable
    // `sigaction`; nothing in the process changes.
    let r = unsafe { libc::sigaction(signal, std::ptr::null(), &mut old) };
    r == 0 && old.sa_sigaction == libc::SIG_IGN
}

/// Makes the child `command` starts the leader of a new session whose controlling terminal is
/// the terminal on descriptor `terminal_fd` *in the child* (after its stdio is set up), as a
/// login or `script` does: the child's job-control signals then come from that terminal.
pub fn start_on_terminal(command: &mut std::process::Command, terminal_fd: RawFd) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only makes two system calls
    // (setsid, ioctl TIOCSCTTY), both async-signal-safe, with no allocation or lock;
    // `terminal_fd` is one of the child's standard descriptors, open for the closure's duration.
    unsafe {
        command.pre_exec(move || {
            rustix::process::setsid()?;
            let fd = std::os::fd::BorrowedFd::borrow_raw(terminal_fd);
            rustix::process::ioctl_tiocsctty(fd)?;
            Ok(())
        });
    }
}
