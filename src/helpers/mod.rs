//! The credential protocols of tools that ask for keys on their own: git's credential helper
//! (`git`) and docker's (`docker`). Each module parses its tool's requests and writes its
//! answers, bounded and strict, and names the secret a request is for; the CLI opens the vault
//! and records each use with [`calling_program`].

pub(crate) mod docker;
pub(crate) mod git;

use crate::error::Result;
use crate::names::{EnvName, Label};
use crate::secret::SecretValue;
use crate::vault::{DEFAULT_KEEP, Secret, Vault};

/// The most of a host or server URL from a request that a message or the usage log shows, in
/// characters: the request is the tool's (or anyone's) input, and the log is kept.
pub(crate) const MAX_SHOWN_SERVER_CHARS: usize = 200;

/// What a tool asks its helper to do: the first argument, in git's and docker's words.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Action {
    /// `get`: the credential for a server, or nothing.
    Get,
    /// `store`: the server accepted this credential (git), or `docker login` saves it.
    Store,
    /// `erase`: the server refused it (git), or `docker logout`.
    Erase,
    /// `list` (docker only): the servers and their user names.
    List,
}

impl Action {
    /// The action a word names; `None` for any other word. git asks a helper to ignore an
    /// operation it does not know ("If a helper receives any other operation, it should
    /// silently ignore the request"); docker's helpers refuse one.
    pub(crate) fn parse(word: &str) -> Option<Action> {
        match word {
            "get" => Some(Action::Get),
            "store" => Some(Action::Store),
            "erase" => Some(Action::Erase),
            "list" => Some(Action::List),
            _ => None,
        }
    }
}

/// Shells that stand between a tool and its helper (`!sesame git-credential` runs through
/// `sh -c`): the program that asked is their parent.
const SHELLS: [&str; 6] = ["sh", "dash", "bash", "zsh", "ash", "busybox"];

/// The name of the program that ran this one (its executable's file name), looking past a shell
/// that only started it: `git-remote-http`, `git`, `docker`, `skopeo`. For the usage log; `None`
/// where the system does not say (not Linux, or the parent is gone).
pub(crate) fn calling_program() -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        let mut pid = rustix::process::getppid()?.as_raw_nonzero().get();
        let mut name = None;
        for _ in 0..4 {
            name = program_of(pid);
            match &name {
                Some(n) if SHELLS.contains(&n.as_str()) => match parent_of(pid) {
                    Some(parent) if parent > 1 => pid = parent,
                    _ => break,
                },
                _ => break,
            }
        }
        name
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The file name of process `pid`'s executable, else its command name.
#[cfg(target_os = "linux")]
fn program_of(pid: i32) -> Option<String> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    let name = match exe.as_deref().and_then(std::path::Path::file_name) {
        Some(name) => name.to_string_lossy().into_owned(),
        None => std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .ok()?
            .trim_end()
            .to_string(),
    };
    // Shown in `sesame log`: no control characters, and not unbounded.
    Some(
        crate::printable::printable(&name)
            .chars()
            .take(64)
            .collect(),
    )
}

/// The parent of process `pid`, from `/proc/PID/stat` (the field after the command name, which
/// is in parentheses and may itself hold spaces or parentheses).
#[cfg(target_os = "linux")]
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// A server's host as a label segment: lower-cased (DNS names are not case-sensitive), a port
/// joined with `_` (`127.0.0.1:8080` → `127.0.0.1_8080`; `:` is not allowed in a label, and `_`
/// is in no host name, so no two servers share a label). `None` for a host no label can carry.
pub(crate) fn host_segment(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (name, Some(port))
        }
        _ => (host.as_str(), None),
    };
    let valid = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !valid {
        return None;
    }
    Some(match port {
        Some(port) => format!("{name}_{port}"),
        None => name.to_string(),
    })
}

/// The user name a secret's note gives, when the note reads `username=NAME` (on a line of its
/// own).
pub(crate) fn username_in_note(note: Option<&str>) -> Option<&str> {
    note_line(note, "username")
}

/// The protocol a git secret answers: its note's `protocol=NAME` line, else `https`. A store
/// over plain http to this machine writes `protocol=http`; nothing else is answered in clear.
pub(crate) fn protocol_in_note(note: Option<&str>) -> &str {
    note_line(note, "protocol").unwrap_or("https")
}

/// The value of a note's `KEY=VALUE` line (the first, trimmed), when not empty.
fn note_line<'n>(note: Option<&'n str>, key: &str) -> Option<&'n str> {
    note?
        .lines()
        .find_map(|line| line.trim().strip_prefix(key)?.strip_prefix('='))
        .filter(|value| !value.is_empty())
}

/// `note` with its `KEY=` line replaced by `KEY=VALUE` (added when it has none), or removed when
/// `value` is `None`; every other line kept. `None` when nothing is left.
fn with_note_line(note: Option<&str>, key: &str, value: Option<&str>) -> Option<String> {
    let mut lines: Vec<String> = note
        .unwrap_or_default()
        .lines()
        .filter(|line| {
            line.trim()
                .strip_prefix(key)
                .is_none_or(|rest| !rest.starts_with('='))
        })
        .map(str::to_string)
        .collect();
    if let Some(value) = value {
        lines.push(format!("{key}={value}"));
    }
    let text = lines.join("\n");
    (!text.trim().is_empty()).then_some(text)
}

/// What a helper's `store` saves: the value the server accepted, under `label`, with the user
/// name git or docker sent. No `Debug`: it holds the value.
pub(crate) struct Accepted {
    /// The secret's label (`git/HOST`, `git/HOST/PATH`, `docker/HOST`): exactly the request's,
    /// never a fallback that answers it.
    pub(crate) label: Label,
    /// The token or password.
    pub(crate) value: SecretValue,
    /// The user name, written into the note as `username=NAME`.
    pub(crate) username: Option<String>,
    /// A git secret's protocol when it is not `https` (`http` to this machine), written into the
    /// note as `protocol=NAME`.
    pub(crate) protocol: Option<String>,
    /// The env name a new secret gets (`GIT_TOKEN_HOST`, `DOCKER_TOKEN_HOST`).
    pub(crate) env_name: EnvName,
}

impl Accepted {
    /// Why the secret already under the label is not this credential's, so `store` must leave it:
    /// its note names another user (or a user when none was sent), or another protocol. `None`
    /// when there is no secret there, or it is this user's.
    pub(crate) fn conflict(&self, vault: &Vault) -> Option<&'static str> {
        let secret = vault.get(&self.label).ok()?;
        let note = secret.note.as_deref();
        if let Some(noted) = username_in_note(note)
            && self.username.as_deref() != Some(noted)
        {
            return Some("its note names another user");
        }
        if protocol_in_note(note) != self.protocol.as_deref().unwrap_or("https") {
            return Some("its note names another protocol");
        }
        None
    }

    /// Whether `vault` already holds this value as the label's current one (nothing to save).
    /// A confirmed secret counts as current: its sealed value is not opened to compare (that would
    /// ask the console again after every use git or docker confirms), and a helper never rotates
    /// it; `sesame rotate` does.
    pub(crate) fn is_current(&self, vault: &Vault) -> bool {
        vault.get(&self.label).is_ok_and(|s| {
            s.current
                .value
                .plain()
                .is_none_or(|v| v.expose() == self.value.expose())
        })
    }

    /// Saves it into `vault`: a rotation of the existing secret, keeping history, or a new
    /// secret. The note's `username=` and `protocol=` lines are set to this credential's (other
    /// lines kept), so no stale user name stays. A user name that a note line cannot hold (a
    /// line break, over 256 bytes) is left out of the note. The caller checks
    /// [`Accepted::conflict`] first.
    pub(crate) fn save(self, vault: &mut Vault, now: i64) -> Result<()> {
        let username = self
            .username
            .filter(|u| !u.is_empty() && u.len() <= 256 && !u.contains(['\n', '\r']));
        let protocol = self.protocol.filter(|p| p != "https");
        let note_for = |old: Option<&str>| {
            let note = with_note_line(old, "username", username.as_deref());
            with_note_line(note.as_deref(), "protocol", protocol.as_deref())
        };
        match vault.find_mut(&self.label) {
            Some(secret) => {
                secret.rotate(self.value, now, DEFAULT_KEEP);
                secret.note = note_for(secret.note.as_deref());
                Ok(())
            }
            None => {
                let mut secret = Secret::first(self.label, self.env_name, self.value, now);
                secret.note = note_for(None);
                vault.insert(secret)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_becomes_one_label_segment() {
        for (host, want) in [
            ("github.com", Some("github.com")),
            ("GitHub.COM", Some("github.com")),
            ("127.0.0.1:8080", Some("127.0.0.1_8080")),
            ("registry-1.docker.io", Some("registry-1.docker.io")),
            ("[::1]:5000", None),
            ("a b", None),
            ("", None),
            ("-x", None),
            ("host:", None),
            ("a/b", None),
        ] {
            assert_eq!(host_segment(host).as_deref(), want, "{host:?}");
        }
    }

    #[test]
    fn the_note_names_the_user_on_a_line_of_its_own() {
        assert_eq!(username_in_note(Some("username=ann")), Some("ann"));
        assert_eq!(
            username_in_note(Some("work account\nusername=bob\n")),
            Some("bob")
        );
        assert_eq!(username_in_note(Some("username=")), None);
        assert_eq!(username_in_note(Some("user ann")), None);
        assert_eq!(username_in_note(None), None);
        assert_eq!(protocol_in_note(Some("username=ann")), "https");
        assert_eq!(
            protocol_in_note(Some("protocol=http\nusername=ann")),
            "http"
        );
    }

    #[test]
    fn a_note_line_is_replaced_and_the_other_lines_kept() {
        let note = Some("work account\nusername=ann\nusernames=x");
        assert_eq!(
            with_note_line(note, "username", Some("bob")).as_deref(),
            Some("work account\nusernames=x\nusername=bob")
        );
        assert_eq!(with_note_line(Some("username=ann"), "username", None), None);
        assert_eq!(
            with_note_line(None, "protocol", Some("http")).as_deref(),
            Some("protocol=http")
        );
    }
}
