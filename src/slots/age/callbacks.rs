//! The age plugin callbacks (messages, confirmations, PINs) and an encrypted SSH key's
//! passphrase, answered on the terminal.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};

use age::secrecy::SecretString;
use zeroize::Zeroizing;

/// What an age plugin or an encrypted SSH key asks of the user, on the terminal (`/dev/tty`),
/// never on stdin or stdout, which may carry a secret. Without a terminal every request is
/// answered "no answer", and the plugin or key fails with its own reason.
#[derive(Clone, Copy)]
pub(super) struct TerminalCallbacks;

fn tty() -> Option<std::fs::File> {
    OpenOptions::new().read(true).write(true).open("/dev/tty").ok()
}

/// A plugin's message, without control characters (it could otherwise drive the terminal).
fn printable(message: &str) -> String {
    message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn ask_line(question: &str) -> Option<Zeroizing<String>> {
    let mut tty = tty()?;
    tty.write_all(printable(question).as_bytes()).ok()?;
    tty.flush().ok()?;
    let mut line = Zeroizing::new(String::new());
    BufReader::new(tty.take(4096)).read_line(&mut line).ok()?;
    let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_string());
    Some(trimmed)
}

impl age::Callbacks for TerminalCallbacks {
    fn display_message(&self, message: &str) {
        eprintln!("{}", printable(message));
    }

    fn confirm(&self, message: &str, yes_string: &str, no_string: Option<&str>) -> Option<bool> {
        let no = no_string.unwrap_or("no");
        let answer = ask_line(&format!("{message} [{yes_string}/{no}] "))?;
        Some(answer.trim().eq_ignore_ascii_case(yes_string))
    }

    fn request_public_string(&self, description: &str) -> Option<String> {
        ask_line(&format!("{description} ")).map(|s| s.to_string())
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        tty()?;
        let typed = crate::hidden_prompt::read_hidden(&printable(description)).ok()?;
        Some(SecretString::from(typed.as_str().to_owned()))
    }
}

