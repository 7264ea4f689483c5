//! Opening a vault from what the user carries, and re-making those slots at `rekey`, driven by the
//! slot registry (`crate::slots::KINDS`): nothing here names a kind.
//!
//! The order (`docs/CLI.md`, "Passphrase order"): `--passphrase-fd`, a running agent, then each
//! registered external kind whose inputs are at hand, in its `order`, then the passphrase sources
//! and the prompt. The CLI runs the first, second and last steps (they involve descriptors, the
//! agent's socket and the terminal); this module runs the external kinds and plans `rekey`.

use std::path::Path;

use crate::container::UnlockedVault;
use crate::error::Result;
use crate::format::read::ParsedFile;
use crate::slots::{self, Inputs, SlotKind, Wrapper};

/// How an external kind's attempt went, when it did not open the vault: one line for stderr,
/// and the error itself.
pub(crate) struct Note {
    /// The line for stderr.
    pub(crate) line: String,
    /// Why the source did not open the vault.
    pub(crate) error: crate::Error,
}

impl Note {
    /// A key the user named (an age identity, an ssh-agent key) opened no slot, or opened a
    /// slot bound to another vault: when no passphrase can be had without a prompt, this is the
    /// answer the user gets (exit 3 or 4), rather than "no passphrase source"; so is an OpenBao
    /// login set up wrong (`BAO_AUTH`, exit 2). A refused OpenBao token or login, taken from the
    /// environment, stays a note (its slot is one way in of many).
    pub(crate) fn is_refusal(&self) -> bool {
        matches!(
            self.error,
            crate::Error::KeyRefused { .. }
                | crate::Error::SlotMoved { .. }
                | crate::Error::BaoLoginSetup(_)
        )
    }
}

/// Tries every registered external kind that has a slot in the file and whose inputs are at hand,
/// in unlock order. `Ok(Some)` from the first that opens the vault; `Ok(None)` when none did,
/// with a [`Note`] for each that was present but failed (a refused token, an unreachable server,
/// an identity that opens no slot). An error only when a key was unwrapped and the file then
/// failed to open with it (it was changed: exit 4), which no other source would mend.
pub(crate) fn open_external(
    bytes: &[u8],
    parsed: &ParsedFile<'_>,
    inputs: &Inputs,
    path: &Path,
    notes: &mut Vec<Note>,
) -> Result<Option<UnlockedVault>> {
    for (kind, external) in slots::externals() {
        if slots::bodies(&parsed.header, kind.kind).next().is_none() {
            continue;
        }
        let unwrapper = match (external.unwrapper)(inputs) {
            Ok(Some(u)) => u,
            Ok(None) => continue,
            Err(e) => {
                notes.push(not_used(kind, e));
                continue;
            }
        };
        let mut opened_by = None;
        let unwrapped =
            UnlockedVault::unwrap_key(&parsed.header, &[unwrapper.as_ref()], path, &mut opened_by);
        match unwrapped {
            Ok(key) => {
                let mut unlocked = UnlockedVault::open_with_key(bytes, parsed.clone(), key, path)?;
                unlocked.opened_by = opened_by;
                return Ok(Some(unlocked));
            }
            Err(e) => notes.push(not_used(kind, e)),
        }
    }
    Ok(None)
}

fn not_used(kind: &SlotKind, why: crate::Error) -> Note {
    Note {
        line: format!(
            "the {} key slot was not used, trying the next source: {why}",
            kind.name
        ),
        error: why,
    }
}

/// What `rekey` writes for the external kinds: the wrappers, and the kinds of the slots dropped.
pub(crate) struct Rewrap {
    pub wrappers: Vec<Box<dyn Wrapper>>,
    pub dropped: Vec<&'static SlotKind>,
}

/// The wrappers `rekey` needs for the slots of external kinds: one per slot, re-made for the new
/// data key (the passphrase and recovery slots are made anew by `rekey` itself; slots of kinds
/// this build does not know are dropped by [`UnlockedVault::rekey`] and counted there). With
/// `drop_unreachable`, a slot whose wrapper cannot be built, or cannot wrap when `rekey` runs,
/// is dropped instead of failing the rekey; the kinds that lost slots are returned so the user
/// is told. A registered kind is never dropped silently.
pub(crate) fn rewrappers(
    vault: &UnlockedVault,
    inputs: &Inputs,
    drop_unreachable: bool,
) -> Result<Rewrap> {
    let mut wrappers = Vec::new();
    let mut dropped = Vec::new();
    for slot in &vault.header.slots {
        let Some(kind) = slots::kind_info(slot.kind) else {
            continue;
        };
        let Some(external) = kind.external else {
            continue;
        };
        match (external.rewrapper)(&slot.body, inputs, drop_unreachable) {
            Ok(wrapper) => wrappers.push(wrapper),
            Err(_) if drop_unreachable => dropped.push(kind),
            Err(e) => return Err(e),
        }
    }
    Ok(Rewrap { wrappers, dropped })
}
