//! `backup`, `backups`, `verify`, `restore`: copies of the vault and getting one back
//! (`docs/BACKUPS.md`). The copies themselves are managed by `crate::backup`; every write to the
//! vault goes through `crate::transaction`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use super::{Context, print_json, render_table, short_time};
use crate::backup::{self, CopyKind};
use crate::container::{UnlockedVault, inspect};
use crate::error::{Error, Result};
use crate::format::{Header, Slot};
use crate::usage::Event;
use crate::vault::Vault;
use crate::{store, transaction};

#[derive(Args)]
#[command(
    after_help = "A copy opens with the passphrase (and recovery code) the vault had when \
    the copy was made: after `sesame passwd` old copies still open with the old passphrase, and \
    after `sesame rekey` with the old recovery code too. `sesame backups --prune` removes them."
)]
pub struct BackupArgs {
    /// A new file, or a folder to put it in [default: <vault folder>/backups/]
    dest: Option<PathBuf>,
}

#[derive(Args)]
pub struct BackupsArgs {
    /// Remove the copies that open only with an older passphrase or key
    #[arg(long)]
    prune: bool,
    /// With --prune: do not ask
    #[arg(long)]
    yes: bool,
    /// Machine-readable output
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The file to check [default: the vault]
    file: Option<PathBuf>,
    /// Check the structure only: never ask for a passphrase or use the agent
    #[arg(long)]
    structure_only: bool,
    /// Machine-readable output
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The copy to restore (see `sesame backups`)
    file: PathBuf,
    /// Do not ask for confirmation (needed when not on a terminal)
    #[arg(long)]
    force: bool,
}

/// The vault opened without asking anything: through its agent, or a passphrase source that
/// needs no prompt. `None` when neither is there (or the vault does not open).
fn open_quietly(ctx: &Context, bytes: &[u8]) -> Result<Option<UnlockedVault>> {
    if let Some(unlocked) = ctx.unlock_with_agent(bytes)? {
        return Ok(Some(unlocked));
    }
    ctx.open_file(bytes, &ctx.path, false)
}

fn count_versions(vault: &Vault) -> usize {
    vault.secrets.iter().map(|s| 1 + s.history.len()).sum()
}

pub(super) fn backup(ctx: &Context, args: BackupArgs) -> Result<()> {
    let bytes = store::read(&ctx.path)?;
    inspect(&bytes, &ctx.path)?;
    let dest = backup::destination(&ctx.path, args.dest.as_deref())?;
    backup::write_copy(&ctx.path, &bytes, &dest)?;
    let secrets = match open_quietly(ctx, &bytes) {
        Ok(Some(unlocked)) => {
            let copy = store::read(&dest)?;
            unlocked.open_copy(&copy, &dest)?.map(|v| v.secrets.len())
        }
        _ => None,
    };
    super::outln!("{}", crate::printable::path(&dest))?;
    let checked = match secrets {
        Some(n) => format!("{n} secret{}, opened and checked", plural(n)),
        None => "read back and checked".to_string(),
    };
    eprintln!(
        "Backed up {} ({checked}). The copy opens with the vault's current passphrase, also after \
         a later `sesame passwd`.",
        crate::printable::path(&ctx.path)
    );
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Which key opens a copy, compared with the vault as it is now.
pub(crate) fn opens_with(copy: Option<&Header>, current: Option<&Header>) -> &'static str {
    let (Some(copy), Some(current)) = (copy, current) else {
        return if copy.is_none() { "damaged" } else { "-" };
    };
    if copy.vault_id != current.vault_id {
        return "another vault";
    }
    if copy.key_generation != current.key_generation {
        return "an older key (before rekey)";
    }
    let slot = |h: &Header| crate::container::passphrase_slot(h).map(|p| p.salt);
    if slot(copy) == slot(current) {
        "the current passphrase"
    } else {
        "an older passphrase"
    }
}

pub(super) fn backups(ctx: &Context, args: BackupsArgs) -> Result<()> {
    backup::check_folders(&ctx.path)?;
    let current_bytes = store::read(&ctx.path).ok();
    let current_header = current_bytes
        .as_deref()
        .and_then(|b| inspect(b, &ctx.path).ok().map(|p| p.header));
    let unlocked = match &current_bytes {
        Some(bytes) if current_header.is_some() && !args.prune => {
            open_quietly(ctx, bytes).ok().flatten()
        }
        _ => None,
    };
    let copies = backup::list(&ctx.path);
    let rows: Vec<(backup::Copy, &'static str, Option<usize>)> = copies
        .into_iter()
        .map(|c| {
            let opens = opens_with(c.header.as_ref(), current_header.as_ref());
            let secrets = unlocked.as_ref().and_then(|u| {
                // Only a copy whose header is sound and of this vault's key is read whole.
                if !matches!(opens, "the current passphrase" | "an older passphrase") {
                    return None;
                }
                let bytes = backup::read_copy(&c.path).ok()?;
                u.open_copy(&bytes, &c.path).ok().flatten()
            });
            (c, opens, secrets.map(|v| v.secrets.len()))
        })
        .collect();
    if args.prune {
        return prune(&rows, args.yes);
    }
    if args.json {
        let out: Vec<_> = rows
            .iter()
            .map(|(c, opens, secrets)| {
                json!({
                    "path": c.path.display().to_string(),
                    "kind": kind_name(c.kind),
                    "time": crate::units::format_time(c.modified),
                    "size": c.size,
                    "secrets": secrets,
                    "key_generation": c.header.as_ref().map(|h| h.key_generation),
                    "opens_with": opens,
                })
            })
            .collect();
        return print_json(&out);
    }
    if rows.is_empty() {
        eprintln!(
            "No copies of {} yet. Automatic ones appear in {} after the next change; \
             `sesame backup` makes one now.",
            crate::printable::path(&ctx.path),
            crate::printable::path(&backup::auto_folder(&ctx.path))
        );
        return Ok(());
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(c, opens, secrets)| {
            vec![
                short_time(c.modified),
                kind_name(c.kind).to_string(),
                c.size.to_string(),
                secrets.map_or("?".to_string(), |n| n.to_string()),
                opens.to_string(),
                c.path.display().to_string(),
            ]
        })
        .collect();
    super::write_stdout(
        render_table(
            &["TIME", "KIND", "BYTES", "SECRETS", "OPENS WITH", "PATH"],
            &table,
        )
        .as_bytes(),
    )?;
    if unlocked.is_none() {
        eprintln!("Secret counts need the key: `sesame unlock` first, or a passphrase source.");
    }
    Ok(())
}

fn kind_name(kind: CopyKind) -> &'static str {
    match kind {
        CopyKind::Automatic => "auto",
        CopyKind::Manual => "manual",
    }
}

/// Removes copies that open only with an older passphrase or key.
fn prune(rows: &[(backup::Copy, &'static str, Option<usize>)], yes: bool) -> Result<()> {
    let stale: Vec<&backup::Copy> = rows
        .iter()
        .filter(|(_, opens, _)| {
            matches!(
                *opens,
                "an older passphrase" | "an older key (before rekey)"
            )
        })
        .map(|(c, _, _)| c)
        .collect();
    if stale.is_empty() {
        eprintln!("Every copy opens with the current passphrase; nothing to prune.");
        return Ok(());
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::usage(format!(
                "{} copies would be removed; pass --yes to remove them without a terminal",
                stale.len()
            )));
        }
        if !super::confirm(&format!(
            "Remove {} cop{} that open only with an older passphrase or key? [y/N] ",
            stale.len(),
            if stale.len() == 1 { "y" } else { "ies" }
        ))? {
            eprintln!("Nothing removed.");
            return Ok(());
        }
    }
    for copy in &stale {
        std::fs::remove_file(&copy.path).map_err(|e| {
            Error::io(
                format!("cannot remove {}", crate::printable::path(&copy.path)),
                e,
            )
        })?;
    }
    eprintln!(
        "Removed {} cop{}.",
        stale.len(),
        if stale.len() == 1 { "y" } else { "ies" }
    );
    Ok(())
}

/// `verify`: the structure always; with a key (agent, passphrase source, or a prompt on a
/// terminal), a full authenticated open and a decode of every secret.
pub(super) fn verify(ctx: &Context, args: VerifyArgs) -> Result<()> {
    let path = args.file.clone().unwrap_or_else(|| ctx.path.clone());
    let bytes = backup::read_copy(&path)?;
    let parsed = inspect(&bytes, &path)?;
    let header = parsed.header.clone();
    let kinds: Vec<String> = header.slots.iter().map(slot_name).collect();
    let payload = parsed.ciphertext.len();
    let contents: Option<Vault> = if args.structure_only {
        None
    } else {
        open_for_verify(ctx, &path, &bytes)?
    };
    if args.json {
        return print_json(&json!({
            "file": path.display().to_string(),
            "structure": "ok",
            "format_version": header.version,
            "slots": kinds,
            "payload_bytes": payload,
            "authenticated": contents.is_some(),
            "secrets": contents.as_ref().map(|v| v.secrets.len()),
            "versions": contents.as_ref().map(count_versions),
            "profiles": contents.as_ref().map(|v| v.profiles.len()),
        }));
    }
    super::outln!(
        "structure  ok (format {}, {} slot{}: {}; payload {payload} bytes)",
        header.version,
        kinds.len(),
        plural(kinds.len()),
        kinds.join(", ")
    )?;
    match &contents {
        Some(v) => super::outln!(
            "contents   ok (authenticated; {} secret{}, {} version{}, {} profile{})",
            v.secrets.len(),
            plural(v.secrets.len()),
            count_versions(v),
            plural(count_versions(v)),
            v.profiles.len(),
            plural(v.profiles.len())
        )?,
        None => {
            super::outln!("contents   not checked (no key)")?;
            if !args.structure_only {
                eprintln!(
                    "For a full check, `sesame unlock` first or give a passphrase source \
                     (--passphrase-fd, SESAME_PASSPHRASE_FILE, ...)."
                );
            }
        }
    }
    Ok(())
}

fn slot_name(slot: &Slot) -> String {
    crate::slots::kind_name(slot.kind)
}

/// Opens `bytes` (the file at `path`) for `verify`: through the vault's agent when the file is of
/// the same vault and key generation, else with a passphrase source, else a prompt on a
/// terminal. `None` when no key is available without a terminal.
fn open_for_verify(ctx: &Context, path: &Path, bytes: &[u8]) -> Result<Option<Vault>> {
    if let Some(vault_bytes) = store::read(&ctx.path).ok()
        && let Ok(Some(unlocked)) = ctx.unlock_with_agent(&vault_bytes)
        && let Some(v) = unlocked.open_copy(bytes, path)?
    {
        return Ok(Some(v));
    }
    let on_terminal = std::io::stdin().is_terminal();
    Ok(ctx.open_file(bytes, path, on_terminal)?.map(|u| u.vault))
}

/// Labels only in `a`, and labels in both whose current version differs.
fn differences(a: &Vault, b: &Vault) -> (Vec<String>, Vec<String>) {
    let in_b: BTreeMap<&str, &crate::vault::Secret> =
        b.secrets.iter().map(|s| (s.label.as_str(), s)).collect();
    let mut only_a = Vec::new();
    let mut changed = Vec::new();
    for s in &a.secrets {
        match in_b.get(s.label.as_str()) {
            None => only_a.push(s.label.to_string()),
            Some(other) if other.current.id != s.current.id => changed.push(s.label.to_string()),
            Some(_) => {}
        }
    }
    (only_a, changed)
}

fn list_some(labels: &[String]) -> String {
    let mut shown: Vec<&str> = labels.iter().take(10).map(String::as_str).collect();
    if labels.len() > 10 {
        shown.push("…");
    }
    shown.join(", ")
}

pub(super) fn restore(ctx: &Context, args: RestoreArgs) -> Result<()> {
    let file = &args.file;
    if !args.force && !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "restore replaces the vault: confirm on a terminal, or pass --force",
        ));
    }
    let bytes = backup::read_copy(file)?;
    inspect(&bytes, file)?;
    // The vault as it is now, if it is there and opens (a broken vault is what restore is for).
    let read_now = store::read(&ctx.path);
    // The file as it is now (even damaged) becomes a generation; a missing one cannot.
    let kept = if read_now.is_ok() {
        " The current one is kept."
    } else {
        ""
    };
    let current = match read_now {
        Ok(b) if inspect(&b, &ctx.path).is_ok() => match ctx.unlock() {
            Ok(unlocked) => Some(unlocked),
            Err(Error::Tampered { .. } | Error::NotAVault { .. }) => None,
            Err(e) => return Err(e),
        },
        Ok(_) => None,
        Err(Error::VaultNotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    // The copy: with the current key when it is of the same key generation, else its passphrase.
    let (restored, own): (Vault, Option<UnlockedVault>) = match current
        .as_ref()
        .map(|c| c.open_copy(&bytes, file))
        .transpose()?
    {
        Some(Some(v)) => (v, None),
        _ => {
            let mut opened = ctx
                .open_file(&bytes, file, true)?
                .ok_or(Error::NoPassphraseSource)?;
            // Its confirmed values are sealed under its own data key: opened here, they are
            // sealed again under the vault's key when they replace its contents.
            crate::approval::unseal_everything(&mut opened)?;
            (std::mem::take(&mut opened.vault), Some(opened))
        }
    };
    match &current {
        Some(cur) => {
            let (only_now, changed) = differences(&cur.vault, &restored);
            let (only_copy, _) = differences(&restored, &cur.vault);
            eprintln!(
                "{} holds {} secret{}; {} holds {}.",
                crate::printable::path(&ctx.path),
                cur.vault.secrets.len(),
                plural(cur.vault.secrets.len()),
                crate::printable::path(file),
                restored.secrets.len()
            );
            if !only_copy.is_empty() {
                eprintln!(
                    "  only in the copy (brought back): {}",
                    list_some(&only_copy)
                );
            }
            if !only_now.is_empty() {
                eprintln!(
                    "  only in the vault (lost by restoring): {}",
                    list_some(&only_now)
                );
            }
            if !changed.is_empty() {
                eprintln!("  a different current value: {}", list_some(&changed));
            }
            if cur.header.vault_id != inspect(&bytes, file)?.header.vault_id {
                crate::cli::warn(format!(
                    "{} is a copy of another vault",
                    crate::printable::path(file)
                ));
            }
        }
        None => eprintln!(
            "{} is missing or damaged; {} holds {} secret{}.",
            crate::printable::path(&ctx.path),
            crate::printable::path(file),
            restored.secrets.len(),
            plural(restored.secrets.len())
        ),
    }
    if !args.force && !super::confirm(&format!("Replace the vault with this copy?{kept} [y/N] "))? {
        eprintln!("Nothing changed.");
        return Ok(());
    }
    let event = Event::new("restore", Vec::new()).detail(
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    let count = restored.secrets.len();
    let done = match (current, &own) {
        // The usual case: the copy's contents go into the vault under the vault's keys as they
        // are now, so the passphrase (and recovery code) that work today keep working.
        (Some(cur), _) => {
            let done = transaction::replace_contents(&ctx.path, cur, restored, event)?;
            super::context::report(&done);
            eprintln!(
                "Restored the contents of {} into {} ({count} secret{}); its passphrase and \
                 recovery code are unchanged.",
                crate::printable::path(file),
                crate::printable::path(&ctx.path),
                plural(count)
            );
            done
        }
        // No vault to keep the keys of: the copy is put back byte for byte.
        (None, Some(opened)) => {
            let done = transaction::restore(&ctx.path, &bytes, opened, event)?;
            super::context::report(&done);
            eprintln!(
                "Restored {} from {} ({count} secret{}). It opens with the passphrase the copy \
                 was made with.",
                crate::printable::path(&ctx.path),
                crate::printable::path(file),
                plural(count)
            );
            done
        }
        (None, None) => return Err(Error::Failed("nothing to restore with".into())),
    };
    if let Some(kept) = &done.generation {
        eprintln!(
            "The replaced vault is kept as {}.",
            crate::printable::path(kept)
        );
    }
    if done.agent_stopped {
        eprintln!("The agent was stopped; `sesame unlock` again.");
    }
    Ok(())
}
