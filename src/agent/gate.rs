//! The agent's side of approvals (`docs/AGENT.md`, "Approvals"): one thread owns the console's
//! end of the socketpair and asks the person one request at a time; every other thread waits
//! for its own request's outcome. Once the console is gone (or never was), every request is
//! denied at once. Programs answered with `a` are remembered for the agent's life. Also the
//! agent's words for each outcome: the client's refusal and the usage log's event.

use std::collections::HashSet;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::console::{Answer, Ask, Decision, Requester, ToConsole};
use super::protocol::{read_frame, write_frame};
use crate::usage::Event;

/// The action of an approval decision in the usage log.
pub const LOG_ACTION: &str = "approval";

/// How long a request waits for the person by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);
/// The variable that changes it (whole seconds, 1 to 3600), read when the agent starts.
pub const WAIT_VARIABLE: &str = "SESAME_CONFIRM_WAIT";

/// How one request ended; each is a word in the usage log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `y` on the console.
    ApprovedOnce,
    /// `a` on the console.
    ApprovedAlways,
    /// The same program was answered `a` before.
    Remembered,
    /// `n` (or another answer) on the console.
    Denied,
    /// Nobody answered within the wait.
    NotAnswered,
    /// No console is attached: never was, or it was closed.
    NoConsole,
    /// The program asking ended before the console answered; nothing was released.
    Withdrawn,
}

impl Outcome {
    /// True when the key is released.
    pub fn approved(self) -> bool {
        matches!(
            self,
            Outcome::ApprovedOnce | Outcome::ApprovedAlways | Outcome::Remembered
        )
    }

    /// The word for the usage log.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::ApprovedOnce => "approved once",
            Outcome::ApprovedAlways => "approved always",
            Outcome::Remembered => "approved (remembered)",
            Outcome::Denied => "denied",
            Outcome::NotAnswered => "not answered",
            Outcome::NoConsole => "no console",
            Outcome::Withdrawn => "withdrawn (the program asking ended)",
        }
    }
}

/// A request waiting for the console.
struct Pending {
    label: String,
    requester: Requester,
    deadline: Instant,
    reply: Sender<Outcome>,
    /// The requester's connection and process: a request whose program ended is withdrawn, not
    /// asked.
    watch: Option<RequesterWatch>,
}

/// What shows that a request's program ended: its connection closed, or the process that sent
/// the request ended (where the system can watch a process: a socket handed to another process
/// outlives the one that asked).
pub struct RequesterWatch {
    connection: Option<UnixStream>,
    process: Option<crate::sys::ProcessWatch>,
}

impl RequesterWatch {
    /// Watches `connection` and the process `pid` that sent the request on it. Taken before the
    /// process is read from /proc, so that [`Gate::decide`] can tell that what was read is that
    /// process's (a pidfd names one process, never a later one given the same pid).
    pub(crate) fn new(connection: Option<UnixStream>, pid: i32) -> RequesterWatch {
        RequesterWatch {
            connection,
            process: crate::sys::ProcessWatch::new(pid),
        }
    }

    fn ended(&self) -> bool {
        self.connection.as_ref().is_some_and(console_gone)
            || self.process.as_ref().is_some_and(|p| p.ended())
    }
}

/// What `a` remembers: the requester's executable and command line, and its parent's.
type Program = (String, String, String);

fn program(requester: &Requester) -> Program {
    (
        requester.exe.clone(),
        requester.command.clone(),
        requester.parents.first().cloned().unwrap_or_default(),
    )
}

/// The agent's approvals: the console (if any), the wait, the programs remembered.
pub struct Gate {
    queue: Mutex<Option<Sender<Pending>>>,
    /// A second handle on the console's end, only to see whether the console has gone.
    probe: Option<UnixStream>,
    closed: Arc<AtomicBool>,
    remembered: Mutex<HashSet<Program>>,
    wait: Duration,
}

impl Gate {
    /// A gate asking on `console` (the agent's end of the socketpair), or with none: then every
    /// request is denied at once.
    pub fn new(console: Option<UnixStream>, wait: Duration) -> Gate {
        let probe = console.as_ref().and_then(|c| c.try_clone().ok());
        let closed = Arc::new(AtomicBool::new(console.is_none() || probe.is_none()));
        let queue = console.map(|stream| {
            let (sender, receiver) = mpsc::channel();
            let closed = Arc::clone(&closed);
            std::thread::spawn(move || serve_console(stream, &receiver, &closed));
            sender
        });
        Gate {
            queue: Mutex::new(queue),
            probe,
            closed,
            remembered: Mutex::new(HashSet::new()),
            wait,
        }
    }

    /// The wait from [`WAIT_VARIABLE`], else [`DEFAULT_WAIT`].
    pub fn wait_from_env() -> Duration {
        std::env::var(WAIT_VARIABLE)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|s| (1..=3600).contains(s))
            .map_or(DEFAULT_WAIT, Duration::from_secs)
    }

    /// How long a request may wait for the person.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// Asks the console about `label` for `requester`, and waits for the outcome.
    pub fn decide(
        &self,
        label: &str,
        requester: &Requester,
        watch: Option<RequesterWatch>,
    ) -> Outcome {
        // A closed console ends every approval, those remembered from `a` too: looked at now,
        // not only when the next question fails to reach it.
        if self.probe.as_ref().is_some_and(console_gone) {
            self.closed.store(true, Ordering::SeqCst);
        }
        if self.closed.load(Ordering::SeqCst) {
            return Outcome::NoConsole;
        }
        // Looked at after the caller read `requester` from /proc, on a watch taken before: a
        // sender still running then is the process that was read, not one given its pid later.
        if watch.as_ref().is_some_and(RequesterWatch::ended) {
            return Outcome::Withdrawn;
        }
        let key = program(requester);
        if self
            .remembered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key)
        {
            return Outcome::Remembered;
        }
        let (reply, outcome) = mpsc::channel();
        let pending = Pending {
            label: label.to_string(),
            requester: requester.clone(),
            deadline: Instant::now() + self.wait,
            reply,
            watch,
        };
        let sent = self
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|queue| queue.send(pending).is_ok());
        if !sent {
            return Outcome::NoConsole;
        }
        // The console thread answers every request it takes (at the latest at its deadline); a
        // reply channel dropped unanswered means the console ended.
        let outcome = outcome.recv().unwrap_or(Outcome::NoConsole);
        if outcome == Outcome::ApprovedAlways {
            self.remembered
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key);
        }
        outcome
    }
}

/// True when the other end of `stream` is closed (its process ended): the console's end of the
/// socketpair, or a requester's connection. A byte waiting there (a late answer to an expired
/// request) is left for its reader.
fn console_gone(stream: &UnixStream) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut fds = [PollFd::new(stream, PollFlags::IN)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    if poll(&mut fds, Some(&now)).is_err() {
        return false;
    }
    let events = fds[0].revents();
    if events.contains(PollFlags::HUP) || events.contains(PollFlags::ERR) {
        return true;
    }
    let mut byte = [0u8; 1];
    let flags = rustix::net::RecvFlags::PEEK | rustix::net::RecvFlags::DONTWAIT;
    events.contains(PollFlags::IN)
        && matches!(rustix::net::recv(stream, &mut byte[..], flags), Ok((_, 0)))
}

/// The console thread: asks each request in turn until the console ends, then marks the gate
/// closed; the requests still queued are dropped with it, and their waiters see "no console".
fn serve_console(mut stream: UnixStream, queue: &Receiver<Pending>, closed: &AtomicBool) {
    let mut number: u32 = 0;
    while let Ok(pending) = queue.recv() {
        number = number.wrapping_add(1);
        match ask(&mut stream, number, &pending) {
            Some(outcome) => {
                let _ = pending.reply.send(outcome);
            }
            None => {
                closed.store(true, Ordering::SeqCst);
                let _ = pending.reply.send(Outcome::NoConsole);
                return;
            }
        }
    }
}

/// One request on the console: `None` when the console is gone (or sent something malformed).
fn ask(stream: &mut UnixStream, number: u32, pending: &Pending) -> Option<Outcome> {
    let left = pending.deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Some(Outcome::NotAnswered); // it waited its whole time in the queue
    }
    let withdrawn = || pending.watch.as_ref().is_some_and(RequesterWatch::ended);
    if withdrawn() {
        return Some(Outcome::Withdrawn); // its program ended while it waited in the queue
    }
    let message = ToConsole::Ask(Ask {
        number,
        seconds: u32::try_from(left.as_secs().max(1)).unwrap_or(u32::MAX),
        label: pending.label.clone(),
        requester: pending.requester.clone(),
    });
    write_frame(stream, &message.encode()).ok()?;
    loop {
        let left = pending.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            write_frame(stream, &ToConsole::Expired(number).encode()).ok()?;
            return Some(Outcome::NotAnswered);
        }
        if withdrawn() {
            write_frame(stream, &ToConsole::Withdrawn(number).encode()).ok()?;
            return Some(Outcome::Withdrawn);
        }
        // Short waits, so a request whose program ended leaves the console within a moment.
        stream
            .set_read_timeout(Some(left.min(std::time::Duration::from_millis(250))))
            .ok()?;
        match read_frame(stream) {
            Ok(Some(body)) => {
                let answer = Answer::decode(&body)?;
                if answer.number != number {
                    continue; // an answer to a request that already expired
                }
                return Some(match answer.decision {
                    Decision::Once => Outcome::ApprovedOnce,
                    Decision::Always => Outcome::ApprovedAlways,
                    Decision::Deny => Outcome::Denied,
                });
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}

/// What the client of a request that was not approved is told (exit 3).
pub fn refusal(label: &str, outcome: Outcome) -> String {
    let label = crate::printable::printable(label);
    match outcome {
        Outcome::Denied => format!("{label} was denied on the approval console"),
        Outcome::NotAnswered => format!(
            "{label} needs a person's approval and nobody answered on the approval console in time"
        ),
        _ => format!(
            "{label} needs a person's approval, and no approval console is attached: run \
             `sesame lock`, then `sesame unlock --confirm` and answer there"
        ),
    }
}

/// The usage-log event of a decision: the label, the outcome, and who asked — the program's
/// name, pid (and the pid that opened its connection, when another), executable, working folder
/// and the names of the parent programs. No arguments: they can hold secrets.
pub fn decision_event(label: &str, outcome: Outcome, requester: &Requester) -> Event {
    let parents: Vec<&str> = requester.parents.iter().map(|p| program_name(p)).collect();
    Event::new(LOG_ACTION, vec![label.to_string()]).detail(format!(
        "{}: {} (pid {}{}, {}, in {}){}",
        outcome.word(),
        program_name(&requester.command),
        requester.pid,
        requester.connection_note(),
        requester.exe,
        requester.cwd,
        if parents.is_empty() {
            String::new()
        } else {
            format!(", started by {}", parents.join(" ← "))
        }
    ))
}

/// The file name of a command line's first word: `/usr/bin/python3 app.py` → `python3`.
fn program_name(command: &str) -> &str {
    let first = command.split(' ').next().unwrap_or_default();
    first.rsplit('/').next().unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_is_logged_without_the_arguments() {
        let requester = Requester {
            pid: 42,
            exe: "/usr/bin/sesame".into(),
            command: "/usr/bin/sesame get api --token hunter2".into(),
            cwd: "/home/a".into(),
            parents: vec!["python3 app.py --key=s3cret".into(), "/bin/bash".into()],
            connected_pid: None,
        };
        let event = decision_event("api", Outcome::ApprovedOnce, &requester);
        let detail = event.detail.unwrap_or_default();
        assert_eq!(
            detail,
            "approved once: sesame (pid 42, /usr/bin/sesame, in /home/a), started by python3 ← bash"
        );
        assert!(!detail.contains("s3cret") && !detail.contains("hunter2"));
    }

    fn requester(command: &str) -> Requester {
        Requester {
            pid: 1,
            exe: "/usr/bin/sesame".into(),
            command: command.into(),
            cwd: "/".into(),
            parents: vec!["claude".into()],
            connected_pid: None,
        }
    }

    /// A console that answers each request with the next of `answers`, then closes.
    type Console = (UnixStream, std::thread::JoinHandle<Vec<ToConsole>>);

    fn console(answers: Vec<Decision>) -> std::io::Result<Console> {
        let (agent_end, mut console_end) = UnixStream::pair()?;
        let seen = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for decision in answers {
                let Ok(Some(body)) = read_frame(&mut console_end) else {
                    break;
                };
                let Some(message) = ToConsole::decode(&body) else {
                    break;
                };
                if let ToConsole::Ask(ask) = &message {
                    let answer = Answer {
                        number: ask.number,
                        decision,
                    };
                    let _ = write_frame(&mut console_end, &answer.encode());
                }
                seen.push(message);
            }
            seen
        });
        Ok((agent_end, seen))
    }

    #[test]
    fn the_console_decides_and_always_is_remembered_for_the_same_program_only()
    -> std::io::Result<()> {
        let answers = vec![
            Decision::Once,
            Decision::Deny,
            Decision::Always,
            Decision::Deny,
        ];
        let (stream, seen) = console(answers)?;
        let gate = Gate::new(Some(stream), Duration::from_secs(30));
        let get = requester("sesame get api");
        assert_eq!(gate.decide("api", &get, None), Outcome::ApprovedOnce);
        assert_eq!(gate.decide("api", &get, None), Outcome::Denied);
        assert_eq!(gate.decide("api", &get, None), Outcome::ApprovedAlways);
        assert_eq!(gate.decide("db", &get, None), Outcome::Remembered);
        // Another command line is another program: asked.
        let other = requester("sesame get other");
        assert_eq!(gate.decide("api", &other, None), Outcome::Denied);
        let shown = seen.join().unwrap_or_default();
        assert_eq!(shown.len(), 4);
        assert!(matches!(&shown[0], ToConsole::Ask(a) if a.label == "api" && a.number == 1));
        // The console closed after its answers: denied at once, the program remembered too.
        assert_eq!(gate.decide("api", &other, None), Outcome::NoConsole);
        assert_eq!(gate.decide("api", &get, None), Outcome::NoConsole);
        Ok(())
    }

    #[test]
    fn without_a_console_every_request_is_denied_at_once() {
        let gate = Gate::new(None, Duration::from_secs(30));
        assert_eq!(
            gate.decide("api", &requester("sesame get api"), None),
            Outcome::NoConsole
        );
    }

    /// The next message the console end receives, decoded.
    fn next_message(console_end: &mut UnixStream) -> Option<ToConsole> {
        ToConsole::decode(&read_frame(console_end).ok().flatten().unwrap_or_default())
    }

    #[test]
    fn an_unanswered_request_is_denied_at_its_deadline_and_the_console_told() -> std::io::Result<()>
    {
        let (agent_end, mut console_end) = UnixStream::pair()?;
        let gate = Gate::new(Some(agent_end), Duration::from_millis(200));
        assert_eq!(
            gate.decide("api", &requester("sesame get api"), None),
            Outcome::NotAnswered
        );
        assert_eq!(
            told_after_the_ask(&mut console_end),
            Some(ToConsole::Expired(1))
        );
        Ok(())
    }

    #[test]
    fn a_request_whose_program_ended_is_withdrawn_and_the_console_told() -> std::io::Result<()> {
        let (agent_end, mut console_end) = UnixStream::pair()?;
        let gate = Gate::new(Some(agent_end), Duration::from_secs(30));
        let (client, agent_side) = UnixStream::pair()?;
        let ends = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(client); // the program asking exits before anyone answers
        });
        assert_eq!(
            gate.decide("api", &requester("sesame get api"), Some(watch(agent_side))),
            Outcome::Withdrawn
        );
        let _ = ends.join();
        assert_eq!(
            told_after_the_ask(&mut console_end),
            Some(ToConsole::Withdrawn(1))
        );
        Ok(())
    }

    /// What the console was told after the request was asked (the first message must be it).
    fn told_after_the_ask(console_end: &mut UnixStream) -> Option<ToConsole> {
        let first = next_message(console_end);
        assert!(matches!(first, Some(ToConsole::Ask(_))), "{first:?}");
        next_message(console_end)
    }

    /// A watch on `connection` and on this test's own process, which does not end.
    fn watch(connection: UnixStream) -> RequesterWatch {
        RequesterWatch::new(
            Some(connection),
            i32::try_from(std::process::id()).unwrap_or(0),
        )
    }

    /// The process that sent a request is the one watched, not only the connection: a socket
    /// handed to a child stays open in its parent after the child that asked has ended.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_request_whose_sender_ended_is_withdrawn_though_its_connection_stays_open()
    -> std::io::Result<()> {
        let (agent_end, mut console_end) = UnixStream::pair()?;
        let gate = Gate::new(Some(agent_end), Duration::from_secs(30));
        let (_kept_open, agent_side) = UnixStream::pair()?;
        let mut sender = std::process::Command::new("sleep").arg("0.3").spawn()?;
        let pid = i32::try_from(sender.id()).unwrap_or(0);
        let watch = RequesterWatch::new(Some(agent_side), pid);
        assert_eq!(
            gate.decide("api", &requester("sesame get api"), Some(watch)),
            Outcome::Withdrawn
        );
        sender.wait()?;
        assert_eq!(
            told_after_the_ask(&mut console_end),
            Some(ToConsole::Withdrawn(1))
        );
        Ok(())
    }

    /// A sender that ended before the agent read it from /proc (its pid could already be
    /// another program's, maybe one answered `a` before) is withdrawn, never asked or matched.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_request_whose_sender_had_already_ended_is_withdrawn_not_matched_to_always()
    -> std::io::Result<()> {
        let (stream, seen) = console(vec![Decision::Always, Decision::Deny])?;
        let gate = Gate::new(Some(stream), Duration::from_secs(30));
        let get = requester("sesame get api");
        assert_eq!(gate.decide("api", &get, None), Outcome::ApprovedAlways);
        let (_kept_open, agent_side) = UnixStream::pair()?;
        let mut sender = std::process::Command::new("true").spawn()?;
        let pid = i32::try_from(sender.id()).unwrap_or(0);
        sender.wait()?;
        let watch = RequesterWatch::new(Some(agent_side), pid);
        assert_eq!(gate.decide("api", &get, Some(watch)), Outcome::Withdrawn);
        drop(gate);
        assert_eq!(seen.join().map(|s| s.len()).unwrap_or(0), 1);
        Ok(())
    }
}
