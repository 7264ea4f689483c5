//! What every command needs: the vault path, the passphrase sources, and the two ways to use a
//! vault — read it (`unlock`), or change it under the write lock (`commit`).

use std::path::PathBuf;
use std::time::Duration;

use super::GlobalArgs;
use crate::agent::client::AgentKey;
use crate::container::{UnlockedVault, inspect};
use crate::error::{Error, Result};
use crate::input::{FdFlag, SecretFds};
use crate::secret::Passphrase;
use crate::usage::{self, Event};
use crate::{input, store};

use super::warn;

const RECORD_LOCK_WAIT: Duration = Duration::from_secs(1);

pub struct Context {
    pub path: PathBuf,
    /// The `--*-fd` descriptors, claimed (close-on-exec) before anything else is opened.
    pub fds: SecretFds,
}

impl Context {
    /// Must run before sesame opens any file: it takes ownership of the descriptors given with
    /// `--passphrase-fd`, `--new-passphrase-fd` and `--recovery-code-fd` (see [`SecretFds`]).
    pub fn new(global: &GlobalArgs) -> Result<Context> {
        let fds = SecretFds::claim(
            global.passphrase_fd,
            global.new_passphrase_fd,
            global.recovery_code_fd,
        );
        Ok(Context {
            path: store::resolve_vault_path(global.vault.clone())?,
            fds,
        })
    }

    /// Reads and opens the vault. The file is checked (exists, is a vault) before a passphrase is
    /// asked for, so a typo in the path does not cost a prompt and an Argon2 run.
    ///
    /// Sources in the SPEC's order: `--passphrase-fd`, then a running agent for this vault, then
    /// the others. An agent that is gone or refuses (the vault was rekeyed) is skipped.
    pub fn unlock(&self) -> Result<UnlockedVault> {
        if self.fds.given(FdFlag::Passphrase).is_none() {
            let bytes = store::read(&self.path)?;
            if let Some(unlocked) = self.unlock_with_agent(&bytes)? {
                return Ok(unlocked);
            }
        }
        self.unlock_keeping_passphrase()
            .map(|(unlocked, _)| unlocked)
    }

    /// Opens `bytes` through this vault's agent; `None` when there is no usable agent.
    pub fn unlock_with_agent(&self, bytes: &[u8]) -> Result<Option<UnlockedVault>> {
        let parsed = inspect(bytes, &self.path)?;
        let Some(agent) = AgentKey::connect(&self.path, &parsed.header) else {
            return Ok(None);
        };
        match UnlockedVault::open_with(bytes, Box::new(agent), &self.path) {
            Ok(unlocked) => Ok(Some(unlocked)),
            Err(Error::AgentUnavailable(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// [`Context::unlock`], also returning the passphrase (for `rekey`, which re-wraps under it).
    pub fn unlock_keeping_passphrase(&self) -> Result<(UnlockedVault, Passphrase)> {
        let bytes = store::read(&self.path)?;
        inspect(&bytes, &self.path)?;
        let passphrase = input::passphrase(&self.fds, &self.path, false)?;
        let unlocked = UnlockedVault::open(&bytes, &passphrase, &self.path)?;
        Ok((unlocked, passphrase))
    }

    /// Applies `change` to the newest vault under the write lock and saves it atomically.
    ///
    /// `unlocked` (from [`Context::unlock`], done before the lock so prompts and Argon2 do not
    /// hold it) supplies the data key; the file is re-read under the lock, so a change another
    /// process saved in the meantime is kept, not overwritten.
    ///
    /// `event` goes into the usage log once the vault is saved (a failure there only warns).
    pub fn commit<T>(
        &self,
        unlocked: UnlockedVault,
        event: Event,
        change: impl FnOnce(&mut UnlockedVault) -> Result<T>,
    ) -> Result<T> {
        let _lock = store::lock(&self.path)?;
        let bytes = store::read(&self.path)?;
        let mut current = unlocked.reopen(&bytes, &self.path)?;
        let out = change(&mut current)?;
        let file = current.seal()?;
        store::write_atomic(&self.path, &file)?;
        self.append_event(&current, &event);
        Ok(out)
    }

    /// Records a use (`run`, `get`) in the usage log, under the lock but waiting at most a second
    /// for it: the log must never hold up the user's command. Failures only warn.
    pub fn record(&self, unlocked: &UnlockedVault, event: Event) {
        match store::lock_waiting(&self.path, RECORD_LOCK_WAIT) {
            Ok(_lock) => self.append_event(unlocked, &event),
            Err(e) => warn(format!("the usage log was not written: {e}")),
        }
    }

    fn append_event(&self, unlocked: &UnlockedVault, event: &Event) {
        if let Err(e) = usage::append(&self.path, unlocked, event) {
            warn(format!("the usage log was not written: {e}"));
        }
    }
}
