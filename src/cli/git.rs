//! What git calls (`docs/CLI.md`, "git"): `merge-driver` merges the two sides of a vault file
//! in a git merge, `textconv` shows a vault as text for `git diff` — labels and dates, never a
//! value nor anything derived from one.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use super::Context;
use super::merge::{in_conflict, open_other};
use crate::container::{UnlockedVault, inspect, passphrase_slot};
use crate::error::{Error, Result};
use crate::units::{self, format_time};

#[derive(Args)]
pub struct MergeDriverArgs {
    /// The common ancestor (git's %O; empty when there is none)
    base: PathBuf,
    /// Our side (git's %A); the merged vault is written over it
    ours: PathBuf,
    /// Their side (git's %B)
    theirs: PathBuf,
}

#[derive(Args)]
pub struct TextconvArgs {
    /// The vault file git shows
    file: PathBuf,
}

/// Opens a vault file git handed over: through this vault's agent when it holds the key, else
/// the passphrase sources.
fn open_git_file(ctx: &Context, path: &Path, may_prompt: bool) -> Result<Option<UnlockedVault>> {
    let bytes = super::merge::read_other(path)?;
    if let Some(unlocked) = ctx.unlock_with_agent(&bytes).ok().flatten() {
        return Ok(Some(unlocked));
    }
    // git names its temporary copies, not the vault: any running agent of this vault will do.
    let header = inspect(&bytes, path)?.header;
    for agent in crate::agent::client::AgentKey::connect_all(&header) {
        if let Ok(unlocked) = UnlockedVault::open_with(&bytes, Box::new(agent), path) {
            return Ok(Some(unlocked));
        }
    }
    ctx.open_file(&bytes, path, may_prompt)
}

/// Exit 0 merged, 1 merged with conflicts left (git then shows the file as conflicted).
pub(super) fn merge_driver(ctx: &Context, args: MergeDriverArgs) -> Result<u8> {
    let Some(mut ours) = open_git_file(ctx, &args.ours, true)? else {
        return Err(Error::NoPassphraseSource);
    };
    let (theirs, hash) = open_other(ctx, &ours, &args.theirs, true)?;
    let base = match std::fs::metadata(&args.base) {
        Ok(meta) if meta.len() > 0 => Some(open_other(ctx, &ours, &args.base, true)?.0),
        _ => None,
    };
    let (merged, report) = crate::merge::merge(
        std::mem::take(&mut ours.vault),
        &theirs,
        base.as_ref(),
        Some(hash),
        units::now(),
    );
    ours.vault = merged;
    let left = in_conflict(&ours.vault);
    // As every write does: a value THEIRS brought opened (a copy rekeyed apart) or plain is
    // sealed again before it is saved, never written in the clear.
    crate::approval::seal_confirmed(&mut ours)?;
    let file = ours.seal()?;
    crate::transaction::replace_copy(&args.ours, &file)?;
    if !report.is_empty() {
        let mut changed: Vec<&str> = report
            .added
            .iter()
            .chain(&report.updated)
            .chain(&report.removed)
            .map(String::as_str)
            .collect();
        changed.dedup();
        eprintln!(
            "sesame: merged {} ({})",
            crate::printable::path(&args.ours),
            changed.join(", ")
        );
    }
    if left.is_empty() {
        Ok(0)
    } else {
        eprintln!(
            "sesame: {} in conflict: {}; after the merge, `sesame conflicts` and `sesame resolve \
             LABEL --keep VERSION`, then `git add` the vault",
            left.len(),
            left.join(", ")
        );
        Ok(1)
    }
}

/// The header always; the secrets when a key is at hand without a prompt (git runs textconv
/// for every diffed file).
pub(super) fn textconv(ctx: &Context, args: TextconvArgs) -> Result<()> {
    let bytes = super::merge::read_other(&args.file)?;
    let header = inspect(&bytes, &args.file)?.header;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "sesame vault, format {}, key generation {}",
        header.version, header.key_generation
    );
    // Changes with every write, locked or not, so git never shows a changed vault as unchanged;
    // a hash of the encrypted file tells nothing of its contents.
    let hash = crate::vault::identity::file_hash(&bytes);
    let _ = writeln!(
        out,
        "file: {} bytes, SHA-256 {}…",
        bytes.len(),
        hash[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    for (n, slot) in header.slots.iter().enumerate() {
        let kind = crate::slots::kind_info(slot.kind).map_or("unknown", |k| k.name);
        let _ = writeln!(out, "slot {n}: {kind}");
    }
    if let Some(kdf) = passphrase_slot(&header).map(|s| s.kdf) {
        let _ = writeln!(out, "kdf: Argon2id {}", kdf.describe());
    }
    match open_git_file(ctx, &args.file, false) {
        Ok(Some(unlocked)) => {
            for s in &unlocked.vault.secrets {
                let versions = 1 + s.history.len();
                let _ = writeln!(
                    out,
                    "{}  env={}  versions={versions}  created={}  updated={}{}",
                    s.label,
                    s.env_name,
                    format_time(s.created),
                    format_time(s.updated),
                    if s.conflict { "  IN CONFLICT" } else { "" }
                );
            }
            for p in &unlocked.vault.profiles {
                let _ = writeln!(out, "profile {} ({} variables)", p.name, p.bindings.len());
            }
        }
        Ok(None) | Err(_) => {
            let _ = writeln!(
                out,
                "(secrets not shown: `sesame unlock`, or a passphrase source, lets git diff show labels)"
            );
        }
    }
    super::write_stdout(out.as_bytes())
}
