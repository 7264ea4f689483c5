//! What every command needs: the vault path, the passphrase sources, and the two ways to use a
//! vault — read it (`unlock`), or change it under the write lock (`commit`).

use std::path::PathBuf;

use super::GlobalArgs;
use crate::agent::client::AgentKey;
use crate::container::{UnlockedVault, inspect};
use crate::error::{Error, Result};
use crate::secret::Passphrase;
use crate::transaction::{self, Committed};
use crate::usage::Event;
use crate::{input, store};

use super::warn;

pub struct Context {
    pub path: PathBuf,
    pub passphrase_fd: Option<i32>,
    pub new_passphrase_fd: Option<i32>,
    pub recovery_code_fd: Option<i32>,
}

impl Context {
    /// Resolves the vault path (following a symlink to the vault) and warns, once per command,
    /// when the vault's folder can be written by other users.
    pub fn new(global: &GlobalArgs) -> Result<Context> {
        let path = store::resolve_vault_path(global.vault.clone())?;
        if let Some(warning) = store::folder_warning(&path) {
            warn(warning);
        }
        Ok(Context {
            path,
            passphrase_fd: global.passphrase_fd,
            new_passphrase_fd: global.new_passphrase_fd,
            recovery_code_fd: global.recovery_code_fd,
        })
    }

    /// Reads and opens the vault. The file is checked (exists, is a vault) before a passphrase is
    /// asked for, so a typo in the path does not cost a prompt and an Argon2 run.
    ///
    /// Sources in the SPEC's order: `--passphrase-fd`, then a running agent for this vault, then
    /// the others. An agent that is gone or refuses (the vault was rekeyed) is skipped.
    pub fn unlock(&self) -> Result<UnlockedVault> {
        if self.passphrase_fd.is_none() {
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
        let passphrase = input::passphrase(self.passphrase_fd, &self.path, false)?;
        let unlocked = UnlockedVault::open(&bytes, &passphrase, &self.path)?;
        Ok((unlocked, passphrase))
    }

    /// Applies `change` to the newest vault under the write lock and saves it
    /// ([`transaction::transact`]); `unlocked` comes from [`Context::unlock`], done before the
    /// lock so prompts and Argon2 do not hold it. Warnings from the best-effort steps are printed.
    pub fn commit<T>(
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
    pub fn record(&self, unlocked: &UnlockedVault, event: Event) {
        match transaction::record(&self.path, unlocked, &event) {
            Ok(None) => {}
            Ok(Some(aside)) => warn(aside),
            Err(e) => warn(format!("the usage log was not written: {e}")),
        }
    }
}

/// Prints what a commit wants the user to know.
pub fn report(done: &Committed) {
    for warning in &done.warnings {
        warn(warning);
    }
}
