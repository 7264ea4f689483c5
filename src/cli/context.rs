//! What every command needs: the vault path, the passphrase sources, and the two ways to use a
//! vault — read it (`unlock`), or change it under the write lock (`commit`).

use std::fs::OpenOptions;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use super::GlobalArgs;
use crate::agent::client::AgentKey;
use crate::container::{UnlockedVault, inspect, passphrase_slot};
use crate::crypto::KdfParams;
use crate::error::{Error, Result};
use crate::format::Header;
use crate::format::read::ParsedFile;
use crate::input::{FdFlag, SecretFds};
use crate::secret::Passphrase;
use crate::slots::Inputs;
use crate::transaction::{self, Committed};
use crate::usage::Event;
use crate::{input, store, unlock};

use super::warn;

pub(crate) struct Context {
    pub path: PathBuf,
    /// The `--*-fd` descriptors, claimed (close-on-exec) before anything else is opened.
    pub fds: SecretFds,
    /// `--accept-kdf-cost` / `SESAME_ACCEPT_KDF_COST`: spend a costly slot's Argon2 work unasked.
    pub accept_kdf_cost: bool,
    /// What the command line adds for the slot kinds that open the vault from what the user
    /// carries.
    pub inputs: Inputs,
}

impl Context {
    /// Must run before sesame opens any file: it takes ownership of the descriptors given with
    /// `--passphrase-fd`, `--new-passphrase-fd` and `--recovery-code-fd` (see [`SecretFds`]).
    /// Then resolves the vault path (following a symlink to the vault) and warns, once per
    /// command, when the vault's folder can be written by other users.
    pub(crate) fn new(global: &GlobalArgs) -> Result<Context> {
        let fds = SecretFds::claim(
            global.passphrase_fd,
            global.new_passphrase_fd,
            global.recovery_code_fd,
        );
        let path = store::resolve_vault_path(global.vault.clone())?;
        if let Some(warning) = store::folder_warning(&path) {
            warn(warning);
        }
        Ok(Context {
            path,
            fds,
            accept_kdf_cost: global.accept_kdf_cost,
            inputs: Inputs {
                identities: global.identity.clone(),
            },
        })
    }

    /// Reads and opens the vault. The file is read and parsed once, and checked (exists, is a
    /// vault) before a passphrase is asked for, so a typo in the path does not cost a prompt and
    /// an Argon2 run.
    ///
    /// Sources in the order of `docs/CLI.md`: `--passphrase-fd`, then a running agent for this
    /// vault, then the registered kinds that open it from what the user carries (an OpenBao
    /// token, ...; `crate::unlock`), then the passphrase sources and the prompt. An agent that is
    /// gone or refuses (the vault was rekeyed) is skipped; a kind whose inputs are present but
    /// fail is skipped with one line on stderr saying why.
    pub(crate) fn unlock(&self) -> Result<UnlockedVault> {
        let unlocked = self.open_vault(true)?;
        self.name_conflict_copies(&unlocked);
        Ok(unlocked)
    }

    /// On a terminal, names the conflict copies a sync tool left beside the vault, with the
    /// command that merges each (`docs/CLI.md`, "Several devices"). Scripts are not told: their
    /// stderr is not a terminal.
    fn name_conflict_copies(&self, unlocked: &UnlockedVault) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        for copy in crate::merge::conflict_copies(&self.path) {
            let shown = crate::printable::path(&copy.path);
            if copy.merged_into(&unlocked.vault, &self.path) {
                warn(format!(
                    "{shown} is a {} conflict copy already merged into this vault; it can be \
                     deleted",
                    copy.tool
                ));
            } else {
                warn(format!(
                    "{shown} is a {} conflict copy of this vault; to bring its changes in: \
                     sesame merge {}",
                    copy.tool,
                    crate::printable::shell_word(&copy.path)
                ));
            }
        }
    }

    /// Opens the vault with its data key in this process (never through the agent, which does
    /// not hand the key out): `--passphrase-fd`, else a slot of an external kind, else the
    /// passphrase.
    pub(crate) fn unlock_local(&self) -> Result<UnlockedVault> {
        let unlocked = self.open_vault(false)?;
        self.name_conflict_copies(&unlocked);
        Ok(unlocked)
    }

    /// The unlock chain, on one read and one parse of the file.
    fn open_vault(&self, with_agent: bool) -> Result<UnlockedVault> {
        let bytes = store::read(&self.path)?;
        let parsed = inspect(&bytes, &self.path)?;
        let mut refusal = None;
        if self.fds.given(FdFlag::Passphrase).is_none() {
            if with_agent && let Some(unlocked) = self.open_with_agent(&bytes, &parsed)? {
                return Ok(unlocked);
            }
            let (opened, first_refusal) = self.open_external(&bytes, &parsed);
            if let Some(unlocked) = opened? {
                return Ok(unlocked);
            }
            refusal = first_refusal;
        }
        self.confirm_kdf_cost(&parsed.header)?;
        match open_asking_again(&self.fds, &bytes, &self.path, &parsed.header) {
            Ok((unlocked, _)) => Ok(unlocked),
            // A key the user gave was refused and no passphrase can be had: that refusal is
            // the answer (exit 3), not "no passphrase source".
            Err(Error::NoPassphraseSource) if refusal.is_some() => {
                Err(refusal.unwrap_or(Error::NoPassphraseSource))
            }
            Err(e) => Err(e),
        }
    }

    /// The external kinds (`crate::unlock`), their notes printed; also the first refusal of a
    /// key the user gave, for when no passphrase follows.
    fn open_external(
        &self,
        bytes: &[u8],
        parsed: &ParsedFile<'_>,
    ) -> (Result<Option<UnlockedVault>>, Option<Error>) {
        let mut notes = Vec::new();
        let opened = unlock::open_external(bytes, parsed, &self.inputs, &self.path, &mut notes);
        let mut refusal = None;
        for note in notes {
            warn(&note.line);
            if refusal.is_none() && note.is_refusal() {
                refusal = Some(note.error);
            }
        }
        (opened, refusal)
    }

    /// Opens the vault with no prompt (`status`): the agent, the external kinds, then a
    /// passphrase source that needs no terminal. `None` when none of them is at hand.
    pub(crate) fn unlock_unprompted(&self, bytes: &[u8]) -> Result<Option<UnlockedVault>> {
        self.open_unprompted(bytes, true)
    }

    /// [`Context::unlock_unprompted`]; `may_ask_cost`: whether a passphrase slot over the
    /// Argon2 budget may be confirmed on the terminal (else it is refused, as with no terminal).
    fn open_unprompted(&self, bytes: &[u8], may_ask_cost: bool) -> Result<Option<UnlockedVault>> {
        let parsed = inspect(bytes, &self.path)?;
        if self.fds.given(FdFlag::Passphrase).is_none() {
            if let Some(unlocked) = self.open_with_agent(bytes, &parsed)? {
                return Ok(Some(unlocked));
            }
            if let Some(unlocked) = self.open_external(bytes, &parsed).0? {
                return Ok(Some(unlocked));
            }
        }
        match input::passphrase_if_available(&self.fds)? {
            Some(pass) => {
                self.check_kdf_cost(&parsed.header, may_ask_cost)?;
                open_showing_status(bytes, &pass, &self.path, &parsed.header).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Opens the vault for a credential helper, which its tool runs with no terminal of its own
    /// (though git may leave the user's terminal reachable): the agent, the external kinds, a
    /// passphrase source; never a prompt, not even the Argon2 cost question. `Error::Locked`
    /// when no source is at hand.
    pub(crate) fn unlock_without_asking(&self) -> Result<UnlockedVault> {
        let bytes = store::read(&self.path)?;
        self.open_unprompted(&bytes, false)?
            .ok_or_else(|| Error::Locked {
                path: self.path.clone(),
            })
    }

    /// Opens `bytes` through this vault's agent; `None` when there is no usable agent.
    pub(crate) fn unlock_with_agent(&self, bytes: &[u8]) -> Result<Option<UnlockedVault>> {
        self.open_with_agent(bytes, &inspect(bytes, &self.path)?)
    }

    fn open_with_agent(
        &self,
        bytes: &[u8],
        parsed: &ParsedFile<'_>,
    ) -> Result<Option<UnlockedVault>> {
        let Some(agent) = AgentKey::connect(&self.path, &parsed.header) else {
            return Ok(None);
        };
        match UnlockedVault::open_parsed_with(bytes, parsed.clone(), Box::new(agent), &self.path) {
            Ok(unlocked) => Ok(Some(unlocked)),
            Err(Error::AgentUnavailable(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens the vault with the passphrase only (no agent, no other kind), also returning it:
    /// `passwd` proves the old passphrase, `rekey` re-wraps the new key under it.
    pub(crate) fn unlock_keeping_passphrase(&self) -> Result<(UnlockedVault, Passphrase)> {
        let bytes = store::read(&self.path)?;
        let header = inspect(&bytes, &self.path)?.header;
        self.confirm_kdf_cost(&header)?;
        open_asking_again(&self.fds, &bytes, &self.path, &header)
    }

    /// Checks what the vault's passphrase slot will cost before any passphrase is asked for or
    /// any Argon2 work is spent (`docs/FORMAT.md`, "Cost of a passphrase slot"). Within the
    /// budget, or with `--accept-kdf-cost`: go on. Above it: ask on the terminal, and without
    /// one refuse (exit 2), saying how to accept.
    pub(crate) fn confirm_kdf_cost(&self, header: &Header) -> Result<()> {
        self.check_kdf_cost(header, true)
    }

    /// [`Context::confirm_kdf_cost`]; without `may_ask`, a cost over the budget is refused
    /// without looking for a terminal.
    fn check_kdf_cost(&self, header: &Header, may_ask: bool) -> Result<()> {
        let Some(kdf) = passphrase_slot(header).map(|s| s.kdf) else {
            return Ok(()); // opening fails with "no passphrase slot", at no cost
        };
        if !kdf.exceeds_budget() || self.accept_kdf_cost {
            return Ok(());
        }
        let refuse = |how| Error::KdfCostNotAccepted {
            path: self.path.clone(),
            params: kdf.describe(),
            times: kdf.times_default_work(),
            how,
        };
        let tty = may_ask
            .then(|| {
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/tty")
                    .ok()
            })
            .flatten();
        let Some(mut tty) = tty else {
            return Err(refuse(
                "pass --accept-kdf-cost or set SESAME_ACCEPT_KDF_COST=1; if not, do not open this file",
            ));
        };
        let question = format!(
            "{} asks Argon2id for {} ({} times the work and up to {} times the memory of the \
             defaults) before its passphrase can be checked. Continue? [y/N] ",
            crate::printable::path(&self.path),
            kdf.describe(),
            kdf.times_default_work(),
            kdf.memory_kib.div_ceil(KdfParams::DEFAULT.memory_kib),
        );
        tty.write_all(question.as_bytes())
            .and_then(|()| tty.flush())
            .map_err(|e| Error::io("cannot ask on the terminal", e))?;
        if read_answer(&mut tty)? {
            Ok(())
        } else {
            Err(refuse(
                "answer y, or pass --accept-kdf-cost; if not, do not open this file",
            ))
        }
    }

    /// Opens another vault file (a backup, a file to verify) with a passphrase, after the cost
    /// check: from the non-interactive sources, else — when `may_prompt` and on a terminal — a
    /// prompt. `None` when no passphrase could be had without a prompt.
    pub(crate) fn open_file(
        &self,
        bytes: &[u8],
        path: &Path,
        may_prompt: bool,
    ) -> Result<Option<UnlockedVault>> {
        let header = inspect(bytes, path)?.header;
        self.confirm_kdf_cost(&header)?;
        match input::passphrase_if_available(&self.fds)? {
            Some(pass) => open_showing_status(bytes, &pass, path, &header).map(Some),
            None if may_prompt => open_asking_again(&self.fds, bytes, path, &header)
                .map(|(unlocked, _)| Some(unlocked)),
            None => Ok(None),
        }
    }

    /// Applies `change` to the newest vault under the write lock and saves it
    /// ([`transaction::transact`]); `unlocked` comes from [`Context::unlock`], done before the
    /// lock so prompts and Argon2 do not hold it. Warnings from the best-effort steps are printed.
    pub(crate) fn commit<T>(
        &self,
        unlocked: UnlockedVault,
        event: Event,
        change: impl FnOnce(&mut UnlockedVault) -> Result<T>,
    ) -> Result<T> {
        let (out, done) = transaction::transact(&self.path, unlocked, event, change)?;
        report(&done);
        Ok(out)
    }

    /// Records a use (`run`, `get`) in the usage log; a failure only warns.
    pub(crate) fn record(&self, unlocked: &UnlockedVault, event: Event) {
        match transaction::record(&self.path, unlocked, &event) {
            Ok(None) => {}
            Ok(Some(aside)) => warn(aside),
            Err(e) => warn(format!("the usage log was not written: {e}")),
        }
    }
}

/// [`UnlockedVault::open`] with the "unlocking …" status line while Argon2 runs.
pub(super) fn open_showing_status(
    bytes: &[u8],
    passphrase: &Passphrase,
    path: &Path,
    header: &Header,
) -> Result<UnlockedVault> {
    let kdf = passphrase_slot(header).map(|s| s.kdf);
    super::with_kdf_status("unlocking", path, kdf, || {
        UnlockedVault::open(bytes, passphrase, path)
    })
}

/// Opens with the passphrase from its sources; when it was typed at the prompt and is wrong,
/// asks again, [`input::PROMPT_TRIES`] times in all (like `sudo`). Whatever the command read
/// before (a value on stdin) is untouched: only the passphrase is asked again.
fn open_asking_again(
    fds: &input::SecretFds,
    bytes: &[u8],
    path: &Path,
    header: &Header,
) -> Result<(UnlockedVault, Passphrase)> {
    let mut attempt = 1;
    loop {
        let (passphrase, origin) = input::passphrase_sourced(fds, path)?;
        match open_showing_status(bytes, &passphrase, path, header) {
            Ok(unlocked) => return Ok((unlocked, passphrase)),
            Err(Error::WrongPassphrase { .. })
                if origin == input::Origin::Prompt && attempt < input::PROMPT_TRIES =>
            {
                eprintln!("Wrong passphrase; try again.");
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Prints what a commit wants the user to know.
pub(super) fn report(done: &Committed) {
    for warning in &done.warnings {
        warn(warning);
    }
    if let Some(aside) = &done.damaged {
        eprintln!(
            "The damaged vault file it replaced is set aside as {} (not a backup: it does not \
             open).",
            aside.display()
        );
    }
}

/// Reads a yes/no answer (one line, at most 16 bytes kept) from the terminal: only `y` or `yes`,
/// in any case, is yes; an empty line, end of input or anything else is no.
fn read_answer(tty: &mut impl Read) -> Result<bool> {
    let mut line = Vec::with_capacity(16);
    let mut byte = [0u8; 1];
    loop {
        match tty.read(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => {
                if line.len() < 16 {
                    line.push(byte[0]);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("cannot read from the terminal", e)),
        }
    }
    let answer = String::from_utf8_lossy(&line).trim().to_ascii_lowercase();
    Ok(answer == "y" || answer == "yes")
}

#[cfg(test)]
mod tests {
    use super::read_answer;

    #[test]
    fn only_y_or_yes_accepts_a_costly_vault() {
        for (typed, yes) in [
            (&b"y\n"[..], true),
            (b"YES\n", true),
            (b" y \r\n", true),
            (b"\n", false),
            (b"", false),
            (b"n\n", false),
            (b"yess\n", false),
            (b"no, y\n", false),
        ] {
            assert_eq!(read_answer(&mut &typed[..]).ok(), Some(yes), "{typed:?}");
        }
    }
}
