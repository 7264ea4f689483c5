//! Confirmed secrets (`docs/AGENT.md`, "Approvals"): their values are sealed under a key of their
//! own, which the agent releases only when the approval console says yes. This module is what
//! both sides share: the key's HKDF purpose, the agent's words for each decision, and the one
//! function every command that needs a value goes through to open a sealed one.

use crate::agent::console::Requester;
use crate::agent::gate::Outcome;
use crate::agent::protocol::VALUE_SALT_LEN;
use crate::usage::Event;
use crate::vault::Vault;

/// The HKDF `info` of a sealed value's key (purpose 3 in `docs/AGENT.md`).
pub const CONFIRMED_VALUE_INFO: &[u8] = b"sesame v2 confirmed value";

/// The action of an approval decision in the usage log.
pub const LOG_ACTION: &str = "approval";

/// The label of the one secret of `vault` whose sealed values have all of `salts`; `None` when
/// a salt is no sealed value's, or the salts belong to two secrets.
pub fn label_of_sealed(vault: &Vault, salts: &[[u8; VALUE_SALT_LEN]]) -> Option<String> {
    let _ = (vault, salts);
    None
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

/// The usage-log event of a decision: the label, the outcome, and who asked — pid, executable,
/// working folder and the names of the parent programs. No arguments: they can hold secrets.
pub fn decision_event(label: &str, outcome: Outcome, requester: &Requester) -> Event {
    let parents: Vec<&str> = requester.parents.iter().map(|p| program_name(p)).collect();
    let mut event = Event::new(LOG_ACTION, vec![label.to_string()]).detail(format!(
        "{}; pid {}, {}, in {}{}",
        outcome.word(),
        requester.pid,
        requester.exe,
        requester.cwd,
        if parents.is_empty() {
            String::new()
        } else {
            format!(", started by {}", parents.join(" ← "))
        }
    ));
    event.program = Some(program_name(&requester.command).to_string());
    event
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
            parents: vec!["python app.py --key=s3cret".into(), "/bin/bash".into()],
        };
        let event = decision_event("api", Outcome::ApprovedOnce, &requester);
        let detail = event.detail.unwrap_or_default();
        assert_eq!(
            detail,
            "approved once; pid 42, /usr/bin/sesame, in /home/a, started by python ← bash"
        );
        assert_eq!(event.program.as_deref(), Some("sesame"));
        assert!(!detail.contains("s3cret") && !detail.contains("hunter2"));
    }
}
