//! `run --mask`: sesame stays the parent, passes signals on, and filters the child's output.
//!
//! When sesame's stdout is a terminal the child runs on a pseudo-terminal of its own (size kept in
//! step, ours in raw mode while it runs, restored on every way out sesame can see: not `kill -9`),
//! so it behaves as on a terminal, job control included (the child stopped by Ctrl-Z stops
//! sesame with it; `fg` continues both); otherwise it gets pipes. stdout and stderr share one channel when they are the same
//! file, so their order is kept. One thread reads every channel (`poll`), so a pause can release
//! held-back bytes and the child's exit ends the run even if a process it left behind still holds
//! the channel open. A child killed by signal N makes sesame die of N, as a shell expects.

use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, kill_process, waitid};
use rustix::termios::{OptionalActions, Termios, isatty, tcgetattr, tcsetattr};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGWINCH};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::Cause;

use crate::error::{Error, Result};
use crate::inject::{exit_code, start_error};
use crate::mask::Masker;
use crate::secret::SecretValue;
use zeroize::Zeroize;

/// How long output must pause before a held-back tail may be released (see
/// [`Masker::release_idle`]): long enough that a program writing a value in pieces is not
/// interrupted, short enough that a prompt is not visibly cut.
const IDLE: Duration = Duration::from_millis(50);
/// After the child exits, how long to keep forwarding what is still arriving (what it wrote just
/// before exiting, or what the terminal has not passed on yet) before returning.
const DRAIN: Duration = Duration::from_millis(250);
const FORWARDED: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

/// The child's PID while it can be signalled; `None` once it has exited. The waiter clears it
/// (under the lock) before the child is reaped, so a signal is never sent to a reaped PID.
type ChildPid = Arc<Mutex<Option<Pid>>>;

/// Spawns `command` with its stdout and stderr masked; returns the exit code to exit with, or
/// dies of the signal that killed the child.
/// `values` are dropped (wiped) once the maskers hold their copies, before the child starts.
pub(crate) fn run_masked(command: Command, values: Vec<SecretValue>) -> Result<u8> {
    let (status, broken) = supervise(command, values)?;
    // The terminal is restored by now (the guard lives in `supervise`).
    if let Some(e) = broken {
        return Err(Error::io("cannot write the command's output", e));
    }
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = status.signal() {
        let _ = io::stdout().flush();
        // Dies of the same signal (default action), as a shell expects of the command itself;
        // returns only for a signal whose default is to be ignored.
        let _ = signal_hook::low_level::emulate_default_handler(signal);
    }
    Ok(exit_code(status))
}

/// Where a channel's bytes go.
#[derive(Clone, Copy)]
enum Sink {
    Stdout,
    Stderr,
}

impl Sink {
    /// The descriptor itself, unbuffered: std's stdout is line-buffered, which costs a scan and
    /// a copy of every byte, and the masker already writes in large pieces.
    fn out(self) -> RawOut {
        match self {
            Sink::Stdout => RawOut(rustix::stdio::stdout()),
            Sink::Stderr => RawOut(rustix::stdio::stderr()),
        }
    }
    fn feed(self, masker: &mut Option<Masker>, bytes: &[u8]) -> io::Result<()> {
        feed(masker, bytes, &mut self.out())
    }
    fn finish(self, masker: &mut Option<Masker>) -> io::Result<()> {
        match masker {
            Some(m) => m.finish(&mut self.out()),
            None => Ok(()),
        }
    }
    fn release_idle(self, masker: &mut Option<Masker>) -> io::Result<()> {
        match masker {
            Some(m) => m.release_idle(&mut self.out()).map(drop),
            None => Ok(()),
        }
    }
}

/// Writes straight to sesame's stdout or stderr.
struct RawOut(std::os::fd::BorrowedFd<'static>);

impl Write for RawOut {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        loop {
            match rustix::io::write(self.0, bytes) {
                Err(Errno::INTR) => continue,
                r => return r.map_err(io::Error::from),
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn feed(masker: &mut Option<Masker>, bytes: &[u8], out: &mut impl Write) -> io::Result<()> {
    match masker {
        Some(m) => m.feed(bytes, out),
        None => out.write_all(bytes).and_then(|()| out.flush()),
    }
}

/// One output channel of the child: the read end of a pipe, or the pseudo-terminal's master.
struct Channel {
    fd: Option<OwnedFd>,
    sink: Sink,
    masker: Option<Masker>,
    /// An idle release was tried since the last bytes arrived (do not poll with a timeout again).
    idle_tried: bool,
    /// Writing this channel's output failed: nothing more is written for it.
    failed: bool,
}

impl Channel {
    fn new(fd: OwnedFd, sink: Sink, values: &[SecretValue]) -> Result<Channel> {
        // Output that ends on a terminal is matched as the terminal shows it (escape sequences
        // inside a value do not hide it).
        let masker = if isatty(sink.out().0) {
            Masker::for_terminal(values)
        } else {
            Masker::new(values)
        }
        .map_err(|e| Error::io("cannot mask", e))?;
        Ok(Channel {
            fd: Some(fd),
            sink,
            masker,
            idle_tried: false,
            failed: false,
        })
    }

    /// Reads once and passes the bytes on. `Ok(false)` at end of stream. A write error closes
    /// the channel (the child then meets EPIPE or SIGPIPE, as in a pipeline) and is returned.
    fn pump(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        let Some(fd) = &self.fd else {
            return Ok(false);
        };
        let n = match rustix::io::read(fd, &mut *buf) {
            Ok(0) | Err(Errno::IO) => return Ok(false), // EIO: the terminal's last holder left
            Ok(n) => n,
            Err(Errno::INTR | Errno::AGAIN) => return Ok(true),
            Err(e) => return Err(e.into()),
        };
        self.idle_tried = false;
        let fed = self.sink.feed(&mut self.masker, &buf[..n]);
        // The output may hold a value (that is why it is masked): not left in the buffer.
        buf[..n].zeroize();
        if let Err(e) = fed {
            self.fd = None;
            self.failed = true;
            return Err(e);
        }
        Ok(true)
    }
}

/// Raw mode on sesame's terminal while the child runs; the saved settings are put back when this
/// is dropped: on return, on error and on a panic's unwinding.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter() -> io::Result<RawMode> {
        let saved = tcgetattr(io::stdin())?;
        let mut raw = saved.clone();
        raw.make_raw();
        tcsetattr(io::stdin(), OptionalActions::Drain, &raw)?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(io::stdin(), OptionalActions::Drain, &self.saved);
    }
}

/// What sesame needs to follow the child into a stop and out of it (`fg`).
struct JobControl {
    /// Our terminal's settings before raw mode.
    saved: Termios,
    master: Option<Arc<OwnedFd>>,
}

impl JobControl {
    /// The child (in front on its own terminal) was stopped by `signal`: put our terminal back
    /// and stop sesame with the same signal, so the shell sees the job stop. When continued
    /// (`fg`), raw mode again, the child's process group continued and told to redraw.
    fn stop_with_child(&self, child: Pid, signal: i32) {
        let _ = tcsetattr(io::stdin(), OptionalActions::Drain, &self.saved);
        // SIGSTOP becomes SIGTSTP: the kernel does not stop an orphaned process group (no shell
        // to continue it) with SIGTSTP, SIGTTIN or SIGTTOU, and sesame then goes straight on,
        // where SIGSTOP would leave it stopped for good. Default action: every thread of sesame
        // stops here until SIGCONT.
        let stop = Signal::from_named_raw(signal)
            .filter(|s| *s != Signal::STOP)
            .unwrap_or(Signal::TSTP);
        // raise(3), not kill(2): sent to this thread, which then stops before its next
        // instruction; a signal sent to the process could be taken by another thread while this
        // one went on to put raw mode back before the stop.
        let _ = signal_hook::low_level::raise(stop.as_raw());
        let mut raw = self.saved.clone();
        raw.make_raw();
        let _ = tcsetattr(io::stdin(), OptionalActions::Drain, &raw);
        // The keeper continues the program's group.
        let _ = kill_process(child, Signal::CONT);
        if let Some(m) = &self.master {
            copy_size(&**m);
            // The size may be unchanged, and then the kernel sends no SIGWINCH: a redraw is
            // wanted anyway (the screen shows the shell's lines since the stop).
            if let Ok(group) = rustix::termios::tcgetpgrp(&**m) {
                let _ = rustix::process::kill_process_group(group, Signal::WINCH);
            }
        }
    }
}

/// True when descriptors 1 and 2 are the same file (same device and inode: one terminal, or one
/// log file behind `>log 2>&1`).
fn stdout_is_stderr() -> bool {
    match (
        rustix::fs::fstat(io::stdout()),
        rustix::fs::fstat(io::stderr()),
    ) {
        (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
        _ => false,
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let (r, w) = crate::sys::pipe_cloexec()
        .map_err(|e| Error::io("cannot make a pipe for the command's output", e))?;
    // A larger pipe (Linux: 1 MiB, the unprivileged limit; else as it is) lets each read take
    // more at once: fewer wake-ups per megabyte masked.
    #[cfg(target_os = "linux")]
    let _ = rustix::pipe::fcntl_setpipe_size(&r, 1024 * 1024);
    Ok((r, w))
}

/// A new pseudo-terminal: (master, slave), the slave with our terminal's settings and size.
fn open_pty() -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::pty::{grantpt, ptsname, unlockpt};
    let master = crate::sys::open_pty_master()?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    if let Ok(settings) = tcgetattr(io::stdout()) {
        let _ = tcsetattr(&slave, OptionalActions::Now, &settings);
    }
    copy_size(&master);
    Ok((master, slave))
}

/// Gives the pseudo-terminal the size of sesame's terminal (the kernel then sends SIGWINCH to
/// the program in front on it).
fn copy_size(master: &impl AsFd) {
    if let Ok(size) = rustix::termios::tcgetwinsize(io::stdout()) {
        let _ = rustix::termios::tcsetwinsize(master, size);
    }
}

fn lock(pid: &ChildPid) -> std::sync::MutexGuard<'_, Option<Pid>> {
    pid.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs the child to its end; returns its status and a write error on sesame's output, if any
/// other than a closed reader.
fn supervise(
    mut command: Command,
    values: Vec<SecretValue>,
) -> Result<(ExitStatus, Option<io::Error>)> {
    let on_terminal = isatty(io::stdout());
    let forward_input = on_terminal && isatty(io::stdin());
    let one_channel = stdout_is_stderr();

    // Inherited SIG_IGN (nohup) is left alone: no handler, so the child inherits it too.
    let mut wanted: Vec<i32> = FORWARDED
        .into_iter()
        .filter(|&s| !crate::sys::signal_is_ignored(s))
        .collect();
    if on_terminal {
        wanted.push(SIGWINCH);
    }

    let mut channels = Vec::new();
    let mut master: Option<Arc<OwnedFd>> = None;
    if on_terminal {
        let (m, slave) = open_pty()
            .map_err(|e| Error::io("cannot open a pseudo-terminal for the command", e))?;
        let dup = |fd: &OwnedFd| {
            fd.try_clone()
                .map_err(|e| Error::io("cannot set up the command's terminal", e))
        };
        if forward_input {
            command.stdin(Stdio::from(dup(&slave)?));
        }
        command.stdout(Stdio::from(dup(&slave)?));
        if one_channel {
            command.stderr(Stdio::from(dup(&slave)?));
        } else {
            let (r, w) = pipe()?;
            command.stderr(Stdio::from(w));
            channels.push(Channel::new(r, Sink::Stderr, &values)?);
        }
        drop(slave);
        crate::sys::start_on_terminal(&mut command, 1);
        let m = Arc::new(m);
        channels.insert(
            0,
            Channel::new(
                Arc::clone(&m)
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(|e| Error::io("cannot set up the command's terminal", e))?,
                Sink::Stdout,
                &values,
            )?,
        );
        master = Some(m);
    } else {
        let (r, w) = pipe()?;
        if one_channel {
            let w2 = w
                .try_clone()
                .map_err(|e| Error::io("cannot make a pipe for the command's output", e))?;
            command.stderr(Stdio::from(w2));
        } else {
            let (r2, w2) = pipe()?;
            command.stderr(Stdio::from(w2));
            channels.push(Channel::new(r2, Sink::Stderr, &values)?);
        }
        command.stdout(Stdio::from(w));
        channels.insert(0, Channel::new(r, Sink::Stdout, &values)?);
    }

    // The maskers hold what they need: no other copy of the values stays while the child runs.
    drop(values);

    let child_pid: ChildPid = Arc::new(Mutex::new(None));
    let mut signals = SignalsInfo::<WithOrigin>::new(&wanted)
        .map_err(|e| Error::io("cannot install signal handlers", e))?;
    let signal_handle = signals.handle();
    {
        let child_pid = Arc::clone(&child_pid);
        let master = master.clone();
        thread::spawn(move || {
            for origin in signals.forever() {
                if origin.signal == SIGWINCH {
                    if let Some(m) = &master {
                        copy_size(&**m);
                    }
                    continue;
                }
                // With pipes the child shares sesame's terminal and process group, so a signal
                // the terminal generated (Ctrl-C) reached it already. On its own terminal it
                // did not.
                if !on_terminal && matches!(origin.cause, Cause::Kernel) {
                    continue;
                }
                let pid = lock(&child_pid);
                if let (Some(pid), Some(signal)) = (*pid, Signal::from_named_raw(origin.signal)) {
                    // On its own terminal the program runs under a keeper (`sys::start_on_terminal`),
                    // in the group in front there: the group gets it, as from its terminal.
                    match master.as_deref().map(rustix::termios::tcgetpgrp) {
                        Some(Ok(group)) if group != pid => {
                            let _ = rustix::process::kill_process_group(group, signal);
                        }
                        _ => {
                            let _ = kill_process(pid, signal);
                        }
                    }
                }
            }
        });
    }

    let raw = if forward_input {
        RawMode::enter().ok()
    } else {
        None
    };
    let program = command.get_program().to_os_string();
    let spawned = command.spawn();
    drop(command); // closes sesame's copies of the child's ends (so EOF can be seen)
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            signal_handle.close();
            drop(raw);
            return Err(start_error(&program, e));
        }
    };
    let pid = Pid::from_child(&child);
    *lock(&child_pid) = Some(pid);

    // The waiter: learns of the exit without reaping (WNOWAIT), forgets the PID, then wakes the
    // loop; only after that is the child reaped, so its PID cannot be reused while signalled.
    // On its own terminal the child may also stop (Ctrl-Z reaches it there, not us): sesame then
    // stops too, so that the shell's job control works as without --mask.
    let (exited_r, exited_w) = pipe()?;
    {
        let child_pid = Arc::clone(&child_pid);
        let job = raw.as_ref().map(|r| JobControl {
            saved: r.saved.clone(),
            master: master.clone(),
        });
        thread::spawn(move || {
            let mut wanted = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT;
            if job.is_some() {
                wanted |= WaitIdOptions::STOPPED;
            }
            loop {
                match waitid(WaitId::Pid(pid), wanted) {
                    Err(Errno::INTR) => continue,
                    Ok(Some(status)) if status.stopped() => {
                        // Taken off the queue (without WNOWAIT), else the next call sees it again.
                        let _ = waitid(WaitId::Pid(pid), WaitIdOptions::STOPPED);
                        if let (Some(job), Some(signal)) = (&job, status.stopping_signal()) {
                            job.stop_with_child(pid, signal);
                        }
                    }
                    _ => break,
                }
            }
            *lock(&child_pid) = None;
            let _ = rustix::io::write(&exited_w, b"x");
        });
    }

    let mut input = Vec::new(); // typed bytes not yet taken by the child's terminal
    if let Some(m) = &master {
        let _ = rustix::io::ioctl_fionbio(&**m, true);
    }
    let mut buf = zeroize::Zeroizing::new(vec![0u8; 1024 * 1024]);
    let mut broken: Option<io::Error> = None;
    let mut stdin_open = forward_input;
    loop {
        let waiting = channels.iter().any(|c| {
            c.fd.is_some()
                && !c.idle_tried
                && c.masker.as_ref().is_some_and(Masker::holds_unreleased)
        });
        let mut fds = vec![PollFd::new(&exited_r, PollFlags::IN)];
        let mut which = Vec::new();
        for (i, c) in channels.iter().enumerate() {
            if let Some(fd) = &c.fd {
                fds.push(PollFd::new(fd, PollFlags::IN));
                which.push(Some(i));
            }
        }
        let stdin = io::stdin();
        let master_fd = master.as_deref();
        if stdin_open && input.is_empty() {
            fds.push(PollFd::new(&stdin, PollFlags::IN));
            which.push(None);
        }
        let master_writable = match (master_fd, input.is_empty()) {
            (Some(m), false) => {
                fds.push(PollFd::new(m, PollFlags::OUT));
                true
            }
            _ => false,
        };
        let timeout = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: IDLE.as_nanos() as i64,
        };
        let ready = match poll(&mut fds, waiting.then_some(&timeout)) {
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(Error::io("cannot wait for the command's output", e.into())),
        };
        if ready == 0 {
            for c in channels.iter_mut().filter(|c| c.fd.is_some()) {
                c.idle_tried = true;
                if let Err(e) = c.sink.release_idle(&mut c.masker) {
                    c.fd = None;
                    c.failed = true;
                    note(&mut broken, e);
                }
            }
            continue;
        }
        let revents: Vec<PollFlags> = fds.iter().map(PollFd::revents).collect();
        drop(fds);
        let exited = !revents[0].is_empty();
        for (k, slot) in which.iter().enumerate() {
            let flags = revents[k + 1];
            if flags.is_empty() {
                continue;
            }
            match slot {
                Some(i) => match channels[*i].pump(&mut buf) {
                    Ok(true) => {}
                    Ok(false) => channels[*i].fd = None,
                    Err(e) => note(&mut broken, e),
                },
                None => match rustix::io::read(&stdin, &mut buf[..]) {
                    Ok(0) | Err(Errno::IO) => stdin_open = false,
                    Ok(n) => input.extend_from_slice(&buf[..n]),
                    Err(Errno::INTR | Errno::AGAIN) => {}
                    Err(_) => stdin_open = false,
                },
            }
        }
        if master_writable && let Some(m) = master_fd {
            match rustix::io::write(m, &input) {
                Ok(n) => {
                    input.drain(..n);
                }
                Err(Errno::INTR | Errno::AGAIN) => {}
                Err(_) => input.clear(),
            }
        }
        if exited || channels.iter().all(|c| c.fd.is_none()) && exited_or_wait(&exited_r) {
            break;
        }
    }

    // The child has exited: forward what is still arriving for a moment, then stop, whatever
    // it left behind holding the channel.
    let deadline = Instant::now() + DRAIN;
    for c in channels.iter_mut() {
        if let Some(fd) = &c.fd {
            let _ = rustix::io::ioctl_fionbio(fd, true);
        }
        while c.fd.is_some() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(fd) = &c.fd else { break };
            let mut fds = [PollFd::new(fd, PollFlags::IN)];
            let timeout = rustix::time::Timespec {
                tv_sec: 0,
                tv_nsec: left.as_nanos().min(999_999_999) as i64,
            };
            match poll(&mut fds, Some(&timeout)) {
                Ok(0) => break,
                Ok(_) => {}
                Err(Errno::INTR) => continue,
                Err(_) => break,
            }
            match c.pump(&mut buf) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => note(&mut broken, e),
            }
        }
        if !c.failed
            && let Err(e) = c.sink.finish(&mut c.masker)
        {
            note(&mut broken, e);
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::io("cannot wait for the command", e))?;
    signal_handle.close();
    drop(raw);
    drop(channels);
    Ok((
        status,
        broken.filter(|e| e.kind() != io::ErrorKind::BrokenPipe),
    ))
}

/// Every channel is closed: the child still has to exit; wait for it (blocking on the waiter).
fn exited_or_wait(exited_r: &OwnedFd) -> bool {
    let mut fds = [PollFd::new(exited_r, PollFlags::IN)];
    loop {
        match poll(&mut fds, None) {
            Err(Errno::INTR) => continue,
            _ => return true,
        }
    }
}

/// Keeps the first write error; a closed reader (EPIPE) is kept only when nothing else is.
fn note(slot: &mut Option<io::Error>, e: io::Error) {
    if slot.is_none() {
        *slot = Some(e);
    }
}
