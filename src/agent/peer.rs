//! Who is asking: the agent reads a requesting process's executable, command line, working folder
//! and parent chain from `/proc` (Linux), by the pid the kernel attached to the request's bytes
//! (`SCM_CREDENTIALS`: the process that wrote them, not only the one that connected), never by
//! what the client says. What a process may hide from `/proc` (its `exe` and `cwd`, when it is
//! not dumpable, as sesame itself is not) is said so, not guessed.

use super::console::{MAX_PARENTS, Requester};

/// The longest command line kept for a parent, in characters.
const PARENT_CHARS: usize = 100;

/// Whether `pid` lives in the agent's own pid and user namespaces, where the kernel's word on
/// who sent a request can be trusted: a process with its own user namespace (`unshare -Ur`, any
/// user where those are allowed) may name another process of its pid namespace as the sender of
/// what it writes. The pid 0 (a sender the agent cannot see) and an unreadable `/proc` count as
/// not the same. Where there is no `/proc` (macOS), the answer is yes: the peer is who connected.
pub fn in_our_namespaces(pid: u32) -> bool {
    if !std::path::Path::new("/proc/self/ns").exists() {
        return true;
    }
    pid != 0
        && ["pid", "user"].iter().all(|ns| {
            let ours = std::fs::read_link(format!("/proc/self/ns/{ns}"));
            let theirs = std::fs::read_link(format!("/proc/{pid}/ns/{ns}"));
            matches!((ours, theirs), (Ok(a), Ok(b)) if a == b)
        })
}

/// What `/proc` says about `pid`; fields the kernel hides are left as the module header says.
pub fn requester(pid: u32) -> Requester {
    let command = command_line(pid).unwrap_or_default();
    let exe = match std::fs::read_link(format!("/proc/{pid}/exe")) {
        Ok(path) => path.to_string_lossy().into_owned(),
        Err(_) => match command.split(' ').next().filter(|w| !w.is_empty()) {
            Some(first) => format!("{first} (as it names itself)"),
            None => "(hidden)".into(),
        },
    };
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "(hidden)".into());
    Requester {
        pid,
        exe,
        command,
        cwd,
        parents: parents(pid),
        connected_pid: None,
    }
}

/// The arguments of `pid`, joined by spaces; `None` when it is gone or has none (a kernel thread).
fn command_line(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let words: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// From `/proc/PID/stat`: the name (`comm`), the parent's pid and the session id. The name is
/// in parentheses and may itself hold spaces and parentheses: the fields after it start after
/// the last `)`.
fn stat(pid: u32) -> Option<(String, u32, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<(String, u32, u32)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_string();
    let mut fields = text.get(close + 1..)?.split_whitespace();
    let _state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let _pgrp = fields.next()?;
    let session = fields.next()?.parse().ok()?;
    Some((name, ppid, session))
}

/// The parents of `pid`, nearest first, up to and including its session's leader (the login
/// shell, or the terminal's first program), at most [`MAX_PARENTS`]; never init.
fn parents(pid: u32) -> Vec<String> {
    let mut chain = Vec::new();
    let Some((_, mut parent, session)) = stat(pid) else {
        return chain;
    };
    if pid == session {
        return chain; // it leads its own session: nothing above it belongs to it
    }
    while parent > 1 && chain.len() < MAX_PARENTS {
        let Some((name, next, _)) = stat(parent) else {
            break;
        };
        let shown = command_line(parent).unwrap_or(name);
        chain.push(shown.chars().take(PARENT_CHARS).collect());
        if parent == session {
            break;
        }
        parent = next;
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_name_with_parentheses_and_spaces_is_read_to_its_last_parenthesis() {
        assert_eq!(
            parse_stat("42 (a) b (c) S 7 42 40 0 -1"),
            Some(("a) b (c".to_string(), 7, 40))
        );
        assert_eq!(parse_stat("42 (x) S"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_described_with_its_command_line() {
        let me = requester(std::process::id());
        assert_eq!(me.pid, std::process::id());
        assert!(!me.command.is_empty());
        assert!(!me.exe.is_empty());
    }
}
