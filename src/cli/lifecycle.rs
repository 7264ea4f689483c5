//! `rotate`, `history`, `rollback`, `check`: a secret's versions and its rotation policy.

use clap::Args;
use serde_json::json;

use super::{Context, print_json, render_table};
use crate::error::{Error, Result};
use crate::names::Label;
use crate::units::{self, format_duration, format_time};
use crate::usage::Event;
use crate::vault::{DEFAULT_KEEP, MAX_KEEP};
use crate::{inject, input};

#[derive(Args)]
pub struct RotateArgs {
    label: String,
    /// Save the new value only if CMD (run by `sh -c`, with the new value in the secret's env
    /// name) exits 0
    #[arg(long, value_name = "CMD")]
    verify: Option<String>,
    /// Old versions to keep in history (older ones are wiped)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_KEEP)]
    keep: usize,
    /// Keep a trailing newline in the value
    #[arg(long)]
    raw: bool,
    /// Accept a value identical to the current one (it still counts as a rotation)
    #[arg(long)]
    same: bool,
}

#[derive(Args)]
pub struct HistoryArgs {
    label: String,
    /// Machine-readable output
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RollbackArgs {
    label: String,
    /// The version to make current [default: the newest in history]
    #[arg(long, value_name = "VERSION")]
    to: Option<u32>,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Machine-readable output
    #[arg(long)]
    json: bool,
}

pub(super) fn rotate(ctx: &Context, args: RotateArgs) -> Result<()> {
    let label = Label::parse(&args.label)?;
    if args.keep > MAX_KEEP {
        return Err(Error::usage(format!("--keep is at most {MAX_KEEP}")));
    }
    let unlocked = ctx.unlock()?;
    let env_name = unlocked.vault.get(&label)?.env_name.clone();
    let value = input::value(label.as_str(), args.raw)?;
    // Rotating to the same value would reset the due date and silence `check` while the key
    // that should have been replaced stays in use.
    if !args.same
        && unlocked
            .vault
            .get(&label)?
            .current
            .value
            .plain()
            .map(crate::secret::SecretValue::expose)
            == Some(value.expose())
    {
        return Err(Error::usage(format!(
            "the new value of {label} is the same as the current one; nothing was changed \
             (pass --same to record it as a rotation anyway)"
        )));
    }
    if let Some(script) = &args.verify {
        let status = inject::run_with_secret(script, &env_name, &value)?;
        if !status.success() {
            return Err(Error::Verification {
                label: label.to_string(),
                status: describe_exit(status),
            });
        }
    }
    let now = units::now();
    let event = Event::new("rotate", vec![label.to_string()]);
    let (number, kept) = ctx.commit(unlocked, event, |u| {
        let secret = u.vault.get_mut(&label)?;
        let number = secret.rotate(value, now, args.keep);
        Ok((number, secret.history.len()))
    })?;
    eprintln!(
        "Rotated {label} to version {number} ({kept} older version{} kept).",
        if kept == 1 { "" } else { "s" }
    );
    Ok(())
}

pub(super) fn history(ctx: &Context, args: HistoryArgs) -> Result<()> {
    let label = Label::parse(&args.label)?;
    let unlocked = ctx.unlock()?;
    let secret = unlocked.vault.get(&label)?;
    let versions = std::iter::once(&secret.current).chain(&secret.history);
    if args.json {
        let rows: Vec<_> = versions
            .map(|v| {
                json!({
                    "version": v.number,
                    "current": v.retired.is_none(),
                    "created": format_time(v.created),
                    "retired": v.retired.map(format_time),
                    "hint": v.hint(),
                })
            })
            .collect();
        return print_json(&rows);
    }
    let rows: Vec<Vec<String>> = versions
        .map(|v| {
            vec![
                v.number.to_string(),
                if v.retired.is_none() {
                    "current"
                } else {
                    "retired"
                }
                .to_string(),
                super::short_time(v.created),
                v.retired.map_or("-".to_string(), super::short_time),
                v.hint().unwrap_or_else(|| "-".to_string()),
            ]
        })
        .collect();
    super::write_stdout(
        render_table(&["VERSION", "STATE", "CREATED", "RETIRED", "HINT"], &rows).as_bytes(),
    )?;
    Ok(())
}

pub(super) fn rollback(ctx: &Context, args: RollbackArgs) -> Result<()> {
    let label = Label::parse(&args.label)?;
    let unlocked = ctx.unlock()?;
    unlocked.vault.get(&label)?;
    let now = units::now();
    let mut event = Event::new("rollback", vec![label.to_string()]);
    if let Some(to) = args.to {
        event = event.detail(format!("to version {to}"));
    }
    let (from, to) = ctx.commit(unlocked, event, |u| {
        let secret = u.vault.get_mut(&label)?;
        let from = secret.current.number;
        secret.rollback(args.to, now).map(|to| (from, to))
    })?;
    eprintln!("{label} is at version {to} again (version {from} moved to history).");
    Ok(())
}

/// Exit 10 when a rotation is overdue, or a server refused a secret (git's `erase`, recorded in
/// the usage log) and it was not replaced since: for cron and CI. 0 otherwise.
pub(super) fn check(ctx: &Context, args: CheckArgs) -> Result<u8> {
    let unlocked = ctx.unlock()?;
    let now = units::now();
    let rejected = rejected(ctx, &unlocked);
    let due: Vec<_> = unlocked
        .vault
        .secrets
        .iter()
        .filter(|s| s.is_overdue(now) || rejected.contains_key(s.label.as_str()))
        .collect();
    let refused = |s: &crate::vault::Secret| rejected.get(s.label.as_str()).copied();
    if args.json {
        let rows: Vec<_> = due
            .iter()
            .map(|s| {
                let overdue = s.is_overdue(now);
                let due = s.rotation_due().unwrap_or(now);
                json!({
                    "label": s.label.as_str(),
                    "env": s.env_name.as_str(),
                    "rotate_every": s.rotate_every.map(format_duration),
                    "rotation_due": overdue.then(|| format_time(due)),
                    "overdue_seconds": overdue.then(|| now.saturating_sub(due)),
                    "rejected_by_server": refused(s).map(format_time),
                })
            })
            .collect();
        print_json(&rows)?;
    } else if due.is_empty() {
        eprintln!("No rotation is overdue.");
    } else {
        let rows: Vec<Vec<String>> = due
            .iter()
            .map(|s| {
                let due = s.rotation_due().unwrap_or(now);
                let (when, why) = match refused(s) {
                    Some(time) => (time, "rejected by its server".to_string()),
                    None => (
                        due,
                        format!(
                            "overdue by {}",
                            format_duration(u64::try_from(now.saturating_sub(due)).unwrap_or(0))
                        ),
                    ),
                };
                vec![s.label.to_string(), super::short_time(when), why]
            })
            .collect();
        super::write_stdout(render_table(&["LABEL", "SINCE", "WHY"], &rows).as_bytes())?;
        eprintln!("Rotate with `sesame rotate LABEL`.");
    }
    Ok(if due.is_empty() { 0 } else { 10 })
}

/// Labels whose server refused them since their last new value (`usage::rejected_by_label`);
/// empty, with a warning, when the log cannot be read.
fn rejected(
    ctx: &Context,
    unlocked: &crate::container::UnlockedVault,
) -> std::collections::HashMap<String, i64> {
    match crate::usage::read(&ctx.path, unlocked) {
        Ok(contents) => {
            if let Some(problem) = &contents.problem {
                super::warn(problem);
            }
            crate::usage::rejected_by_label(&contents.records)
        }
        Err(e) => {
            super::warn(format!("the usage log cannot be read: {e}"));
            std::collections::HashMap::new()
        }
    }
}

/// What a finished command's status means, in words: "exited with 7", "was killed by signal 9
/// (SIGKILL)" — not Rust's "exit status: 7".
pub(crate) fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return format!("exited with {code}");
    }
    let Some(signal) = status.signal() else {
        return "ended abnormally".to_string();
    };
    let name = match signal {
        1 => " (SIGHUP)",
        2 => " (SIGINT)",
        3 => " (SIGQUIT)",
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        13 => " (SIGPIPE)",
        15 => " (SIGTERM)",
        _ => "",
    };
    format!("was killed by signal {signal}{name}")
}
