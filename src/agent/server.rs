//! The agent process (`sesame __agent`): receives the data key on stdin, serves subkeys on its
//! socket to processes of the same user, and ends — wiping the key — on timeout, `lock`, a signal,
//! or when its vault disappears (`docs/AGENT.md`).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use zeroize::{Zeroize, Zeroizing};

use super::gate::{self, Gate, RequesterWatch};
use super::peer;
use super::protocol::{
    self, AgentStatus, Purpose, Request, VALUE_SALT_LEN, read_frame, refused, write_frame,
};
use super::{checked_folder, peer_is_us, socket_path};
use crate::approval;
use crate::container::{KeyHolder, UnlockedVault};
use crate::crypto;
use crate::error::{Error, Result};
use crate::format::VAULT_ID_LEN;
use crate::names::Label;
use crate::secret::KEY_LEN;
use crate::usage::Event;
use crate::vault::Id;

/// What `unlock` writes on the agent's stdin.
pub const HANDOFF_LEN: usize = VAULT_ID_LEN + 4 + KEY_LEN;
/// At most this many connections are served at once; more are closed at once.
const MAX_CONNECTIONS: usize = 64;
/// At most this many of them from one process, so one process cannot take them all.
const MAX_CONNECTIONS_PER_PROCESS: usize = 8;
/// A whole request frame must arrive within this time from when the agent starts waiting for it,
/// however it trickles in; otherwise the connection is closed.
const FRAME_DEADLINE: Duration = Duration::from_secs(10);
/// The longest `--timeout` accepted.
pub const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 3600;

struct State {
    /// The data key: in its own heap allocation, locked in RAM, zeroized on exit.
    key: Mutex<Box<Zeroizing<[u8; KEY_LEN]>>>,
    vault_id: [u8; VAULT_ID_LEN],
    key_generation: u32,
    vault: PathBuf,
    socket: PathBuf,
    socket_inode: (u64, u64),
    /// When the agent ends, on the [`boot_clock`].
    expires: Mutex<Duration>,
    /// Its own timeout: from `unlock --timeout`, changed by a renewal with an explicit one.
    timeout_secs: Mutex<u64>,
    connections: AtomicUsize,
    /// Open connections per peer process id.
    per_process: Mutex<HashMap<i32, usize>>,
    /// Approvals of confirmed secrets: the console, if `unlock --confirm` started the agent.
    gate: Gate,
    /// Each secret's label when the agent started, by id: what the console shows, because the
    /// label in the file is any agent client's to change (`edit --rename` needs no approval).
    labels_at_start: Mutex<HashMap<Id, String>>,
}

impl State {
    /// A refusal when the client read another vault, or this one after a `rekey`.
    fn check_identity(
        &self,
        vault_id: [u8; VAULT_ID_LEN],
        key_generation: u32,
    ) -> std::result::Result<(), Vec<u8>> {
        if vault_id != self.vault_id {
            Err(refused("this agent holds the key of another vault"))
        } else if key_generation != self.key_generation {
            Err(refused("the vault was rekeyed since it was unlocked"))
        } else {
            Ok(())
        }
    }

    /// HKDF-SHA256 of the data key with `salt` and `info`.
    fn subkey(&self, salt: &[u8], info: &[u8]) -> Zeroizing<[u8; KEY_LEN]> {
        let key = self.key.lock().unwrap_or_else(|p| p.into_inner());
        crypto::hkdf_key(&key, salt, info)
    }

    fn seconds_left(&self) -> u64 {
        let expires = *self.expires.lock().unwrap_or_else(|p| p.into_inner());
        expires.saturating_sub(boot_clock()).as_secs()
    }

    /// Wipes the key, removes the socket if it is still ours, and exits.
    fn end(&self) -> ! {
        let mut key = self.key.lock().unwrap_or_else(|p| p.into_inner());
        key.as_mut_slice().zeroize();
        if let Ok(meta) = std::fs::symlink_metadata(&self.socket)
            && (meta.dev(), meta.ino()) == self.socket_inode
        {
            let _ = std::fs::remove_file(&self.socket);
        }
        std::process::exit(0)
    }
}

/// Runs the agent for `vault`; returns only on a start-up failure. With `console`, descriptor 0
/// is one end of a socketpair whose other end is the approval console (`unlock --confirm`): the
/// key arrives over it, then it stays the console's channel.
pub fn run(vault: &Path, timeout_secs: u64, console: bool) -> Result<()> {
    // Nothing the shell that ran `unlock` left open (a `--passphrase-fd` file, a pipe) stays open
    // for the agent's whole life. First thing, while the agent owns no descriptor above 2.
    crate::sys::close_inherited_fds();
    // Its own session: no controlling terminal, not killed with the shell that ran `unlock`.
    let _ = rustix::process::setsid();

    // The key is read from descriptor 0 straight into its locked buffer: no `std::io::stdin()`,
    // whose 8 KiB heap buffer would keep a second, swappable and never-wiped copy.
    let mut key = Box::new(Zeroizing::new([0u8; KEY_LEN]));
    // Best effort: where mlock is not allowed the agent still works, as ssh-agent does.
    let _memory_lock = region::lock(key.as_ptr(), KEY_LEN).ok();
    let mut identity = [0u8; VAULT_ID_LEN + 4];
    read_handoff(&mut identity)?;
    read_handoff(&mut key[..])?;
    let mut vault_id = [0u8; VAULT_ID_LEN];
    vault_id.copy_from_slice(&identity[..VAULT_ID_LEN]);
    let key_generation =
        u32::from_le_bytes([identity[16], identity[17], identity[18], identity[19]]);
    // The console's channel moves off descriptor 0 (close-on-exec, like everything the agent
    // opens) before stdin is pointed at /dev/null below.
    let console = if console {
        let fd = rustix::io::fcntl_dupfd_cloexec(rustix::stdio::stdin(), 3)
            .map_err(|e| Error::io("cannot keep the console's channel", e.into()))?;
        Some(UnixStream::from(fd))
    } else {
        None
    };

    checked_folder(true)?;
    let socket = socket_path(vault);
    if socket.exists() {
        if UnixStream::connect(&socket).is_ok() {
            return Err(Error::usage("another agent is already serving this vault"));
        }
        let _ = std::fs::remove_file(&socket); // stale: its agent was killed
    }
    let listener = UnixListener::bind(&socket)
        .map_err(|e| Error::io(format!("cannot listen on {}", socket.display()), e))?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io("cannot protect the agent socket", e))?;
    // Every connection is born with it, so even a client's first bytes name their writer.
    if crate::sys::HAS_SENDER_CREDENTIALS {
        crate::sys::pass_credentials(&listener).map_err(|e| {
            Error::io(
                "cannot have the kernel name the sender of each request on the agent socket",
                e,
            )
        })?;
    }
    let meta = std::fs::symlink_metadata(&socket)
        .map_err(|e| Error::io("cannot read the agent socket", e))?;

    let state = Arc::new(State {
        key: Mutex::new(key),
        vault_id,
        key_generation,
        vault: vault.to_path_buf(),
        socket,
        socket_inode: (meta.dev(), meta.ino()),
        expires: Mutex::new(boot_clock() + Duration::from_secs(timeout_secs.min(MAX_TIMEOUT_SECS))),
        timeout_secs: Mutex::new(timeout_secs.min(MAX_TIMEOUT_SECS)),
        connections: AtomicUsize::new(0),
        per_process: Mutex::new(HashMap::new()),
        gate: Gate::new(console, Gate::wait_from_env()),
        labels_at_start: Mutex::new(HashMap::new()),
    });
    if let Ok(unlocked) = crate::store::read(&state.vault).and_then(|bytes| {
        UnlockedVault::open_with(&bytes, Box::new(Held(Arc::clone(&state))), &state.vault)
    }) {
        let labels = unlocked
            .vault
            .secrets
            .iter()
            .map(|s| (s.id, s.label.to_string()))
            .collect();
        *state
            .labels_at_start
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = labels;
    }

    // Tell `unlock` we are serving, then let go of its pipes and of any terminal.
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(b"ready\n").and_then(|()| stdout.flush());
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = rustix::stdio::dup2_stdin(&null);
        let _ = rustix::stdio::dup2_stdout(&null);
        let _ = rustix::stdio::dup2_stderr(&null);
    }

    spawn_watchdog(Arc::clone(&state));
    spawn_signal_handler(Arc::clone(&state))?;

    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if crate::sys::HAS_SENDER_CREDENTIALS {
            // Inherited from the listener already; a connection without it is refused at its
            // first frame (its pieces name no writer).
            let _ = crate::sys::pass_credentials(&stream);
        }
        if state.connections.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            continue; // dropped: the client falls back to the passphrase
        }
        let pid = peer_pid(&stream);
        {
            let mut per_process = state.per_process.lock().unwrap_or_else(|p| p.into_inner());
            let open = per_process.entry(pid).or_insert(0);
            if *open >= MAX_CONNECTIONS_PER_PROCESS {
                continue; // dropped, as above
            }
            *open += 1;
        }
        state.connections.fetch_add(1, Ordering::SeqCst);
        let state = Arc::clone(&state);
        thread::spawn(move || {
            serve(stream, &state);
            state.connections.fetch_sub(1, Ordering::SeqCst);
            let mut per_process = state.per_process.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(open) = per_process.get_mut(&pid) {
                *open -= 1;
                if *open == 0 {
                    per_process.remove(&pid);
                }
            }
        });
    }
    state.end()
}

/// Time since boot including suspend (CLOCK_BOOTTIME, as ssh-agent uses): a monotonic clock
/// stops while a laptop sleeps, so an agent counting with it would wake up still unlocked long
/// after its timeout.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn boot_clock() -> Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// Elsewhere (where `unlock` refuses to start an agent anyway) the monotonic clock.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn boot_clock() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// Fills `buf` from descriptor 0 with plain `read` calls (what `unlock` writes: see
/// [`HANDOFF_LEN`]).
fn read_handoff(buf: &mut [u8]) -> Result<()> {
    let stdin = rustix::stdio::stdin();
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::io::read(stdin, &mut buf[filled..]) {
            Ok(0) => {
                return Err(Error::io(
                    "the agent did not receive its key",
                    std::io::ErrorKind::UnexpectedEof.into(),
                ));
            }
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(Error::io("the agent did not receive its key", e.into())),
        }
    }
    Ok(())
}

fn spawn_watchdog(state: Arc<State>) {
    thread::spawn(move || {
        loop {
            thread::sleep(Duration::from_millis(200));
            if state.seconds_left() == 0 || !state.vault.exists() {
                state.end();
            }
        }
    });
}

fn spawn_signal_handler(state: Arc<State>) -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT])
        .map_err(|e| Error::io("cannot install signal handlers", e))?;
    thread::spawn(move || {
        if signals.forever().next().is_some() {
            state.end();
        }
    });
    Ok(())
}

/// The peer's process id (0 when unknown: such peers share one count).
fn peer_pid(stream: &UnixStream) -> i32 {
    crate::sys::peer_pid(stream).unwrap_or(0)
}

/// Reads one request frame from a stream until a fixed moment, and notes who wrote it.
///
/// Each read may wait only for the time left, so a frame sent one byte at a time cannot hold a
/// connection past [`FRAME_DEADLINE`]. Where the kernel names the writer of every read
/// (`crate::sys::read_with_sender`, Linux), the frame is its writer's: a piece written under
/// another uid than the agent's, or by another process than the frame's first piece, or naming
/// no writer, fails the read, and the connection is closed. A process that connected and handed
/// the socket to another (a fork) thus cannot have its own pid shown for what the other sends.
struct FrameReader<'a> {
    stream: &'a UnixStream,
    until: Instant,
    /// The writer of the pieces read so far.
    sender: Option<crate::sys::Sender>,
}

impl<'a> FrameReader<'a> {
    fn new(stream: &'a UnixStream) -> FrameReader<'a> {
        FrameReader {
            stream,
            until: Instant::now() + FRAME_DEADLINE,
            sender: None,
        }
    }

    /// The process that wrote the frame read, where the kernel says (Linux), else the one that
    /// connected (`SO_PEERCRED`; 0 when unknown).
    fn sender_pid(&self) -> i32 {
        self.sender.map_or_else(|| peer_pid(self.stream), |s| s.pid)
    }
}

impl Read for FrameReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::{Error as IoError, ErrorKind};
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        let (read, sender) = crate::sys::read_with_sender(self.stream, buf)?;
        if read == 0 || !crate::sys::HAS_SENDER_CREDENTIALS {
            return Ok(read);
        }
        let us = rustix::process::getuid().as_raw();
        match sender {
            Some(sender) if sender.uid != us => Err(IoError::new(
                ErrorKind::PermissionDenied,
                "written by another user",
            )),
            Some(sender) if self.sender.is_some_and(|first| first != sender) => Err(IoError::new(
                ErrorKind::InvalidData,
                "one frame written by two processes",
            )),
            Some(sender) => {
                self.sender = Some(sender);
                Ok(read)
            }
            None => Err(IoError::new(
                ErrorKind::PermissionDenied,
                "no credentials came with the request",
            )),
        }
    }
}

/// Serves one connection until it ends, misbehaves or idles.
fn serve(mut stream: UnixStream, state: &Arc<State>) {
    if !peer_is_us(&stream) {
        let _ = write_frame(&mut stream, &refused("this agent serves only its own user"));
        return;
    }
    let _ = stream.set_write_timeout(Some(FRAME_DEADLINE));
    loop {
        let mut frame = FrameReader::new(&stream);
        let body = match read_frame(&mut frame) {
            Ok(Some(body)) => body,
            _ => return,
        };
        let sender = frame.sender_pid();
        let Some(request) = Request::decode(&body) else {
            return;
        };
        match request {
            Request::Status => {
                let status = AgentStatus {
                    vault_id: state.vault_id,
                    key_generation: state.key_generation,
                    seconds_left: state.seconds_left(),
                    pid: std::process::id(),
                    vault_path: state.vault.to_string_lossy().into_owned(),
                    timeout_secs: Some(
                        *state.timeout_secs.lock().unwrap_or_else(|p| p.into_inner()),
                    ),
                };
                if write_frame(&mut stream, &status.encode()).is_err() {
                    return;
                }
            }
            Request::Derive {
                vault_id,
                key_generation,
                purpose,
                salt,
            } => {
                let answer = match state.check_identity(vault_id, key_generation) {
                    Err(refusal) => Zeroizing::new(refusal),
                    Ok(()) => key_answer(&[], &state.subkey(&salt, purpose.info())),
                };
                if write_frame(&mut stream, &answer).is_err() {
                    return;
                }
            }
            Request::Renew { timeout_secs } => {
                let secs = timeout_secs.min(MAX_TIMEOUT_SECS);
                let until = boot_clock() + Duration::from_secs(secs);
                *state.expires.lock().unwrap_or_else(|p| p.into_inner()) = until;
                *state.timeout_secs.lock().unwrap_or_else(|p| p.into_inner()) = secs;
                if write_frame(&mut stream, &[protocol::OK]).is_err() {
                    return;
                }
            }
            Request::Lock => {
                let _ = write_frame(&mut stream, &[protocol::OK]);
                state.end();
            }
            Request::OpenConfirmed {
                vault_id,
                key_generation,
                salts,
            } => {
                let (answer, decision) = match state.check_identity(vault_id, key_generation) {
                    Err(refusal) => (Zeroizing::new(refusal), None),
                    Ok(()) => open_confirmed(state, &salts, sender, &stream),
                };
                let written = write_frame(&mut stream, &answer);
                // On a thread of its own: the client may hold the write lock next while it asks
                // this connection for its own log key, and the decision waits for that lock.
                if decision.is_some() {
                    let state = Arc::clone(state);
                    thread::spawn(move || log_decision(&state, decision));
                }
                if written.is_err() {
                    return;
                }
            }
            Request::NewConfirmedKey {
                vault_id,
                key_generation,
            } => {
                let answer = match state.check_identity(vault_id, key_generation) {
                    Err(refusal) => Zeroizing::new(refusal),
                    Ok(()) => new_confirmed_key(state),
                };
                if write_frame(&mut stream, &answer).is_err() {
                    return;
                }
            }
        }
    }
}

/// An OK answer: `prefix` (a salt, or nothing), then `key`, in a buffer wiped when dropped.
fn key_answer(prefix: &[u8], key: &[u8; KEY_LEN]) -> Zeroizing<Vec<u8>> {
    let mut answer = Zeroizing::new(Vec::with_capacity(1 + prefix.len() + KEY_LEN));
    answer.push(protocol::OK);
    answer.extend_from_slice(prefix);
    answer.extend_from_slice(key);
    answer
}

/// The agent's key as a [`KeyHolder`], so it can open its own vault file (to learn which secret
/// a sealed value belongs to, and to write decisions in the usage log) without a second copy of
/// the key.
struct Held(Arc<State>);

impl KeyHolder for Held {
    fn subkey(&self, salt: &[u8], purpose: Purpose) -> Result<Zeroizing<[u8; KEY_LEN]>> {
        Ok(self.0.subkey(salt, purpose.info()))
    }

    fn data_key(&self) -> Option<&crate::secret::DataKey> {
        None
    }
}

/// open-confirmed (`docs/AGENT.md`, "Approvals"): the label comes from the vault file, the
/// requester from `/proc` by the pid of the process that sent the request (`sender`), the
/// decision from the console; the key only on a yes. The decision is logged after the answer,
/// so the log's lock is not in the requester's wait.
fn open_confirmed(
    state: &Arc<State>,
    salts: &[[u8; VALUE_SALT_LEN]],
    sender: i32,
    client: &UnixStream,
) -> (Zeroizing<Vec<u8>>, Option<(UnlockedVault, Event)>) {
    // First, before /proc is read: see `RequesterWatch::new`.
    let watch = RequesterWatch::new(client.try_clone().ok(), sender);
    let opened = crate::store::read(&state.vault).and_then(|bytes| {
        UnlockedVault::open_with(&bytes, Box::new(Held(Arc::clone(state))), &state.vault)
    });
    let unlocked = match opened {
        Ok(unlocked) => unlocked,
        Err(_) => {
            return (
                Zeroizing::new(refused("the agent cannot read its vault file")),
                None,
            );
        }
    };
    let key_of = |salt: &[u8; VALUE_SALT_LEN]| state.subkey(salt, approval::CONFIRMED_VALUE_INFO);
    let Some(secret) = approval::secret_of_sealed(&unlocked, salts, key_of) else {
        return (
            Zeroizing::new(refused(
                "these salts are not those of sealed values of one secret of the vault; read the \
                 vault again",
            )),
            None,
        );
    };
    let label = shown_label(state, secret.id, &secret.label);
    // After the watch pinned the sender (a pid reused since would show as ended).
    if !peer::in_our_namespaces(u32::try_from(sender).unwrap_or(0)) {
        return (
            Zeroizing::new(refused(&format!(
                "{label} is confirmed, and the process asking for it runs in another pid or user \
                 namespace (a container, or `unshare`), where the agent cannot tell which program \
                 it is; ask from a process of this system's own namespaces"
            ))),
            None,
        );
    }
    let mut requester = peer::requester(u32::try_from(sender).unwrap_or(0));
    let connected = peer_pid(client);
    if connected != sender && connected != 0 {
        requester.connected_pid = u32::try_from(connected).ok();
    }
    let outcome = state.gate.decide(&label, &requester, Some(watch));
    let answer = if outcome.approved() {
        let mut answer = Zeroizing::new(Vec::with_capacity(1 + salts.len() * KEY_LEN));
        answer.push(protocol::OK);
        for salt in salts {
            answer.extend_from_slice(&state.subkey(salt, approval::CONFIRMED_VALUE_INFO)[..]);
        }
        answer
    } else {
        Zeroizing::new(refused(&gate::refusal(&label, outcome)))
    };
    let event = gate::decision_event(&label, outcome, &requester);
    (answer, Some((unlocked, event)))
}

/// The label the console shows for the secret `id`: the one it had when the agent started, with
/// its label now when that differs (renamed since), or the file's label marked as added since.
fn shown_label(state: &State, id: Id, now: &Label) -> String {
    let labels = state
        .labels_at_start
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    match labels.get(&id) {
        Some(then) if then == now.as_str() => then.clone(),
        Some(then) => format!("{then} (renamed {now} since unlock)"),
        None => format!("{now} (added since unlock)"),
    }
}

/// Writes an approval decision in the usage log; best effort (the agent has nobody to warn).
fn log_decision(state: &State, record: Option<(UnlockedVault, Event)>) {
    if let Some((unlocked, event)) = record {
        let _ = crate::transaction::record(&state.vault, &unlocked, &event);
    }
}

/// new-confirmed-key: a salt the agent draws, and its key. No approval: sealing reveals nothing.
fn new_confirmed_key(state: &State) -> Zeroizing<Vec<u8>> {
    match crypto::random_array::<VALUE_SALT_LEN>() {
        Ok(salt) => key_answer(&salt, &state.subkey(&salt, approval::CONFIRMED_VALUE_INFO)),
        Err(_) => Zeroizing::new(refused("the agent could not draw a random salt")),
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    /// The timeout counted on CLOCK_MONOTONIC, which stops while a laptop sleeps, so the agent
    /// woke up still unlocked (the audit, "Low"). `/proc/uptime` is the kernel's time since
    /// boot *including* suspend (CLOCK_BOOTTIME): the agent's clock must agree with it. A
    /// monotonic clock falls behind it by every second the machine ever slept.
    #[test]
    fn the_agent_counts_its_timeout_on_the_clock_that_runs_during_suspend() {
        let Ok(text) = std::fs::read_to_string("/proc/uptime") else {
            return; // no procfs: nothing to compare with
        };
        let uptime: f64 = text
            .split_whitespace()
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0.0);
        let ours = boot_clock().as_secs_f64();
        assert!(
            (ours - uptime).abs() < 2.0,
            "agent clock {ours} s, uptime {uptime} s"
        );
    }
}
