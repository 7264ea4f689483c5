//! The platform seam and the one module allowed `unsafe`.
//!
//! Everything that differs between Linux and the other Unixes sesame means to run on (macOS next)
//! is here behind a small interface — peer credentials, close-on-exec pipes, the pty master,
//! sealed in-memory files — so a port touches this file: [`peer_uid`], [`peer_pid`],
//! [`pipe_cloexec`], [`open_pty_master`], [`sealed_memfd`]. Where a facility is missing the
//! function says so (`ErrorKind::Unsupported`), and the caller tells the user.
//!
//! And what needs `unsafe`: taking ownership of descriptors sesame inherited by number
//! (`--passphrase-fd N` and friends), the agent closing every descriptor it inherited, reading a
//! signal's inherited disposition, giving a masked child a controlling terminal (with a keeper
//! process between sesame and the program, for job control), and `getpeereid` where there is no
//! `SO_PEERCRED`. rustix 1.x has no safe `close_range` or `sigaction`, std can only own a raw
//! descriptor through `from_raw_fd`, and a child's session is set up in `pre_exec`.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

/// The uid of the process at the other end of a Unix socket: `SO_PEERCRED` on Linux,
/// `getpeereid` on macOS and the BSDs. `None` when the system does not say.
pub(crate) fn peer_uid(stream: &UnixStream) -> Option<u32> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        rustix::net::sockopt::socket_peercred(stream)
            .ok()
            .map(|cred| cred.uid.as_raw())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        use std::os::fd::AsRawFd;
        let (mut uid, mut gid): (libc::uid_t, libc::gid_t) = (0, 0);
        // SAFETY: the descriptor is the open socket `stream` borrows for this call; `uid` and
        // `gid` are valid, writable locals.
        let r = unsafe { libc::getpeereid(stream.as_raw_fd(), &mut uid, &mut gid) };
        (r == 0).then_some(uid)
    }
}

/// The pid of the process at the other end of a Unix socket, where the kernel says (Linux);
/// `None` elsewhere.
pub(crate) fn peer_pid(stream: &UnixStream) -> Option<i32> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        rustix::net::sockopt::socket_peercred(stream)
            .ok()
            .map(|cred| cred.pid.as_raw_nonzero().get())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = stream;
        None
    }
}

/// A pipe whose two ends are close-on-exec: from birth where the system has `pipe2` (Linux),
/// else set at once (no other thread of sesame starts a child meanwhile).
pub(crate) fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let (r, w) = rustix::pipe::pipe()?;
        for end in [&r, &w] {
            rustix::io::fcntl_setfd(end, rustix::io::FdFlags::CLOEXEC)?;
        }
        Ok((r, w))
    }
}

/// A new pseudo-terminal master, read-write, not our controlling terminal, close-on-exec.
pub(crate) fn open_pty_master() -> io::Result<OwnedFd> {
    use rustix::pty::{OpenptFlags, openpt};
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        Ok(openpt(
            OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC,
        )?)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY)?;
        rustix::io::fcntl_setfd(&master, rustix::io::FdFlags::CLOEXEC)?;
        Ok(master)
    }
}

/// True where [`sealed_memfd`] can work.
pub(crate) const HAS_MEMFD: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// An in-memory file holding `bytes`, sealed so nobody can change, grow or shrink it, and left
/// inheritable (a child must receive it): Linux `memfd_create`. Elsewhere `Unsupported`.
pub(crate) fn sealed_memfd(name: &str, bytes: &[u8]) -> io::Result<OwnedFd> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{MemfdFlags, SealFlags, fcntl_add_seals, memfd_create};
        use std::os::unix::fs::FileExt;
        // No MFD_CLOEXEC: the child must inherit it.
        let fd = memfd_create(format!("sesame:{name}"), MemfdFlags::ALLOW_SEALING)?;
        let file = std::fs::File::from(fd);
        // pwrite leaves the offset at 0: a child reading the descriptor itself starts at the top.
        file.write_all_at(bytes, 0)?;
        fcntl_add_seals(
            &file,
            SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL,
        )?;
        Ok(file.into())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (name, bytes);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

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
pub(crate) fn claim_inherited_fd(fd: RawFd) -> Option<OwnedFd> {
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
pub(crate) fn close_inherited_fds() {
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
pub(crate) fn signal_is_ignored(signal: i32) -> bool {
    // SAFETY: `sigaction` is plain data, for which all-zero bytes are a valid value.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null `act` only reads the current action into `old`, a valid, writable
    // `sigaction`; nothing in the process changes.
    let r = unsafe { libc::sigaction(signal, std::ptr::null(), &mut old) };
    r == 0 && old.sa_sigaction == libc::SIG_IGN
}

/// Makes the child `command` starts the leader of a new session whose controlling terminal is
/// the terminal on descriptor `terminal_fd` *in the child* (after its stdio is set up), as a
/// login or `script` does, and runs the program itself one level further down, in a process
/// group of its own in front on that terminal, as a shell runs a job.
///
/// Why two processes: a session leader's process group has no parent in its session, so it is
/// *orphaned*, and the kernel discards the terminal's SIGTSTP for an orphaned group (Ctrl-Z did
/// nothing). The leader (the "keeper", the process sesame started) forks the program, waits for
/// it and passes on what happens to it: the program stopped makes the keeper stop (SIGSTOP),
/// which sesame sees; continued by sesame, the keeper continues the program's group; the
/// program's exit status or deadly signal becomes the keeper's, so sesame sees it as before.
pub(crate) fn start_on_terminal(command: &mut std::process::Command, terminal_fd: RawFd) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and makes only async-signal-safe
    // system calls (setsid, ioctl, fork, setpgid, sigprocmask, tcsetpgrp, and in the keeper
    // close_range/close, signal, waitpid, kill, _exit), with no allocation or lock;
    // `terminal_fd` is one of the child's standard descriptors, open for the closure's duration.
    unsafe {
        command.pre_exec(move || {
            rustix::process::setsid()?;
            let fd = std::os::fd::BorrowedFd::borrow_raw(terminal_fd);
            rustix::process::ioctl_tiocsctty(fd)?;
            match libc::fork() {
                -1 => Err(std::io::Error::last_os_error()),
                0 => {
                    // The program: a group of its own, put in front on the terminal (with
                    // SIGTTOU blocked, as a shell does: it is not in front yet), then exec.
                    libc::setpgid(0, 0);
                    let mut ttou: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut ttou);
                    libc::sigaddset(&mut ttou, libc::SIGTTOU);
                    libc::sigprocmask(libc::SIG_BLOCK, &ttou, std::ptr::null_mut());
                    libc::tcsetpgrp(terminal_fd, libc::getpid());
                    libc::sigprocmask(libc::SIG_UNBLOCK, &ttou, std::ptr::null_mut());
                    Ok(())
                }
                program => keep(program),
            }
        });
    }
}

/// The keeper's life (see [`start_on_terminal`]); never returns. Runs between fork and exec, so
/// it makes only async-signal-safe calls.
///
/// # Safety
/// Only in a freshly forked child, whose other threads do not exist.
unsafe fn keep(program: libc::pid_t) -> ! {
    // SAFETY: all of these are async-signal-safe system calls on this process's own state.
    unsafe {
        // Nothing of sesame's stays open here: the pipe through which std learns that exec
        // succeeded must close, and the program's output channels must end when it does.
        #[cfg(target_os = "linux")]
        let closed = libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) == 0;
        #[cfg(not(target_os = "linux"))]
        let closed = false;
        if !closed {
            for fd in 0..1024 {
                libc::close(fd);
            }
        }
        // sesame's signal handlers were inherited: the keeper takes the default actions.
        for signal in [
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGWINCH,
            libc::SIGCONT,
        ] {
            libc::signal(signal, libc::SIG_DFL);
        }
        let mut status = 0;
        loop {
            let r = libc::waitpid(program, &mut status, libc::WUNTRACED);
            if r == -1 {
                // Reads errno: no allocation.
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                libc::_exit(1);
            }
            if libc::WIFSTOPPED(status) {
                // SIGSTOP: the keeper's group is orphaned, SIGTSTP would be discarded.
                libc::kill(libc::getpid(), libc::SIGSTOP);
                // Continued (sesame's SIGCONT): continue the program's group.
                libc::kill(-program, libc::SIGCONT);
                continue;
            }
            if libc::WIFSIGNALED(status) {
                let signal = libc::WTERMSIG(status);
                libc::signal(signal, libc::SIG_DFL);
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, signal);
                libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                libc::kill(libc::getpid(), signal);
                libc::_exit(128 + signal);
            }
            libc::_exit(libc::WEXITSTATUS(status));
        }
    }
}
