//! The one way a vault file is written (`docs/BACKUPS.md`, "One transaction").
//!
//! A [`Transaction`] takes the write lock and reads the vault as it is now; its `commit` keeps
//! that file as an automatic generation, replaces the vault atomically, updates the usage log and,
//! when the keys changed, stops the vault's agent. `add`, `rotate`, `import`, `passwd`, `rekey`,
//! `init` and `restore` all go through it, so none of them can skip a step. The library never
//! prints: what deserves a warning comes back in [`Committed::warnings`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::container::UnlockedVault;
use crate::error::{Error, Result};
use crate::store::{self, WriteLock};
use crate::units;
use crate::usage::{self, Event, LogContents};
use crate::vault::{Snapshot, Vault};
use crate::{agent, backup};

/// How long recording a use (`get`, `run`) waits for the lock: the log must never hold up the
/// user's command.
const RECORD_LOCK_WAIT: Duration = Duration::from_secs(1);

/// The write lock, and the vault file as it was when the lock was taken.
pub(crate) struct Transaction {
    path: PathBuf,
    current: Option<Vec<u8>>,
    _lock: WriteLock,
}

/// What happens to the usage log when a transaction commits.
pub(crate) enum LogUpdate {
    /// One more record, sealed under the committed vault's key (derived ahead, if given).
    Append(Event, Option<Box<usage::LogKeyAhead>>),
    /// The whole log (read under the old key) re-sealed under a new key, then `Event` (`rekey`).
    /// The new log is staged before the vault is written and put in place right after, so a
    /// crash between the two leaves a log the next append sets aside, never one it appends to.
    Reseal(LogContents, Event),
}

/// What a commit did besides replacing the vault.
#[derive(Default)]
pub(crate) struct Committed {
    /// The automatic generation that now holds the replaced vault, if one was kept.
    pub generation: Option<PathBuf>,
    /// Where the replaced vault was set aside because it was damaged (`backups/damaged/`).
    pub damaged: Option<PathBuf>,
    /// True when a running agent was stopped because it held keys of the replaced file.
    pub agent_stopped: bool,
    /// Best-effort steps that failed (the usage log); the vault itself was written.
    pub warnings: Vec<String>,
}

impl Transaction {
    /// Takes the write lock (waiting as `store::lock` does) and reads the vault, if there is one.
    pub(crate) fn begin(path: &Path) -> Result<Transaction> {
        refuse_copy(path)?;
        let lock = store::lock(path)?;
        let current = if store::exists(path) {
            Some(store::read(path)?)
        } else {
            None
        };
        Ok(Transaction {
            path: path.to_path_buf(),
            current,
            _lock: lock,
        })
    }

    /// The vault's bytes as read under the lock; `None` when there is no vault yet.
    pub(crate) fn current(&self) -> Option<&[u8]> {
        self.current.as_deref()
    }

    /// The vault's bytes, or "no vault" (exit 5) for commands that change an existing one.
    pub(crate) fn require_current(&self) -> Result<&[u8]> {
        self.current().ok_or_else(|| Error::VaultNotFound {
            path: self.path.clone(),
        })
    }

    /// Replaces the vault with `file` (the sealed form of `vault`): the old file is kept as a
    /// generation first, then the new one is written atomically, then the log is updated under
    /// `vault`'s key. With `stop_agent`, an agent of this vault is told to lock.
    ///
    /// The lock is released as soon as the new file is renamed into place, the log updated and
    /// the agent told: the fsync of the folder that makes the rename durable, and the pruning of
    /// old generations, happen after it (both before this returns). A writer that takes the lock
    /// meanwhile reads the new file and builds on it, so a crash before either fsync leaves the
    /// vault as one of the files that were in place, each whole and each holding every change
    /// before it; a write is reported done only once its own fsync returned.
    pub(crate) fn commit(
        self,
        file: &[u8],
        vault: &UnlockedVault,
        log: LogUpdate,
        stop_agent: bool,
    ) -> Result<Committed> {
        let mut done = Committed::default();
        let resealed = match log {
            LogUpdate::Append(event, ahead) => Err((event, ahead)),
            LogUpdate::Reseal(old, event) => Ok(usage::reseal(&self.path, vault, old, event)),
        };
        // The generation (a link, fsynced in its folder) and the new file (written and fsynced
        // beside the vault) are independent until the rename, which needs both: their two disk
        // flushes run at once, and the lock holder waits for the disk once instead of twice.
        let (generation, staged) = std::thread::scope(|scope| {
            let kept = self
                .current
                .as_deref()
                .map(|old| scope.spawn(|| backup::keep_replaced(&self.path, old)));
            let staged = store::stage(&self.path, file);
            let generation = match kept {
                Some(thread) => thread.join().unwrap_or_else(|_| {
                    Err(Error::io(
                        "keeping the automatic generation failed",
                        std::io::Error::other("the thread keeping it stopped"),
                    ))
                }),
                None => Ok(backup::Kept::Nothing),
            };
            (generation, staged)
        });
        match generation? {
            backup::Kept::Nothing => {}
            backup::Kept::Generation(path) => done.generation = Some(path),
            backup::Kept::Damaged(path) => done.damaged = Some(path),
        }
        let renamed = staged?.rename()?;
        let logged = match resealed {
            Err((event, ahead)) => {
                usage::append_ahead(&self.path, vault, &event, ahead.map(|a| *a))
            }
            Ok(staged) => staged.and_then(usage::Resealed::commit),
        };
        match logged {
            Ok(None) => {}
            Ok(Some(aside)) => done.warnings.push(aside.to_string()),
            Err(e) => done
                .warnings
                .push(format!("the usage log was not written: {e}")),
        }
        if stop_agent {
            done.agent_stopped = agent::client::lock(&self.path);
        }
        drop(self._lock);
        renamed.sync()?;
        if done.generation.is_some() {
            backup::prune_generations(&self.path);
        }
        Ok(done)
    }
}

/// Refuses to write a copy in a backups folder ([`backup::is_copy_in_backups`]).
fn refuse_copy(path: &Path) -> Result<()> {
    if backup::is_copy_in_backups(path) {
        return Err(Error::usage(format!(
            "{} is a copy in a backups folder, which sesame opens read-only; to bring it back, \
             `sesame restore {}`; to change it, copy it out of the backups folder first",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Applies `change` to the newest vault under the write lock and saves it: the everyday write.
///
/// `unlocked` (opened before the lock, so prompts and Argon2 do not hold it) supplies the key; the
/// file is re-read under the lock, so a change another process saved in the meantime is kept.
/// `event` goes into the usage log.
pub(crate) fn transact<T>(
    path: &Path,
    unlocked: UnlockedVault,
    event: Event,
    change: impl FnOnce(&mut UnlockedVault) -> Result<T>,
) -> Result<(T, Committed)> {
    transact_stamping(path, unlocked, event, true, None, change)
}

/// [`transact`] for a merge, which sets every stamp and tombstone itself (taken from the copy
/// whose change wins): stamping what it changed with the time of the merge would make those
/// fields look newer than changes the other copies made before it. With `other_log` (the other
/// copy's usage log, read), this vault's log is rewritten whole with the other's events it lacks
/// added (`usage::combine`), then `event`; a log of this vault that does not read whole is only
/// appended to.
pub(crate) fn transact_merge<T>(
    path: &Path,
    unlocked: UnlockedVault,
    event: Event,
    other_log: Option<LogContents>,
    change: impl FnOnce(&mut UnlockedVault) -> Result<T>,
) -> Result<(T, Committed)> {
    transact_stamping(path, unlocked, event, false, other_log, change)
}

fn transact_stamping<T>(
    path: &Path,
    unlocked: UnlockedVault,
    event: Event,
    stamp: bool,
    other_log: Option<LogContents>,
    change: impl FnOnce(&mut UnlockedVault) -> Result<T>,
) -> Result<(T, Committed)> {
    // Every key the write needs is derived before the lock (through the agent, a round trip to
    // a process the scheduler has to run): under the lock, other writers wait for each one.
    let mut unlocked = unlocked;
    unlocked.prepare_seal()?;
    let log_key = usage::key_ahead(path, &unlocked).map(Box::new);
    let tx = Transaction::begin(path)?;
    let mut current = unlocked.reopen(tx.require_current()?, path)?;
    // Whatever `change` does to a secret or profile is stamped, and what it removes leaves a
    // tombstone: a later merge needs both, and no command has to remember them.
    let before = stamp.then(|| Snapshot::of(&current.vault));
    let out = change(&mut current)?;
    if let Some(before) = before {
        before.stamp_changes(&mut current.vault, units::now());
    }
    // A value a command gave a confirmed secret (or a merge brought) is never saved in the clear.
    crate::approval::seal_confirmed(&mut current)?;
    let file = current.seal()?;
    let log = match other_log.map(|theirs| (usage::read(path, &current), theirs)) {
        Some((Ok(mut ours), theirs)) if ours.problem.is_none() => {
            usage::combine(&mut ours, theirs);
            LogUpdate::Reseal(ours, event)
        }
        _ => LogUpdate::Append(event, log_key),
    };
    let done = tx.commit(&file, &current, log, false)?;
    Ok((out, done))
}

/// Like [`transact`] for a change of the vault's own keys (`rekey`): the usage log is read with
/// the old key before `change` and re-sealed with the new one, and the agent, which holds the
/// old key, is stopped.
pub(crate) fn transact_keys<T>(
    path: &Path,
    unlocked: UnlockedVault,
    event: Event,
    change: impl FnOnce(&mut UnlockedVault) -> Result<T>,
) -> Result<(T, Committed)> {
    let tx = Transaction::begin(path)?;
    let mut current = unlocked.reopen(tx.require_current()?, path)?;
    let log = usage::read(path, &current).unwrap_or_else(|e| LogContents::unreadable(&e));
    // Confirmed values are sealed under keys of the data key: opened with the old one here,
    // sealed again under the new one after `change`.
    crate::approval::unseal_everything(&mut current)?;
    let out = change(&mut current)?;
    crate::approval::seal_confirmed(&mut current)?;
    let file = current.seal()?;
    let done = tx.commit(&file, &current, LogUpdate::Reseal(log, event), true)?;
    Ok((out, done))
}

/// Writes a new vault (`init`); an existing one is replaced only with `force` (and then kept as
/// a generation, and its agent stopped).
pub(crate) fn create(path: &Path, vault: &mut UnlockedVault, force: bool) -> Result<Committed> {
    store::ensure_folder(path)?;
    let tx = Transaction::begin(path)?;
    // Checked under the lock: another `init` may have won the race.
    if store::exists(path) && !force {
        return Err(Error::VaultExists {
            path: path.to_path_buf(),
        });
    }
    let file = vault.seal()?;
    tx.commit(
        &file,
        vault,
        LogUpdate::Append(Event::new("init", Vec::new()), None),
        true,
    )
}

/// Replaces the vault with `file` exactly as it is (`restore` when there is no sound vault to
/// keep the keys of). `opened` is `file` opened (its
/// key seals the log record). The replaced vault is kept as a generation and its agent stopped.
pub(crate) fn restore(
    path: &Path,
    file: &[u8],
    opened: &UnlockedVault,
    event: Event,
) -> Result<Committed> {
    store::ensure_folder(path)?;
    let tx = Transaction::begin(path)?;
    tx.commit(file, opened, LogUpdate::Append(event, None), true)
}

/// Replaces the vault's contents with `contents` (`restore` of a copy), keeping the vault's keys
/// as they are now; the replaced vault is kept as a generation and its agent stopped.
pub(crate) fn replace_contents(
    path: &Path,
    unlocked: UnlockedVault,
    contents: Vault,
    event: Event,
) -> Result<Committed> {
    let tx = Transaction::begin(path)?;
    let mut current = unlocked.reopen(tx.require_current()?, path)?;
    current.vault = contents;
    crate::approval::seal_confirmed(&mut current)?;
    let file = current.seal()?;
    tx.commit(&file, &current, LogUpdate::Append(event, None), true)
}

/// Writes a merged copy over a file that is not a vault in use (`merge-driver`: git's temporary
/// files of a merge): atomically (temp file, fsync, rename, fsync of the folder), with no lock,
/// generation or usage log, which belong to the vault a user works with, not to git's copies.
pub(crate) fn replace_copy(path: &Path, file: &[u8]) -> Result<()> {
    store::write_atomic(path, file)
}

/// Records a use (`run`, `get`) in the usage log, waiting at most a second for the lock. An
/// error, or the note that an unreadable log was set aside, is for a warning only: the user's
/// command goes on.
pub(crate) fn record(
    path: &Path,
    unlocked: &UnlockedVault,
    event: &Event,
) -> Result<Option<String>> {
    // A copy in a backups folder is read-only: no lock file, no log beside it.
    if backup::is_copy_in_backups(path) {
        return Ok(None);
    }
    let _lock = store::lock_waiting(path, RECORD_LOCK_WAIT)?;
    Ok(usage::append(path, unlocked, event)?.map(|aside| aside.to_string()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use zeroize::Zeroizing;

    use crate::container::{KeyHolder, LocalKey, UnlockedVault, inspect};
    use crate::error::Result;
    use crate::format::Purpose;
    use crate::secret::{DataKey, KEY_LEN};

    /// The data key, counting how often the payload key is derived (once per decrypt or seal).
    struct Counting(LocalKey, Arc<AtomicUsize>);

    impl KeyHolder for Counting {
        fn subkey(&self, salt: &[u8], purpose: Purpose) -> Result<Zeroizing<[u8; KEY_LEN]>> {
            if matches!(purpose, Purpose::Payload) {
                self.1.fetch_add(1, Ordering::SeqCst);
            }
            self.0.subkey(salt, purpose)
        }
        fn data_key(&self) -> Option<&DataKey> {
            self.0.data_key()
        }
    }

    #[test]
    fn a_write_decrypts_the_vault_once_when_nobody_wrote_in_between() -> Result<()> {
        // Every write used to decrypt and decode the whole vault twice: once to open it, and
        // again under the lock (`reopen`) even when the file had not changed.
        let path = std::path::Path::new("vault.sesame");
        let mut made = crate::container::test_vault()?;
        let first = made.seal()?;
        let raw = Zeroizing::new(*made.data_key()?.expose());
        let key = || -> Result<LocalKey> { Ok(LocalKey(DataKey::from_bytes(raw.clone()))) };
        let decrypts = Arc::new(AtomicUsize::new(0));
        let opened =
            UnlockedVault::open_with(&first, Box::new(Counting(key()?, decrypts.clone())), path)?;
        assert_eq!(decrypts.load(Ordering::SeqCst), 1);
        let mut reopened = opened.reopen(&first, path)?;
        assert_eq!(
            decrypts.load(Ordering::SeqCst),
            1,
            "the same bytes were decrypted again"
        );
        // Another writer saved in between: the new file is decrypted (and must authenticate).
        let second = made.seal()?;
        assert_ne!(first, second);
        let again =
            UnlockedVault::open_with(&first, Box::new(Counting(key()?, decrypts.clone())), path)?;
        let n = decrypts.load(Ordering::SeqCst);
        again.reopen(&second, path)?;
        assert_eq!(decrypts.load(Ordering::SeqCst), n + 1);
        // A seal prepared before the lock derives its key then; the seal itself derives none,
        // survives a reopen of changed bytes, and is used once (the next seal draws anew).
        let mut prepared =
            UnlockedVault::open_with(&first, Box::new(Counting(key()?, decrypts.clone())), path)?;
        prepared.prepare_seal()?;
        let n = decrypts.load(Ordering::SeqCst);
        let mut prepared = prepared.reopen(&second, path)?;
        assert_eq!(
            decrypts.load(Ordering::SeqCst),
            n + 1,
            "the reopen decrypted"
        );
        let sealed = prepared.seal()?;
        assert_eq!(
            decrypts.load(Ordering::SeqCst),
            n + 1,
            "the seal derived a key"
        );
        let resealed = prepared.seal()?;
        assert_eq!(decrypts.load(Ordering::SeqCst), n + 2);
        let (a, b) = (
            inspect(&sealed, path)?.header,
            inspect(&resealed, path)?.header,
        );
        assert_ne!(a.payload_salt, b.payload_salt, "a salt used twice");
        assert_ne!(a.payload_nonce, b.payload_nonce, "a nonce used twice");
        for file in [&sealed, &resealed] {
            // Sealed under the key of its own salt: it authenticates.
            UnlockedVault::open_with(file, Box::new(key()?), path)?;
        }
        // Once sealed, the opened bytes no longer describe it: reopening them decrypts.
        reopened.seal()?;
        let n = decrypts.load(Ordering::SeqCst);
        reopened.reopen(&first, path)?;
        assert_eq!(decrypts.load(Ordering::SeqCst), n + 1);
        Ok(())
    }
}
