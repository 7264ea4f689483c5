//! The platform seam and the one module allowed `unsafe`.
//!
//! Everything that differs between Linux and the other Unixes sesame means to run on (macOS next)
//! is here behind a small interface — peer credentials and the credentials of each message,
//! watching a process end, close-on-exec pipes, the pty master, sealed in-memory files — so a
//! port touches this file: [`peer_uid`], [`peer_pid`], [`pass_credentials`],
//! [`read_with_sender`], [`ProcessWatch`], [`pipe_cloexec`], [`open_pty_master`],
//! [`sealed_memfd`]. Where a facility is missing the function says so
//! (`ErrorKind::Unsupported`), and the caller tells the user.
//!
//! And what needs `unsafe`: taking ownership of descriptors sesame inherited by number
//! (`--passphrase-fd N` and friends), the agent closing every descriptor it inherited, reading a
//! signal's inherited disposition, giving a masked child a controlling terminal (with a keeper
//! process between sesame and the program, for job control), `getpeereid` where there is no
//! `SO_PEERCRED`, and `recvmsg` for the credentials of each message. rustix 1.x has no safe
//! `close_range` or `sigaction`, its received credentials hold the pid as a non-zero number (the
//! kernel writes 0 for a writer it cannot name: undefined behaviour there), std can only own a
//! raw descriptor through `from_raw_fd`, and a child's session is set up in `pre_exec`.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

/// The uid of the process at the other end of a Unix socket: `SO_PEERCRED` on Linux,
/// `getpeereid` on macOS and the BSDs. `None` when the system does not say.
pub(crate) fn peer_uid(stream: &UnixStream) -> Option<u32> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        peer_credentials(stream).map(|cred| cred.uid)
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
/// `None` elsewhere, and when the peer is in a pid namespace this process cannot see (the
/// kernel says 0 then).
pub(crate) fn peer_pid(stream: &UnixStream) -> Option<i32> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        peer_credentials(stream)
            .map(|cred| cred.pid)
            .filter(|&pid| pid != 0)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = stream;
        None
    }
}

/// `SO_PEERCRED`, read into libc's `ucred` rather than through rustix, whose `UCred` holds the
/// pid as a non-zero number: the kernel gives 0 for a peer in a pid namespace this process
/// cannot see, which such a type cannot hold.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn peer_credentials(stream: &UnixStream) -> Option<libc::ucred> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: the descriptor is the open socket `stream` borrows for this call; `cred` is a
    // valid, writable `ucred` and `len` its size, which the kernel does not write past.
    let r = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &mut len,
        )
    };
    (r == 0 && len as usize == size_of::<libc::ucred>()).then_some(cred)
}

/// Who wrote bytes read from a Unix socket, as the kernel recorded it at the write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sender {
    /// The writer's process id as this process sees it; 0 when the writer is in a pid namespace
    /// this process cannot see into.
    pub pid: i32,
    /// The writer's uid (its real one, unless it had the right to claim another).
    pub uid: u32,
}

/// True where [`read_with_sender`] names the writer of the bytes of every read: Linux, with
/// [`pass_credentials`] on the socket. macOS and the BSDs have no credentials on every message.
pub(crate) const HAS_SENDER_CREDENTIALS: bool =
    cfg!(any(target_os = "linux", target_os = "android"));

/// Has the kernel attach the writer's credentials to everything written to `socket` from now on
/// (`SO_PASSCRED`, Linux). Set on a listening socket, every connection it accepts has it from its
/// birth: a client's first bytes, even those written before `accept`, carry them. Elsewhere
/// `Unsupported`.
pub(crate) fn pass_credentials(socket: &impl std::os::fd::AsFd) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        Ok(rustix::net::sockopt::set_socket_passcred(socket, true)?)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = socket;
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Reads into `buf` like `read(2)`, and says who wrote the bytes read: on Linux, with
/// [`pass_credentials`] on the socket, the kernel attaches each writer's credentials to what it
/// wrote and one read never returns the bytes of two writers, so the sender is that of every byte
/// read. `None` when nothing named the writer: always where [`HAS_SENDER_CREDENTIALS`] is false,
/// and for an end of stream (0 bytes).
///
/// Descriptors a client sends along (`SCM_RIGHTS`) are never received: the room for ancillary
/// data holds the credentials alone, which the kernel writes first, so it drops them.
pub(crate) fn read_with_sender(
    stream: &UnixStream,
    buf: &mut [u8],
) -> io::Result<(usize, Option<Sender>)> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: pure arithmetic on a constant.
        const ROOM: usize = unsafe { libc::CMSG_SPACE(size_of::<libc::ucred>() as u32) } as usize;
        // u64s: aligned for `cmsghdr`, as the kernel and CMSG_* require.
        let mut control = [0u64; ROOM.div_ceil(8)];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: `msghdr` is plain data, for which all-zero bytes are a valid value.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = ROOM as _;
        // SAFETY: the descriptor is the open socket `stream` borrows for this call; `msg` points
        // at one iovec covering exactly `buf` and at `control`, ROOM writable bytes (its size is
        // at least that), all alive and unaliased for the call. MSG_CMSG_CLOEXEC: nothing
        // received could outlive an exec even if a descriptor did arrive.
        let read = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        let Ok(read) = usize::try_from(read) else {
            return Err(io::Error::last_os_error());
        };
        if read == 0 {
            return Ok((0, None));
        }
        // SAFETY: `msg` is the header recvmsg just filled: its control pointer and length (set by
        // the kernel to what it wrote, at most ROOM) describe initialised bytes of `control`.
        let first = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        // SAFETY: `first`, when not null, points at a whole `cmsghdr` inside `control` (CMSG_FIRSTHDR
        // checks the length), aligned (u64 buffer).
        let Some(header) = (unsafe { first.as_ref() }) else {
            return Ok((read, None));
        };
        // SAFETY: pure arithmetic on a constant.
        let whole = unsafe { libc::CMSG_LEN(size_of::<libc::ucred>() as u32) };
        if header.cmsg_level != libc::SOL_SOCKET
            || header.cmsg_type != libc::SCM_CREDENTIALS
            || header.cmsg_len < whole as _
        {
            return Ok((read, None));
        }
        // SAFETY: the message is SCM_CREDENTIALS with room for a whole `ucred` (checked above)
        // inside `control`; `ucred` is plain integers, any bytes are a valid value, and the read
        // needs no alignment.
        let cred: libc::ucred =
            unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(first).cast::<libc::ucred>()) };
        Ok((
            read,
            Some(Sender {
                pid: cred.pid,
                uid: cred.uid,
            }),
        ))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        use std::io::Read;
        let mut stream = stream;
        Ok((stream.read(buf)?, None))
    }
}

/// A process, watched to learn when it ends: a pidfd on Linux, which names that process and no
/// later one given its number. `None` inside: it had ended before the watch began.
pub(crate) struct ProcessWatch(Option<OwnedFd>);

impl ProcessWatch {
    /// Starts watching process `pid`; `None` where the system cannot watch it (no pidfd, or a pid
    /// of 0: a process this one cannot see), so a caller knows only what it knew before.
    pub(crate) fn new(pid: i32) -> Option<ProcessWatch> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let pid = rustix::process::Pid::from_raw(pid)?;
            match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
                Ok(fd) => Some(ProcessWatch(Some(fd))),
                // No such process: it has ended (and been reaped) already.
                Err(rustix::io::Errno::SRCH) => Some(ProcessWatch(None)),
                Err(_) => None,
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = pid;
            None
        }
    }

    /// True once the process has ended (a pidfd turns readable then).
    pub(crate) fn ended(&self) -> bool {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let Some(fd) = &self.0 else {
            return true;
        };
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        let now = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        poll(&mut fds, Some(&now)).is_ok_and(|_| !fds[0].revents().is_empty())
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

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// `printf BYTES` run by `sh` with its stdout on `socket`; the child's pid, once it ended.
    fn written_by_a_child(socket: &UnixStream, bytes: &str) -> io::Result<i32> {
        let mut child = Command::new("sh")
            .args(["-c", &format!("printf {bytes}")])
            .stdout(Stdio::from(OwnedFd::from(socket.try_clone()?)))
            .spawn()?;
        let pid = i32::try_from(child.id()).unwrap_or(0);
        child.wait()?;
        Ok(pid)
    }

    fn me() -> Sender {
        Sender {
            pid: i32::try_from(std::process::id()).unwrap_or(0),
            uid: rustix::process::getuid().as_raw(),
        }
    }

    /// `SO_PEERCRED` read without a type that cannot hold the pid 0 the kernel gives for a peer
    /// in another pid namespace: here, the peer is this process.
    #[test]
    fn the_peer_of_a_socket_is_read_into_a_type_that_can_hold_any_pid() -> io::Result<()> {
        let (ours, _theirs) = UnixStream::pair()?;
        assert_eq!(peer_pid(&ours), Some(me().pid));
        assert_eq!(peer_uid(&ours), Some(me().uid));
        Ok(())
    }

    /// The agent showed the process that connected (`SO_PEERCRED`) for a request a child wrote
    /// on a socket it inherited; the credentials of each message name the child.
    #[test]
    fn a_read_names_the_process_that_wrote_the_bytes_not_the_one_that_connected() -> io::Result<()>
    {
        let (ours, theirs) = UnixStream::pair()?;
        pass_credentials(&ours)?;
        let child = written_by_a_child(&theirs, "x")?;
        assert_ne!(child, me().pid);
        assert_eq!(peer_pid(&ours), Some(me().pid));
        let mut buf = [0u8; 16];
        let (read, sender) = read_with_sender(&ours, &mut buf)?;
        assert_eq!(&buf[..read], b"x");
        assert_eq!(
            sender,
            Some(Sender {
                pid: child,
                uid: me().uid
            })
        );
        Ok(())
    }

    #[test]
    fn one_read_never_joins_the_bytes_of_two_writers() -> io::Result<()> {
        let (ours, mut theirs) = UnixStream::pair()?;
        pass_credentials(&ours)?;
        theirs.write_all(b"ab")?;
        let child = written_by_a_child(&theirs, "cd")?;
        theirs.write_all(b"ef")?;
        let mut buf = [0u8; 16];
        for (bytes, pid) in [(&b"ab"[..], me().pid), (b"cd", child), (b"ef", me().pid)] {
            let (read, sender) = read_with_sender(&ours, &mut buf)?;
            assert_eq!((&buf[..read], sender.map(|s| s.pid)), (bytes, Some(pid)));
        }
        drop(theirs);
        assert_eq!(read_with_sender(&ours, &mut buf)?, (0, None));
        Ok(())
    }

    /// Descriptors sent along with a message are dropped by the kernel, not received: the room
    /// for ancillary data holds the credentials alone.
    #[test]
    fn descriptors_sent_with_a_message_are_not_received() -> io::Result<()> {
        use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags, sendmsg};
        use std::os::fd::AsFd;
        let (ours, theirs) = UnixStream::pair()?;
        pass_credentials(&ours)?;
        let (read_end, write_end) = rustix::pipe::pipe()?;
        let pipe = format!("pipe:[{}]", rustix::fs::fstat(&read_end)?.st_ino);
        let fds = [read_end.as_fd()];
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        control.push(SendAncillaryMessage::ScmRights(&fds));
        sendmsg(
            &theirs,
            &[io::IoSlice::new(b"z")],
            &mut control,
            SendFlags::empty(),
        )?;
        drop((read_end, write_end));
        let mut buf = [0u8; 4];
        let (read, sender) = read_with_sender(&ours, &mut buf)?;
        assert_eq!((read, sender), (1, Some(me())));
        // No descriptor of this process is the pipe: none was received.
        for entry in std::fs::read_dir("/proc/self/fd")?.flatten() {
            let target = std::fs::read_link(entry.path()).unwrap_or_default();
            assert_ne!(target.to_string_lossy(), pipe);
        }
        Ok(())
    }
}
