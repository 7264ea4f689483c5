//! Where passphrases and secret values come from (SPEC, "Passphrase sources" and "Values").
//!
//! Every byte read here goes straight into a zeroizing buffer (a larger one replaces it, wiped,
//! when it fills), read without an intermediate `BufReader`, so no copy of a secret is left in
//! freed memory.

use std::fs::File;
use std::io::{IsTerminal, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::{Passphrase, SecretValue};
use crate::vault::MAX_VALUE_LEN;

/// Longest passphrase accepted from any source.
pub(crate) const MAX_PASSPHRASE_LEN: usize = 1024;

/// Environment variables that carry secrets to sesame; none of them may reach a child process.
pub(crate) const SECRET_ENV_VARS: &[&str] = &[
    "SESAME_PASSPHRASE",
    "SESAME_PASSPHRASE_FILE",
    "SESAME_PASSPHRASE_COMMAND",
    "SESAME_NEW_PASSPHRASE",
    "SESAME_NEW_PASSPHRASE_FILE",
    "SESAME_RECOVERY_CODE",
];

/// Reads up to `limit` bytes; `None` if there were more.
///
/// The buffer starts at [`FIRST_READ`] bytes and doubles: one of `limit` bytes (1 MiB for a value)
/// would be wiped whole when dropped, since zeroizing a `Vec` clears its spare capacity too, which
/// touched 256 pages to wipe a 40-byte key (about a tenth of a write's CPU time). Each larger buffer
/// is a new zeroizing one that the bytes are copied into before the smaller one is wiped; a `Vec`
/// is never grown in place, which would free the old copy unwiped.
fn read_bounded(
    mut reader: impl Read,
    limit: usize,
) -> std::io::Result<Option<Zeroizing<Vec<u8>>>> {
    let mut buf = Zeroizing::new(vec![0u8; (limit + 1).min(FIRST_READ)]);
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            if filled > limit {
                return Ok(None);
            }
            let mut bigger = Zeroizing::new(vec![0u8; (filled * 2).min(limit + 1)]);
            bigger[..filled].copy_from_slice(&buf[..filled]);
            buf = bigger;
        }
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(Some(buf))
}

/// The first buffer [`read_bounded`] reads into: room for any key or passphrase.
const FIRST_READ: usize = 4096;

/// The three flags that name a descriptor to read a secret from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FdFlag {
    Passphrase,
    NewPassphrase,
    RecoveryCode,
}

impl FdFlag {
    const ALL: [FdFlag; 3] = [
        FdFlag::Passphrase,
        FdFlag::NewPassphrase,
        FdFlag::RecoveryCode,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// The descriptors given with `--passphrase-fd`, `--new-passphrase-fd` and `--recovery-code-fd`.
///
/// They are claimed when sesame starts ([`SecretFds::claim`]): marked close-on-exec at once, so
/// no child (`run`, `rotate --verify`, the passphrase command, the agent) ever inherits one, read
/// in place (no reopening, so two flags naming one descriptor read its first and second lines),
/// and closed as soon as every flag naming that number has been read. Descriptors 0–2 are
/// sesame's standard streams: read the same way, but never closed.
pub(crate) struct SecretFds {
    given: [Option<RawFd>; 3],
    state: Mutex<FdState>,
}

struct FdState {
    read: [bool; 3],
    /// Claimed descriptors above 2, by number; dropping one closes it.
    owned: Vec<(RawFd, OwnedFd)>,
}

impl SecretFds {
    /// Takes ownership of the given descriptors. Call once, when the process starts, before any
    /// file is opened (see [`crate::sys::claim_inherited_fd`]). A number that is not open is
    /// reported only when a command reads it.
    pub(crate) fn claim(
        passphrase: Option<RawFd>,
        new: Option<RawFd>,
        recovery: Option<RawFd>,
    ) -> Self {
        let given = [passphrase, new, recovery];
        let mut owned: Vec<(RawFd, OwnedFd)> = Vec::new();
        for fd in given.into_iter().flatten() {
            if owned.iter().any(|(n, _)| *n == fd) {
                continue; // one number given to two flags is claimed once
            }
            if let Some(file) = crate::sys::claim_inherited_fd(fd) {
                owned.push((fd, file));
            }
        }
        SecretFds {
            given,
            state: Mutex::new(FdState {
                read: [false; 3],
                owned,
            }),
        }
    }

    /// The number given with `flag`, if any.
    pub(crate) fn given(&self, flag: FdFlag) -> Option<RawFd> {
        self.given[flag.index()]
    }

    /// Reads one line from the descriptor of `flag`, then closes the descriptor if no other
    /// given flag still has to read from it.
    fn read_line(&self, flag: FdFlag, what: &str) -> Option<Result<Passphrase>> {
        let fd = self.given(flag)?;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let line = match fd {
            0 => read_line(rustix::stdio::stdin(), what),
            1 => read_line(rustix::stdio::stdout(), what),
            2 => read_line(rustix::stdio::stderr(), what),
            _ => match state.owned.iter().find(|(n, _)| *n == fd) {
                Some((_, owned)) => read_line(owned, what),
                None => Err(Error::io(
                    format!("cannot read {what} (descriptor {fd})"),
                    rustix::io::Errno::BADF.into(),
                )),
            },
        };
        state.read[flag.index()] = true;
        let still_needed = FdFlag::ALL
            .iter()
            .any(|f| self.given(*f) == Some(fd) && !state.read[f.index()]);
        if !still_needed {
            state.owned.retain(|(n, _)| *n != fd); // closes it
        }
        Some(line)
    }
}

/// Reads one line, one byte at a time so nothing past the newline is consumed (two secrets may
/// share a descriptor). The newline and a `\r` just before it are dropped; a `\r` at the end of
/// the input with no newline after it is part of the passphrase.
fn read_line(fd: impl AsFd, what: &str) -> Result<Passphrase> {
    let mut line = Zeroizing::new(Vec::with_capacity(MAX_PASSPHRASE_LEN + 2));
    let mut byte = [0u8; 1];
    loop {
        match rustix::io::read(&fd, &mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                break;
            }
            Ok(_) => {
                if line.len() > MAX_PASSPHRASE_LEN {
                    return Err(too_long(what));
                }
                line.push(byte[0]);
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                let fd = fd.as_fd().as_raw_fd();
                return Err(Error::io(
                    format!("cannot read {what} (descriptor {fd})"),
                    e.into(),
                ));
            }
        }
    }
    if line.len() > MAX_PASSPHRASE_LEN {
        return Err(too_long(what));
    }
    Ok(Passphrase::new(line))
}

fn too_long(what: &str) -> Error {
    Error::usage(format!(
        "the passphrase from {what} is longer than {MAX_PASSPHRASE_LEN} bytes"
    ))
}

/// The passphrase held by a whole file, command output or variable: one trailing `\n` or `\r\n`
/// is dropped, and anything left that still holds a newline is refused rather than cut, so a
/// passphrase is never silently weakened to its first line.
fn single_line(mut bytes: Zeroizing<Vec<u8>>, what: &str) -> Result<Passphrase> {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    if bytes.contains(&b'\n') {
        return Err(Error::usage(format!(
            "{what} holds more than one line; a passphrase is a single line (sesame does not cut \
             it short): remove the extra lines"
        )));
    }
    if bytes.len() > MAX_PASSPHRASE_LEN {
        return Err(too_long(what));
    }
    Ok(Passphrase::new(bytes))
}

fn from_file(path: &Path, var: &str) -> Result<Passphrase> {
    let file = File::open(path)
        .map_err(|e| Error::io(format!("cannot read {var} ({})", path.display()), e))?;
    warn_if_readable_by_others(&file, path, var);
    match read_bounded(file, 64 * 1024) {
        Ok(Some(bytes)) => single_line(bytes, var),
        Ok(None) => Err(too_long(var)),
        Err(e) => Err(Error::io(
            format!("cannot read {var} ({})", path.display()),
            e,
        )),
    }
}

/// A passphrase file that group or others can read is a passphrase they can read: say so (it
/// still works — refusing would break a setup at the worst moment, and the owner may mean it).
fn warn_if_readable_by_others(file: &File, path: &Path, var: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = file.metadata() {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o044 != 0 {
            eprintln!(
                "sesame: warning: {var} ({}) can be read by {} (mode {mode:04o}); \
                 `chmod 600 {}` keeps the passphrase yours",
                path.display(),
                if mode & 0o004 != 0 {
                    "every user"
                } else {
                    "its group"
                },
                path.display()
            );
        }
    }
}

fn from_command(command: &str, var: &str) -> Result<Passphrase> {
    let mut child = Command::new("sh");
    child.arg("-c").arg(command);
    // "None of the SESAME_*PASSPHRASE* variables reaches a child process", this one included;
    // nor an OpenBao token or login credential, which the command has no use for.
    for secret_var in SECRET_ENV_VARS
        .iter()
        .chain(&crate::openbao::CREDENTIAL_ENV_VARS)
    {
        child.env_remove(secret_var);
    }
    let mut child = child
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("cannot run {var}"), e))?;
    let output = match child.stdout.take() {
        Some(stdout) => read_bounded(stdout, 64 * 1024),
        None => Ok(Some(Zeroizing::new(Vec::new()))),
    };
    let status = child
        .wait()
        .map_err(|e| Error::io(format!("cannot run {var}"), e))?;
    if !status.success() {
        return Err(Error::usage(format!(
            "{var} failed ({status}); fix the command or use another passphrase source"
        )));
    }
    match output {
        Ok(Some(bytes)) => single_line(bytes, var),
        Ok(None) => Err(too_long(var)),
        Err(e) => Err(Error::io(format!("cannot read the output of {var}"), e)),
    }
}

fn env_nonempty(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

fn have_terminal() -> bool {
    File::open("/dev/tty").is_ok()
}

fn prompt(text: &str) -> Result<Passphrase> {
    let line = crate::hidden_prompt::read_hidden(text)
        .map_err(|e| Error::io("cannot read from the terminal", e))?;
    let pass = Passphrase::new(Zeroizing::new(line.as_bytes().to_vec()));
    if pass.expose().len() > MAX_PASSPHRASE_LEN {
        return Err(too_long("the terminal"));
    }
    Ok(pass)
}

/// How many times a prompt asks (a wrong passphrase, a mismatched repeat) before giving up.
pub(crate) const PROMPT_TRIES: u32 = 3;

/// Where a passphrase came from: a prompt may be asked again, a given source may not (asking a
/// file or a variable again gives the same answer).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Given,
    Prompt,
}

/// Where one kind of secret input may come from, in the SPEC's order of precedence.
struct Sources {
    /// What it is, for messages: "passphrase", "new passphrase", "recovery code".
    what: &'static str,
    fd_flag: &'static str,
    flag: FdFlag,
    file_var: Option<&'static str>,
    command_var: Option<&'static str>,
    value_var: &'static str,
}

const CURRENT: Sources = Sources {
    what: "passphrase",
    fd_flag: "--passphrase-fd",
    flag: FdFlag::Passphrase,
    file_var: Some("SESAME_PASSPHRASE_FILE"),
    command_var: Some("SESAME_PASSPHRASE_COMMAND"),
    value_var: "SESAME_PASSPHRASE",
};

const NEW: Sources = Sources {
    what: "new passphrase",
    fd_flag: "--new-passphrase-fd",
    flag: FdFlag::NewPassphrase,
    file_var: Some("SESAME_NEW_PASSPHRASE_FILE"),
    command_var: None,
    value_var: "SESAME_NEW_PASSPHRASE",
};

const RECOVERY: Sources = Sources {
    what: "recovery code",
    fd_flag: "--recovery-code-fd",
    flag: FdFlag::RecoveryCode,
    file_var: None,
    command_var: None,
    value_var: "SESAME_RECOVERY_CODE",
};

impl Sources {
    /// The first source present, or `None` when only the terminal is left.
    fn read(&self, fds: &SecretFds) -> Result<Option<Passphrase>> {
        if let Some(line) = fds.read_line(self.flag, self.fd_flag) {
            return line.map(Some);
        }
        if let Some(var) = self.file_var
            && let Some(path) = env_nonempty(var)
        {
            return from_file(Path::new(&path), var).map(Some);
        }
        if let Some(var) = self.command_var
            && let Some(command) = std::env::var(var).ok().filter(|c| !c.is_empty())
        {
            return from_command(&command, var).map(Some);
        }
        if let Some(value) = env_nonempty(self.value_var) {
            let bytes = Zeroizing::new(value.into_encoded_bytes());
            return single_line(bytes, self.value_var).map(Some);
        }
        Ok(None)
    }

    fn missing(&self) -> Error {
        if self.what == "passphrase" {
            return Error::NoPassphraseSource;
        }
        let mut names = vec![format!("{} N", self.fd_flag)];
        names.extend(self.file_var.map(String::from));
        names.push(self.value_var.to_string());
        Error::usage(format!(
            "no {} source: use {}, or run sesame on a terminal",
            self.what,
            names.join(", ")
        ))
    }

    /// Reads from the sources, else prompts on the terminal (twice when `confirm`, asking again
    /// after a mismatched repeat, [`PROMPT_TRIES`] times in all, as `sudo` does), also saying
    /// whether the secret was typed at the prompt.
    fn get_sourced(
        &self,
        fds: &SecretFds,
        prompt_text: &str,
        confirm: bool,
    ) -> Result<(Passphrase, Origin)> {
        if let Some(secret) = self.read(fds)? {
            return Ok((secret, Origin::Given));
        }
        if !have_terminal() {
            return Err(self.missing());
        }
        self.prompt_new(prompt_text, confirm, &|_| Ok(()))
            .map(|secret| (secret, Origin::Prompt))
    }

    /// Prompts on the terminal; with `confirm`, judges the first entry with `judge` (a weak
    /// passphrase is refused at once, before the repeat is asked for) and then asks for the
    /// repeat. A refused or mismatched entry is asked again, [`PROMPT_TRIES`] times in all.
    fn prompt_new(
        &self,
        prompt_text: &str,
        confirm: bool,
        judge: &dyn Fn(&Passphrase) -> Result<()>,
    ) -> Result<Passphrase> {
        for attempt in 1..=PROMPT_TRIES {
            let first = prompt(prompt_text)?;
            if !confirm {
                return Ok(first);
            }
            if let Err(refused) = judge(&first) {
                if attempt == PROMPT_TRIES {
                    return Err(refused);
                }
                eprintln!("{refused}");
                eprintln!("Choose another {}.", self.what);
                continue;
            }
            let again = prompt(&format!("Repeat the {}: ", self.what))?;
            if first.expose() == again.expose() {
                return Ok(first);
            }
            if attempt < PROMPT_TRIES {
                eprintln!("The two {}s differ; try again.", self.what);
            }
        }
        Err(Error::usage(format!(
            "the two {}s differed {PROMPT_TRIES} times; nothing was changed",
            self.what
        )))
    }
}

/// [`passphrase`] (never confirmed), also saying whether it was typed at the prompt.
pub(crate) fn passphrase_sourced(fds: &SecretFds, vault: &Path) -> Result<(Passphrase, Origin)> {
    CURRENT.get_sourced(fds, &format!("Passphrase for {}: ", vault.display()), false)
}

/// The passphrase `init` sets: a new-passphrase source first (`--new-passphrase-fd`,
/// `SESAME_NEW_PASSPHRASE_FILE`, `SESAME_NEW_PASSPHRASE`), then the current-passphrase sources
/// (what a script that later opens the vault already sets), else asked twice on the terminal.
/// `judge` refuses a passphrase (empty, too weak) whatever its source; at the prompt it is
/// applied to the first entry, which is asked again before the repeat.
pub(crate) fn init_passphrase(
    fds: &SecretFds,
    vault: &Path,
    judge: &dyn Fn(&Passphrase) -> Result<()>,
) -> Result<Passphrase> {
    if let Some(pass) = NEW.read(fds)? {
        judge(&pass)?;
        return Ok(pass);
    }
    if let Some(pass) = CURRENT.read(fds)? {
        judge(&pass)?;
        return Ok(pass);
    }
    if !have_terminal() {
        return Err(Error::usage(format!(
            "no passphrase for the new vault {}: run `sesame init` on a terminal, or give it with \
             --new-passphrase-fd N, SESAME_NEW_PASSPHRASE_FILE, SESAME_NEW_PASSPHRASE, \
             --passphrase-fd N, SESAME_PASSPHRASE_FILE, SESAME_PASSPHRASE_COMMAND or \
             SESAME_PASSPHRASE",
            vault.display()
        )));
    }
    CURRENT.prompt_new(
        &format!("New passphrase for {}: ", vault.display()),
        true,
        judge,
    )
}

/// The passphrase from a non-interactive source, if one is set (never prompts).
pub(crate) fn passphrase_if_available(fds: &SecretFds) -> Result<Option<Passphrase>> {
    CURRENT.read(fds)
}

/// A new passphrase (`passwd`, `recover`): `--new-passphrase-fd`, `SESAME_NEW_PASSPHRASE_FILE`,
/// `SESAME_NEW_PASSPHRASE`, else asked twice on the terminal. Never empty; `judge` refuses one
/// (too weak) as in [`init_passphrase`].
pub(crate) fn new_passphrase(
    fds: &SecretFds,
    vault: &Path,
    judge: &dyn Fn(&Passphrase) -> Result<()>,
) -> Result<Passphrase> {
    let judge = |pass: &Passphrase| {
        if pass.is_empty() {
            return Err(Error::usage(
                "the new passphrase is empty; choose a long passphrase",
            ));
        }
        judge(pass)
    };
    if let Some(pass) = NEW.read(fds)? {
        judge(&pass)?;
        return Ok(pass);
    }
    if !have_terminal() {
        return Err(NEW.missing());
    }
    NEW.prompt_new(
        &format!("New passphrase for {}: ", vault.display()),
        true,
        &judge,
    )
}

/// A recovery code as typed: `--recovery-code-fd`, `SESAME_RECOVERY_CODE`, else the terminal;
/// also saying whether it was typed at the prompt (and so may be asked again).
pub(crate) fn recovery_code_sourced(fds: &SecretFds) -> Result<(Passphrase, Origin)> {
    RECOVERY.get_sourced(fds, "Recovery code: ", false)
}

/// What to do about an empty value, with the clipboard command of the platform.
#[cfg(target_os = "macos")]
const EMPTY_VALUE_HINT: &str = "the value is empty; pipe it on stdin (e.g. `pbpaste | sesame add LABEL`) or type it at the prompt";
#[cfg(not(target_os = "macos"))]
const EMPTY_VALUE_HINT: &str = "the value is empty; pipe it on stdin (e.g. `wl-paste | sesame add LABEL`, or \
     `xclip -selection clipboard -o | sesame add LABEL`) or type it at the prompt";

/// Reads a secret value: from stdin when it is not a terminal, else from a hidden prompt.
/// Exactly one trailing `\n` or `\r\n` is stripped unless `raw`.
pub(crate) fn value(label: &str, raw: bool) -> Result<SecretValue> {
    let stdin = std::io::stdin();
    let mut bytes = if stdin.is_terminal() {
        let line = crate::hidden_prompt::read_hidden(&format!("Value for {label}: "))
            .map_err(|e| Error::io("cannot read from the terminal", e))?;
        Zeroizing::new(line.as_bytes().to_vec())
    } else {
        // Room for 1 MiB plus a trailing "\r\n".
        match read_bounded(stdin.lock(), MAX_VALUE_LEN + 2) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Err(value_too_large()),
            Err(e) => return Err(Error::io("cannot read the value from stdin", e)),
        }
    };
    if !raw && bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    if bytes.is_empty() {
        return Err(Error::NoInput {
            what: "value",
            hint: EMPTY_VALUE_HINT,
        });
    }
    if bytes.len() > MAX_VALUE_LEN {
        return Err(value_too_large());
    }
    Ok(SecretValue::new(bytes))
}

fn value_too_large() -> Error {
    Error::usage("the value is larger than 1 MiB, the most a secret may hold")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_read_keeps_every_byte_across_its_growing_buffers() -> std::io::Result<()> {
        // Across the doublings from FIRST_READ up to the limit, and read in odd-sized chunks.
        let limit = 3 * FIRST_READ + 5;
        let data: Vec<u8> = (0..=limit).map(|i| (i % 251) as u8).collect();
        for len in [0, 1, FIRST_READ - 1, FIRST_READ, FIRST_READ + 1, limit] {
            let read = read_bounded(
                std::io::Read::chain(&data[..len / 2], &data[len / 2..len]),
                limit,
            )?;
            assert_eq!(read.as_deref().map(Vec::as_slice), Some(&data[..len]));
        }
        assert!(read_bounded(&data[..=limit], limit)?.is_none());
        Ok(())
    }
}
