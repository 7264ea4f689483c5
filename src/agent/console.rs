//! The approval console's channel (`docs/AGENT.md`, "The console channel"): the messages the
//! agent and the `unlock --confirm` terminal exchange over their socketpair, in the agent's frames.
//! Parsed by hand and bounded like every other frame; a malformed one ends the console.

/// Agent → console: a request to show and answer.
const ASK: u8 = 1;
/// Agent → console: a request was not answered in time and was denied.
const EXPIRED: u8 = 2;
/// Console → agent: the person's decision on a request.
const ANSWER: u8 = 3;
/// Agent → console: the program that made a request ended before it was answered.
const WITHDRAWN: u8 = 4;

/// The longest label, executable, folder, command line and parent shown, in bytes.
const MAX_LABEL: usize = 256;
const MAX_PATH: usize = 512;
const MAX_COMMAND: usize = 1024;
const MAX_PARENT: usize = 128;
/// At most this many parents are sent (the chain is cut at the far end).
pub const MAX_PARENTS: usize = 8;

/// Who asks for a confirmed secret, as the agent read it from `/proc` (`crate::agent::peer`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Requester {
    /// Its process id.
    pub pid: u32,
    /// Its executable, or the first word of its command line when the kernel hides it.
    pub exe: String,
    /// Its arguments, joined by spaces.
    pub command: String,
    /// Its working folder, or empty when hidden.
    pub cwd: String,
    /// Its parents, nearest first, up to the session leader: each as a short command line.
    pub parents: Vec<String>,
    /// The process that opened the connection the request came on, when that is another one
    /// (the socket was handed to the requester, e.g. by a fork).
    pub connected_pid: Option<u32>,
}

impl Requester {
    /// ", on a connection opened by pid N" when another process opened the request's connection
    /// (the console and the usage log say so after the requester's pid), else nothing.
    pub fn connection_note(&self) -> String {
        self.connected_pid
            .map(|pid| format!(", on a connection opened by pid {pid}"))
            .unwrap_or_default()
    }
}

/// A request the console shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// The agent's number for the request; the answer names it.
    pub number: u32,
    /// How long the person has to answer, in seconds.
    pub seconds: u32,
    /// The confirmed secret's label, as the vault file names it.
    pub label: String,
    /// Who asks.
    pub requester: Requester,
}

/// The person's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// `n`, or anything but `y` and `a`.
    Deny,
    /// `y`: this request only.
    Once,
    /// `a`: this request and every later one from the same program, for the agent's life.
    Always,
}

/// What the agent sends the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToConsole {
    /// Show this request and answer it.
    Ask(Ask),
    /// The request with this number was not answered in time and was denied.
    Expired(u32),
    /// The program that made the request with this number ended before it was answered.
    Withdrawn(u32),
}

/// What the console sends the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The request answered.
    pub number: u32,
    /// The person's decision.
    pub decision: Decision,
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn put(out: &mut Vec<u8>, text: &str, max: usize) {
    let text = cut(text, max);
    out.extend_from_slice(&(text.len() as u16).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// Reads from a body, front to back; every read is bounded by what is left.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn text(&mut self, max: usize) -> Option<String> {
        let len = u16::from_le_bytes(self.take(2)?.try_into().ok()?) as usize;
        if len > max {
            return None;
        }
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
}

impl ToConsole {
    /// The frame body: an ask is at most 13 + 258 + 2·514 + 1026 + 1 + 8·130 + 4 = 3370 bytes,
    /// under the frame limit.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ToConsole::Ask(ask) => {
                let mut b = vec![ASK];
                b.extend_from_slice(&ask.number.to_le_bytes());
                b.extend_from_slice(&ask.seconds.to_le_bytes());
                b.extend_from_slice(&ask.requester.pid.to_le_bytes());
                put(&mut b, &ask.label, MAX_LABEL);
                put(&mut b, &ask.requester.exe, MAX_PATH);
                put(&mut b, &ask.requester.command, MAX_COMMAND);
                put(&mut b, &ask.requester.cwd, MAX_PATH);
                let parents =
                    &ask.requester.parents[..ask.requester.parents.len().min(MAX_PARENTS)];
                b.push(parents.len() as u8);
                for parent in parents {
                    put(&mut b, parent, MAX_PARENT);
                }
                if let Some(connected) = ask.requester.connected_pid {
                    b.extend_from_slice(&connected.to_le_bytes());
                }
                b
            }
            ToConsole::Expired(number) => {
                let mut b = vec![EXPIRED];
                b.extend_from_slice(&number.to_le_bytes());
                b
            }
            ToConsole::Withdrawn(number) => {
                let mut b = vec![WITHDRAWN];
                b.extend_from_slice(&number.to_le_bytes());
                b
            }
        }
    }

    /// Parses a body from the agent; `None` for anything malformed or not canonical.
    pub fn decode(body: &[u8]) -> Option<ToConsole> {
        let mut r = Reader(body);
        let message = match r.u8()? {
            ASK => {
                let number = r.u32()?;
                let seconds = r.u32()?;
                let pid = r.u32()?;
                let label = r.text(MAX_LABEL)?;
                let exe = r.text(MAX_PATH)?;
                let command = r.text(MAX_COMMAND)?;
                let cwd = r.text(MAX_PATH)?;
                let count = r.u8()? as usize;
                if count > MAX_PARENTS {
                    return None;
                }
                let parents = (0..count)
                    .map(|_| r.text(MAX_PARENT))
                    .collect::<Option<Vec<_>>>()?;
                let connected_pid = if r.0.is_empty() { None } else { Some(r.u32()?) };
                ToConsole::Ask(Ask {
                    number,
                    seconds,
                    label,
                    requester: Requester {
                        pid,
                        exe,
                        command,
                        cwd,
                        parents,
                        connected_pid,
                    },
                })
            }
            EXPIRED => ToConsole::Expired(r.u32()?),
            WITHDRAWN => ToConsole::Withdrawn(r.u32()?),
            _ => return None,
        };
        r.0.is_empty().then_some(message)
    }
}

impl Answer {
    /// The frame body.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![ANSWER];
        b.extend_from_slice(&self.number.to_le_bytes());
        b.push(match self.decision {
            Decision::Deny => 0,
            Decision::Once => 1,
            Decision::Always => 2,
        });
        b
    }

    /// Parses a body from the console; `None` for anything malformed.
    pub fn decode(body: &[u8]) -> Option<Answer> {
        let mut r = Reader(body);
        if r.u8()? != ANSWER {
            return None;
        }
        let number = r.u32()?;
        let decision = match r.u8()? {
            0 => Decision::Deny,
            1 => Decision::Once,
            2 => Decision::Always,
            _ => return None,
        };
        r.0.is_empty().then_some(Answer { number, decision })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(command: &str, parents: usize) -> ToConsole {
        ToConsole::Ask(Ask {
            number: 7,
            seconds: 60,
            label: "openai/prod".into(),
            requester: Requester {
                pid: 4242,
                exe: "/usr/bin/python3".into(),
                command: command.into(),
                cwd: "/home/a/project".into(),
                parents: (0..parents).map(|i| format!("parent {i}")).collect(),
                connected_pid: None,
            },
        })
    }

    #[test]
    fn console_messages_round_trip() {
        let mut handed_over = ask("python3 app.py", 1);
        if let ToConsole::Ask(a) = &mut handed_over {
            a.requester.connected_pid = Some(4000);
        }
        for message in [
            ask("python3 app.py", 2),
            handed_over,
            ToConsole::Expired(3),
            ToConsole::Withdrawn(4),
        ] {
            assert_eq!(ToConsole::decode(&message.encode()), Some(message));
        }
        for decision in [Decision::Deny, Decision::Once, Decision::Always] {
            let answer = Answer {
                number: 9,
                decision,
            };
            assert_eq!(Answer::decode(&answer.encode()), Some(answer));
        }
    }

    #[test]
    fn the_longest_request_fits_in_one_frame_and_is_cut_at_a_character() {
        let long = "é".repeat(4000);
        let mut longest = ask(&long, 20);
        if let ToConsole::Ask(a) = &mut longest {
            a.requester.connected_pid = Some(u32::MAX);
        }
        let body = longest.encode();
        assert!(body.len() <= crate::agent::protocol::MAX_FRAME);
        let Some(ToConsole::Ask(decoded)) = ToConsole::decode(&body) else {
            panic!("the longest request did not decode");
        };
        assert_eq!(decoded.requester.command.len(), MAX_COMMAND);
        assert_eq!(decoded.requester.parents.len(), MAX_PARENTS);
    }

    #[test]
    fn malformed_console_messages_are_refused() {
        let mut trailing = ToConsole::Expired(1).encode();
        trailing.push(0);
        for body in [
            &[][..],
            &[9],
            &[EXPIRED, 1],
            &trailing,
            &[ANSWER, 1, 0, 0, 0, 3],
            &[ANSWER, 1, 0, 0, 0],
        ] {
            assert_eq!(ToConsole::decode(body), None, "{body:?}");
            assert_eq!(Answer::decode(body), None, "{body:?}");
        }
    }
}
