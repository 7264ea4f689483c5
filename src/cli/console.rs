//! The approval console: what `unlock --confirm`'s terminal does once the agent runs
//! (`docs/AGENT.md`, "The console"). It shows each request the agent sends over their socketpair
//! and answers with the line the person types. Ctrl-C, a closed terminal or a closed channel end
//! it; the agent then denies every later request for a confirmed secret.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::event::{PollFd, PollFlags, Timespec, poll};

use crate::agent::console::{Answer, Ask, Decision, ToConsole};
use crate::agent::protocol::{read_frame, write_frame};
use crate::error::{Error, Result};
use crate::printable::printable;

/// How often the loop looks at the signal flag while nothing happens.
const TICK: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 200_000_000,
};

/// The terminal the console will use, opened before anything is unlocked: `unlock --confirm`
/// without one is refused (exit 2) rather than starting an agent nobody can answer for.
pub(super) fn open_terminal() -> Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| {
            Error::usage(
                "`unlock --confirm` makes this terminal the approval console, and there is no \
                 terminal here: run it in a terminal you keep open",
            )
        })
}

/// Serves as the console until the agent ends (Ok) or the person ends it (Ctrl-C, Ok).
pub(super) fn serve(mut channel: UnixStream, mut tty: File) -> Result<()> {
    // Nobody may attach to this process to answer in the person's place (it is already, like
    // every sesame process; said again here because the console's safety rests on it).
    crate::hardening::harden_process();
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| Error::io("cannot install signal handlers", e))?;
    }
    say(
        &mut tty,
        "Approval console: requests for confirmed secrets show here. Answer y (this once), \
         a (always, for this program while the agent runs) or n (deny), then Enter. Ctrl-C \
         closes the console; confirmed secrets are then denied.\n",
    );
    let mut pending: Option<Pending> = None;
    loop {
        if stop.load(Ordering::SeqCst) {
            say(
                &mut tty,
                "\nApproval console closed: confirmed secrets are denied from now on (`sesame \
                 lock`, then `sesame unlock --confirm`, to approve again).\n",
            );
            return Ok(());
        }
        if let Some(p) = pending.as_mut()
            && let Some(left) = p.reminder_due()
        {
            say(&mut tty, &reminder(p.ask.number, left));
        }
        let (channel_ready, tty_ready) = {
            let mut fds = [
                PollFd::new(&channel, PollFlags::IN),
                PollFd::new(&tty, PollFlags::IN),
            ];
            match poll(&mut fds, Some(&TICK)) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(Error::io("the approval console failed", e.into())),
            }
            (!fds[0].revents().is_empty(), !fds[1].revents().is_empty())
        };
        if channel_ready {
            match read_frame(&mut channel)
                .ok()
                .flatten()
                .as_deref()
                .map(ToConsole::decode)
            {
                Some(Some(ToConsole::Ask(ask))) => {
                    // What was typed before the request appeared must not answer it.
                    let _ = rustix::termios::tcflush(&tty, rustix::termios::QueueSelector::IFlush);
                    say(&mut tty, &describe(&ask));
                    pending = Some(Pending::new(ask));
                }
                Some(Some(ToConsole::Expired(number))) => {
                    if pending.as_ref().is_some_and(|p| p.ask.number == number) {
                        say(&mut tty, "not answered in time: denied\n");
                        pending = None;
                    }
                }
                Some(Some(ToConsole::Withdrawn(number))) => {
                    if pending.as_ref().is_some_and(|p| p.ask.number == number) {
                        say(
                            &mut tty,
                            "withdrawn: the program asking ended; nothing released\n",
                        );
                        pending = None;
                    }
                }
                _ => {
                    say(
                        &mut tty,
                        "The agent ended (locked or timed out); this console closes.\n",
                    );
                    return Ok(());
                }
            }
        }
        if tty_ready {
            let mut line = [0u8; 256];
            let n = match tty.read(&mut line) {
                Ok(0) | Err(_) => {
                    stop.store(true, Ordering::SeqCst); // the terminal is gone
                    continue;
                }
                Ok(n) => n,
            };
            let Some(ask) = pending.as_ref().map(|p| &p.ask) else {
                continue; // nothing to answer: typed ahead, ignored
            };
            let Some(decision) = decision_of(&line[..n]) else {
                say(
                    &mut tty,
                    "answer y, a or n (or yes, always, no), then Enter: ",
                );
                continue;
            };
            let answer = Answer {
                number: ask.number,
                decision,
            };
            if write_frame(&mut channel, &answer.encode()).is_err() {
                say(&mut tty, "The agent ended; this console closes.\n");
                return Ok(());
            }
            say(
                &mut tty,
                match decision {
                    Decision::Once => "approved once\n",
                    Decision::Always => "approved for this program while the agent runs\n",
                    Decision::Deny => "denied\n",
                },
            );
            pending = None;
        }
    }
}

/// The request waiting for an answer, and whether its reminder was shown.
struct Pending {
    ask: Ask,
    shown: std::time::Instant,
    reminded: bool,
}

impl Pending {
    fn new(ask: Ask) -> Pending {
        Pending {
            ask,
            shown: std::time::Instant::now(),
            reminded: false,
        }
    }

    /// The whole seconds left when the one reminder is due: at 10 s left, or at a third of the
    /// time for a wait under 30 s (none under 3 s). The prompt gives the time once and cannot
    /// tick without redrawing what the person is typing; a reminder line can.
    fn reminder_due(&mut self) -> Option<u64> {
        let seconds = u64::from(self.ask.seconds);
        let at = (seconds / 3).min(10);
        if self.reminded || at == 0 {
            return None;
        }
        let left = seconds.saturating_sub(self.shown.elapsed().as_secs());
        if left > at {
            return None;
        }
        self.reminded = true;
        Some(left.max(1))
    }
}

/// The reminder line, the question asked again after it.
fn reminder(number: u32, left: u64) -> String {
    format!("\n[{number}] {left} s left: allow? y once / a always / n deny: ")
}

/// The decision a typed line names: exactly `y`/`yes`, `a`/`always` or `n`/`no` (any case,
/// spaces around). Anything else is asked again: a line like `abort` or `yolo` is not taken for
/// its first letter.
fn decision_of(line: &[u8]) -> Option<Decision> {
    let word = String::from_utf8_lossy(line.trim_ascii()).to_ascii_lowercase();
    match word.as_str() {
        "y" | "yes" => Some(Decision::Once),
        "a" | "always" => Some(Decision::Always),
        "n" | "no" => Some(Decision::Deny),
        _ => None,
    }
}

/// A request as the console shows it; everything from outside escaped.
fn describe(ask: &Ask) -> String {
    let who = &ask.requester;
    let mut chain = vec![printable(&who.command).into_owned()];
    chain.extend(who.parents.iter().map(|p| printable(p).into_owned()));
    format!(
        "\n[{number}] {label} is asked for by pid {pid}{connected}\n    program  {exe}\n    command  \
         {command}\n    folder   {cwd}\n    chain    {chain}\n    allow? y once / a always / n deny \
         ({seconds} s): ",
        number = ask.number,
        label = printable(&ask.label),
        pid = who.pid,
        connected = who.connection_note(),
        exe = printable(&who.exe),
        command = printable(&who.command),
        cwd = printable(&who.cwd),
        chain = chain.join(" ← "),
        seconds = ask.seconds,
    )
}

/// Writes to the terminal; a terminal that cannot be written to ends the console on its next
/// read.
fn say(tty: &mut File, text: &str) {
    let _ = tty.write_all(text.as_bytes()).and_then(|()| tty.flush());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::console::Requester;

    #[test]
    fn a_request_is_shown_with_its_chain_and_escaped() {
        let ask = Ask {
            number: 2,
            seconds: 60,
            label: "api\x1b[2J".into(),
            requester: Requester {
                pid: 9,
                exe: "/usr/bin/sesame (as it names itself)".into(),
                command: "sesame get api".into(),
                cwd: "/home/a".into(),
                parents: vec!["python3 app.py".into(), "bash".into(), "claude".into()],
                connected_pid: None,
            },
        };
        let shown = describe(&ask);
        assert!(shown.contains("[2] api\\x1b[2J is asked for by pid 9"));
        assert!(shown.contains("chain    sesame get api ← python3 app.py ← bash ← claude"));
    }

    #[test]
    fn only_whole_answers_decide_and_a_word_is_not_taken_for_its_first_letter() {
        for (typed, want) in [
            ("y\n", Some(Decision::Once)),
            (" Yes \n", Some(Decision::Once)),
            ("a\n", Some(Decision::Always)),
            ("ALWAYS\n", Some(Decision::Always)),
            ("n\n", Some(Decision::Deny)),
            ("no\n", Some(Decision::Deny)),
            ("abort\n", None),
            ("yolo\n", None),
            ("any\n", None),
            ("\n", None),
        ] {
            assert_eq!(decision_of(typed.as_bytes()), want, "{typed:?}");
        }
    }
}
