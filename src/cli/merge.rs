//! `merge`, `conflicts`, `resolve`: bringing another copy of this vault in (`docs/CLI.md`). The
//! merge itself is `crate::merge`; this opens the copies, prints what changed by label (never a
//! value) and writes through the one transaction.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use super::{Context, print_json, render_table, warn};
use crate::container::{UnlockedVault, inspect};
use crate::error::{Error, Result};
use crate::merge::{self, MergeReport};
use crate::names::Label;
use crate::transaction;
use crate::units::{self, format_time};
use crate::usage::Event;
use crate::usage::LogContents;
use crate::vault::Vault;
use crate::vault::identity::file_hash;

/// Exit code of `merge` when secrets are left in conflict.
pub(crate) const EXIT_CONFLICTS: u8 = 12;

#[derive(Args)]
pub struct MergeArgs {
    /// Another copy of this vault (a sync tool's conflict copy, another machine's file)
    other: PathBuf,
    /// A common ancestor of the two copies [default: found from their ancestry in backups/auto]
    #[arg(long, value_name = "BASE")]
    base: Option<PathBuf>,
    /// Show what would change; write nothing
    #[arg(long)]
    dry_run: bool,
    /// Machine-readable output
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ConflictsArgs {
    /// Machine-readable output
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ResolveArgs {
    label: String,
    /// The version to keep current (`sesame conflicts` lists them)
    #[arg(long, value_name = "VERSION")]
    keep: u32,
}

/// Another copy of the vault `ours` holds, opened: with the key already held when it has the
/// same key generation (no passphrase), else with its own passphrase from the sources.
/// A file of another vault is refused (exit 2).
pub(super) fn open_other(
    ctx: &Context,
    ours: &UnlockedVault,
    path: &Path,
    may_prompt: bool,
) -> Result<(Vault, [u8; 32])> {
    let bytes = read_other(path)?;
    let hash = same_vault(ours, path, &bytes)?;
    let other = open_other_with_log(ctx, ours, path, &bytes, may_prompt, false)?;
    Ok((other.vault, hash))
}

/// Reads another copy of the vault; a missing one is named as the copy (exit 1), not as the vault
/// (whose advice, `sesame init`, would be wrong here).
pub(super) fn read_other(path: &Path) -> Result<Vec<u8>> {
    crate::backup::read_copy(path).map_err(|e| match e {
        Error::VaultNotFound { .. } | Error::VaultNotFoundAt { .. } => Error::io(
            format!("cannot read {}", crate::printable::path(path)),
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ),
        other => other,
    })
}

/// Refuses a file of another vault (exit 2) before any key is used; returns the file's hash.
fn same_vault(ours: &UnlockedVault, path: &Path, bytes: &[u8]) -> Result<[u8; 32]> {
    let header = inspect(bytes, path)?.header;
    if header.vault_id != ours.header.vault_id {
        return Err(Error::usage(format!(
            "{} is not a copy of this vault (another vault id); sesame merges copies of one \
             vault only. To move secrets between vaults, `sesame export --dotenv --plaintext` \
             and `sesame import --dotenv`",
            crate::printable::path(path)
        )));
    }
    Ok(file_hash(bytes))
}

/// What [`open_other_with_log`] opened: the copy's contents and, when asked for and present,
/// its usage log (`<OTHER>.log`).
struct OtherCopy {
    vault: Vault,
    log: Option<LogContents>,
}

fn open_other_with_log(
    ctx: &Context,
    ours: &UnlockedVault,
    path: &Path,
    bytes: &[u8],
    may_prompt: bool,
    with_log: bool,
) -> Result<OtherCopy> {
    // A log that is missing, or does not read whole, is left alone: the merge goes on.
    let log_of = |key: &UnlockedVault| {
        with_log
            .then(|| crate::usage::read(path, key).ok())
            .flatten()
            .filter(|log| log.problem.is_none() && !log.records.is_empty())
    };
    match ours.open_copy(bytes, path) {
        Ok(Some(vault)) => {
            return Ok(OtherCopy {
                vault,
                log: log_of(ours),
            });
        }
        // Another key generation, or rekeyed apart: its own passphrase opens it.
        Ok(None) | Err(Error::Tampered { .. }) => {}
        Err(e) => return Err(e),
    }
    match ctx.open_file(bytes, path, may_prompt) {
        Err(e) if !matches!(e, Error::NoPassphraseSource) => Err(e),
        Ok(Some(mut other)) => {
            // Its confirmed secrets' values are sealed under its own data key, which this vault
            // does not have: opened here (its key is in this process), they are sealed again
            // under this vault's key by the write.
            crate::approval::unseal_everything(&mut other)?;
            let log = log_of(&other);
            Ok(OtherCopy {
                vault: other.vault,
                log,
            })
        }
        Ok(None) | Err(_) => Err(Error::usage(format!(
            "{} does not open with this vault's key (its passphrase was changed, or it was \
             rekeyed apart): give its own passphrase, at the prompt on a terminal or through \
             SESAME_PASSPHRASE_FILE or --passphrase-fd",
            crate::printable::path(path)
        ))),
    }
}

/// The newest ancestor both copies record, if this vault's automatic generations still hold it.
fn find_base(vault_path: &Path, ours: &UnlockedVault, theirs: &Vault) -> Option<Vault> {
    let common = ours
        .vault
        .ancestry
        .iter()
        .find(|h| theirs.ancestry.contains(h))?;
    let folder = crate::backup::auto_folder(vault_path);
    for entry in std::fs::read_dir(folder).ok()?.flatten() {
        let path = entry.path();
        let Ok(bytes) = crate::backup::read_copy(&path) else {
            continue;
        };
        if &file_hash(&bytes) == common {
            return ours.open_copy(&bytes, &path).ok().flatten();
        }
    }
    None
}

pub(super) fn merge(ctx: &Context, args: MergeArgs) -> Result<u8> {
    let unlocked = ctx.unlock()?;
    let bytes = read_other(&args.other)?;
    let hash = same_vault(&unlocked, &args.other, &bytes)?;
    let OtherCopy {
        vault: theirs,
        log: their_log,
    } = open_other_with_log(ctx, &unlocked, &args.other, &bytes, true, !args.dry_run)?;
    let now = units::now();
    let base = match &args.base {
        Some(path) => Some(open_other(ctx, &unlocked, path, true)?.0),
        None if merge::base_would_help(&unlocked.vault, &theirs, now) => {
            find_base(&ctx.path, &unlocked, &theirs)
        }
        None => None,
    };
    // Merged once to see whether anything changes (and for --dry-run), then again under the
    // write lock on the file as it is then.
    let (preview, report) = merge::merge(
        merge::duplicate_vault(&unlocked.vault),
        &theirs,
        base.as_ref(),
        Some(hash),
        now,
    );
    let left = in_conflict(&preview);
    if args.dry_run || report.is_empty() {
        print_report(&report, &left, args.json, args.dry_run, &args.other)?;
        return Ok(if left.is_empty() { 0 } else { EXIT_CONFLICTS });
    }
    let labels = changed_labels(&report);
    let event =
        Event::new("merge", labels).detail(format!("from {}", crate::printable::path(&args.other)));
    let (report, done) = transaction::transact_merge(&ctx.path, unlocked, event, their_log, |u| {
        let ours = std::mem::take(&mut u.vault);
        let (merged, report) = merge::merge(ours, &theirs, base.as_ref(), Some(hash), now);
        u.vault = merged;
        Ok((report, in_conflict(&u.vault)))
    })?;
    super::context::report(&done);
    let (report, left) = report;
    print_report(&report, &left, args.json, false, &args.other)?;
    Ok(if left.is_empty() { 0 } else { EXIT_CONFLICTS })
}

/// Labels of the secrets in conflict.
pub(super) fn in_conflict(vault: &Vault) -> Vec<String> {
    vault
        .secrets
        .iter()
        .filter(|s| s.conflict)
        .map(|s| s.label.to_string())
        .collect()
}

fn changed_labels(report: &MergeReport) -> Vec<String> {
    let mut labels: Vec<String> = report
        .added
        .iter()
        .chain(&report.updated)
        .chain(&report.removed)
        .chain(&report.conflicts)
        .cloned()
        .chain(report.renamed.iter().map(|(_, new)| new.clone()))
        .collect();
    labels.sort();
    labels.dedup();
    labels
}

fn print_report(
    report: &MergeReport,
    left: &[String],
    as_json: bool,
    dry_run: bool,
    other: &Path,
) -> Result<()> {
    if as_json {
        return print_json(&json!({
            "dry_run": dry_run,
            "added": report.added,
            "updated": report.updated,
            "removed": report.removed,
            "conflicts": report.conflicts,
            "kept_changed": report.kept_changed,
            "renamed": report.renamed.iter().map(|(from, to)| json!({"from": from, "to": to})).collect::<Vec<_>>(),
            "profiles": report.profiles,
            "in_conflict": left,
        }));
    }
    for label in &report.kept_changed {
        warn(format!(
            "{label} was removed in one copy and changed in the other; it is kept"
        ));
    }
    for (from, to) in &report.renamed {
        warn(format!(
            "two different secrets were both labelled {from}; the one added later is now {to} \
             (`sesame edit {to} --rename NEW` to choose another label, `sesame rm {to}` if it \
             is not needed)"
        ));
    }
    if report.is_empty() {
        eprintln!(
            "Nothing to merge: this vault already holds everything in {}.",
            crate::printable::path(other)
        );
    } else {
        let would = if dry_run { "would be " } else { "" };
        let mut lines = Vec::new();
        for (what, labels) in [
            ("added", &report.added),
            ("updated", &report.updated),
            ("removed", &report.removed),
            ("in conflict", &report.conflicts),
            ("profiles changed", &report.profiles),
        ] {
            if !labels.is_empty() {
                lines.push(format!("{would}{what}: {}", labels.join(", ")));
            }
        }
        let mut out = lines.join("\n");
        out.push('\n');
        super::write_stdout(out.as_bytes())?;
        if dry_run {
            eprintln!("Dry run: nothing was written.");
        }
    }
    if !left.is_empty() {
        eprintln!(
            "{} in conflict: {}. Both values are kept; `sesame conflicts` shows the versions, \
             `sesame resolve LABEL --keep VERSION` keeps one.",
            left.len(),
            left.join(", ")
        );
    }
    Ok(())
}

pub(super) fn conflicts(ctx: &Context, args: ConflictsArgs) -> Result<()> {
    let unlocked = ctx.unlock()?;
    let secrets: Vec<_> = unlocked
        .vault
        .secrets
        .iter()
        .filter(|s| s.conflict)
        .collect();
    if args.json {
        let rows: Vec<_> = secrets
            .iter()
            .map(|s| {
                let versions: Vec<_> = std::iter::once(&s.current)
                    .chain(&s.history)
                    .map(|v| {
                        json!({
                            "version": v.number,
                            "current": v.retired.is_none(),
                            "created": format_time(v.created),
                            "hint": v.hint(),
                        })
                    })
                    .collect();
                json!({"label": s.label.as_str(), "versions": versions})
            })
            .collect();
        print_json(&rows)?;
    } else if secrets.is_empty() {
        eprintln!("No secret is in conflict.");
    } else {
        let rows: Vec<Vec<String>> = secrets
            .iter()
            .flat_map(|s| {
                std::iter::once(&s.current).chain(&s.history).map(|v| {
                    vec![
                        s.label.to_string(),
                        v.number.to_string(),
                        if v.retired.is_none() { "current" } else { "" }.to_string(),
                        format_time(v.created),
                        v.hint().unwrap_or_default(),
                    ]
                })
            })
            .collect();
        let table = render_table(&["LABEL", "VERSION", "", "SET", "HINT"], &rows);
        super::write_stdout(table.as_bytes())?;
        eprintln!(
            "Keep one with `sesame resolve LABEL --keep VERSION`; the others stay in history."
        );
    }
    Ok(())
}

pub(super) fn resolve(ctx: &Context, args: ResolveArgs) -> Result<()> {
    let label = Label::parse(&args.label)?;
    let unlocked = ctx.unlock()?;
    if !unlocked.vault.get(&label)?.conflict {
        return Err(Error::usage(format!(
            "{label} is not in conflict; to make another version current, `sesame rollback \
             {label} --to VERSION`"
        )));
    }
    let event = Event::new("resolve", vec![label.to_string()])
        .detail(format!("kept version {}", args.keep));
    let kept = ctx.commit(unlocked, event, |u| {
        let secret = u.vault.get_mut(&label)?;
        merge::resolve(secret, args.keep, units::now())
    })?;
    eprintln!("{label}: version {kept} is current; the conflict is resolved.");
    Ok(())
}
