//! `add`, `get`, `list`, `edit`, `rm`: the everyday commands on secrets.

use std::collections::HashMap;
use std::fmt::Write;
use std::io::IsTerminal;

use clap::Args;
use serde_json::json;

use super::{Context, print_json, render_table, short_time};
use crate::container::UnlockedVault;
use crate::error::{Error, Result};
use crate::inject::{check_stored_env_name, loads_or_runs_code};
use crate::input;
use crate::names::{EnvName, Label};
use crate::units::{self, format_duration, format_time};
use crate::usage::{self, Event};
use crate::vault::{MAX_NOTE_LEN, Secret};

#[derive(Args)]
pub struct AddArgs {
    /// Label, e.g. openai/prod (A-Z a-z 0-9 . _ / -)
    label: String,
    /// Environment variable name for `run` [default: the label upper-cased, e.g. OPENAI_PROD]
    #[arg(long, value_name = "NAME")]
    env: Option<String>,
    /// A note (not secret: shown by `list`)
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// Rotation period, e.g. 90d
    #[arg(long, value_name = "DURATION")]
    rotate_every: Option<String>,
    /// Keep a trailing newline in the value
    #[arg(long)]
    raw: bool,
    /// Allow an env name that makes programs load or run code (LD_*, PATH, BASH_ENV, ...)
    #[arg(long)]
    allow_loader_env: bool,
    /// Each use needs a person's approval, as after `edit --confirm` (stored sealed from the
    /// start)
    #[arg(long)]
    confirm: bool,
}

#[derive(Args)]
pub struct GetArgs {
    label: String,
    /// An older version (see `history`)
    #[arg(long, value_name = "N")]
    version: Option<u32>,
    /// Do not print a newline after the value
    #[arg(short = 'n')]
    no_newline: bool,
}

#[derive(Args)]
#[command(
    after_help = "Examples:\n  sesame list\n  sesame list openai      (labels containing \"openai\")\n  sesame list 'aws/*'     (a glob: * any run of characters, ? one)"
)]
pub struct ListArgs {
    /// Only labels containing PATTERN, or matching it as a glob when it has * or ?
    pattern: Option<String>,
    /// Machine-readable output
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ShowArgs {
    /// The secret's label, e.g. openai/prod
    label: String,
    /// Machine-readable output
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct EditArgs {
    label: String,
    /// New environment variable name
    #[arg(long, value_name = "NAME")]
    env: Option<String>,
    /// New note ("" removes it)
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// New rotation period, or `never`
    #[arg(long, value_name = "DURATION|never")]
    rotate_every: Option<String>,
    /// New label
    #[arg(long, value_name = "NEW")]
    rename: Option<String>,
    /// Allow an env name that makes programs load or run code (LD_*, PATH, BASH_ENV, ...)
    #[arg(long)]
    allow_loader_env: bool,
    /// Each use of the secret needs a person's approval on `unlock --confirm`'s console (its
    /// values are sealed)
    #[arg(long, conflicts_with = "no_confirm")]
    confirm: bool,
    /// Remove that mark (unsealing the values needs an approval, like a `get`)
    #[arg(long)]
    no_confirm: bool,
}

#[derive(Args)]
pub struct RmArgs {
    /// The secret's label, e.g. openai/prod
    label: String,
    /// Do not ask for confirmation on a terminal
    #[arg(long, short = 'y')]
    yes: bool,
}

/// True when `label` matches `pattern`: a glob (`*`, `?`) when it has one, else a substring.
pub(crate) fn label_matches(pattern: &str, label: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return label.contains(pattern);
    }
    let (p, l): (Vec<char>, Vec<char>) = (pattern.chars().collect(), label.chars().collect());
    // Iterative glob match with one backtrack point: linear in practice, never recursive.
    let (mut pi, mut li, mut star, mut mark) = (0, 0, None, 0);
    while li < l.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == l[li]) {
            pi += 1;
            li += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = li;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            li = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Records in the log that the user allowed an env name that loads or runs code (the flag was
/// checked by [`check_stored_env_name`] already).
fn loader_env_allowed(event: Event, env: &EnvName) -> Event {
    if loads_or_runs_code(env.as_str()) {
        event.detail(format!("env {env} allowed with --allow-loader-env"))
    } else {
        event
    }
}

/// Warns when another secret already uses `env` (a `run` selecting both would be ambiguous).
fn warn_shared_env(vault: &crate::vault::Vault, label: &Label, env: &EnvName) {
    let others: Vec<&str> = vault
        .secrets
        .iter()
        .filter(|s| &s.env_name == env && &s.label != label)
        .map(|s| s.label.as_str())
        .collect();
    if !others.is_empty() {
        super::warn(format!(
            "{} already use{} the env name {env}; `run` refuses a selection holding both \
             (change one with `sesame edit LABEL --env NAME`)",
            others.join(", "),
            if others.len() == 1 { "s" } else { "" }
        ));
    }
}

fn parse_note(note: Option<String>) -> Result<Option<String>> {
    match note {
        Some(n) if n.len() > MAX_NOTE_LEN => Err(Error::usage(format!(
            "the note is {} bytes; at most {MAX_NOTE_LEN} are allowed",
            n.len()
        ))),
        Some(n) if n.is_empty() => Ok(None),
        other => Ok(other),
    }
}

fn parse_period(text: &str) -> Result<Option<u64>> {
    if text == "never" {
        return Ok(None);
    }
    let secs = units::parse_duration(text)?.as_secs();
    if secs == 0 {
        return Err(Error::usage("the rotation period must be at least 1s"));
    }
    Ok(Some(secs))
}

pub(super) fn add(ctx: &Context, args: AddArgs) -> Result<()> {
    let label = Label::parse(&args.label)?;
    let env_name = match &args.env {
        Some(name) => EnvName::parse(name)?,
        None => label.default_env_name(),
    };
    check_stored_env_name(&env_name, args.allow_loader_env)?;
    let note = parse_note(args.note)?;
    let rotate_every = match &args.rotate_every {
        Some(text) => parse_period(text)?,
        None => None,
    };
    // A piped value is read (and an empty one refused) before the passphrase is asked for;
    // a typed one after the unlock, so that a label already taken fails before it is typed.
    let piped = !std::io::stdin().is_terminal()
        && ctx.fds.given(input::FdFlag::Passphrase) != Some(0)
        && ctx.fds.given(input::FdFlag::NewPassphrase) != Some(0);
    let value = piped
        .then(|| input::value(label.as_str(), args.raw))
        .transpose()?;
    let unlocked = ctx.unlock()?;
    if unlocked.vault.get(&label).is_ok() {
        return Err(Error::LabelExists {
            label: label.to_string(),
        });
    }
    warn_shared_env(&unlocked.vault, &label, &env_name);
    let value = match value {
        Some(value) => value,
        None => input::value(label.as_str(), args.raw)?,
    };
    let now = units::now();
    let mut secret = Secret::first(label.clone(), env_name.clone(), value, now);
    secret.note = note;
    secret.rotate_every = rotate_every;
    // Sealed as the change is saved (`transaction::transact`): never stored in the clear.
    secret.confirm = args.confirm;
    let event = loader_env_allowed(Event::new("add", vec![label.to_string()]), &env_name);
    ctx.commit(unlocked, event, |u| u.vault.insert(secret))?;
    eprintln!("Added {label} (env {env_name}).");
    Ok(())
}

pub(super) fn get(ctx: &Context, args: GetArgs) -> Result<()> {
    let label = Label::parse(&args.label)?;
    let unlocked = ctx.unlock()?;
    let secret = unlocked.vault.get(&label)?;
    let version = match args.version {
        None => &secret.current,
        Some(n) => secret.version(n).ok_or_else(|| Error::VersionNotFound {
            label: label.to_string(),
            version: n,
        })?,
    };
    // A confirmed secret's value needs the console's yes (or the passphrase in this process).
    let value = crate::approval::open_value(&unlocked, secret, version)?;
    let mut event = Event::new("get", vec![label.to_string()]);
    if let Some(n) = args.version {
        event = event.detail(format!("version {n}"));
    }
    ctx.record(&unlocked, event);
    super::write_stdout(value.expose())?;
    if !args.no_newline {
        super::write_stdout(b"\n")?;
    }
    Ok(())
}

/// Per label: how many times it was used (`run`, `get`) and when last (`usage::uses_by_label`:
/// the log's summaries, then the events after them).
fn usage_by_label(ctx: &Context, unlocked: &UnlockedVault) -> HashMap<String, (u64, i64)> {
    match usage::read(&ctx.path, unlocked) {
        Ok(contents) => {
            if let Some(problem) = &contents.problem {
                super::warn(problem);
            }
            usage::uses_by_label(&contents.records)
                .into_iter()
                .map(|(label, uses)| (label, (uses.count, uses.last)))
                .collect()
        }
        Err(e) => {
            super::warn(format!("the usage log cannot be read: {e}"));
            HashMap::new()
        }
    }
}

pub(super) fn list(ctx: &Context, args: ListArgs) -> Result<()> {
    let unlocked = ctx.unlock()?;
    let now = units::now();
    let secrets: Vec<&Secret> = unlocked
        .vault
        .secrets
        .iter()
        .filter(|s| {
            args.pattern
                .as_deref()
                .is_none_or(|p| label_matches(p, s.label.as_str()))
        })
        .collect();
    let uses = usage_by_label(ctx, &unlocked);
    let use_of = |s: &Secret| uses.get(s.label.as_str()).copied();
    if args.json {
        let rows: Vec<_> = secrets
            .iter()
            .map(|s| {
                let due = s.rotation_due();
                json!({
                    "label": s.label.as_str(),
                    "env": s.env_name.as_str(),
                    "version": s.current.number,
                    "created": format_time(s.created),
                    "updated": format_time(s.updated),
                    "note": s.note,
                    "rotate_every": s.rotate_every.map(format_duration),
                    "rotation_due": due.map(format_time),
                    "overdue": s.is_overdue(now),
                    "last_used": use_of(s).map(|(_, t)| format_time(t)),
                    "use_count": use_of(s).map_or(0, |(n, _)| n),
                    "history": s.history.len(),
                    "confirm": s.confirm,
                })
            })
            .collect();
        return print_json(&rows);
    }
    if secrets.is_empty() {
        match &args.pattern {
            Some(p) if !unlocked.vault.secrets.is_empty() => {
                eprintln!("No label matches {p:?}; `sesame list` shows them all.")
            }
            _ => eprintln!("No secrets yet; add one with `sesame add LABEL`."),
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = secrets
        .iter()
        .map(|s| {
            let due = match s.rotation_due() {
                None => "-".to_string(),
                Some(d) if d <= now => format!("OVERDUE {}", short_time(d)),
                Some(d) => short_time(d),
            };
            vec![
                if s.confirm {
                    format!("{} [confirm]", s.label)
                } else {
                    s.label.to_string()
                },
                s.env_name.to_string(),
                s.current.number.to_string(),
                short_time(s.created),
                short_time(s.updated),
                due,
                match use_of(s) {
                    Some((n, t)) => format!("{} ({n}×)", short_time(t)),
                    None => "never".to_string(),
                },
            ]
        })
        .collect();
    let header = [
        "LABEL",
        "ENV",
        "VERSION",
        "CREATED",
        "UPDATED",
        "ROTATION DUE",
        "LAST USED",
    ];
    super::write_stdout(render_table(&header, &rows).as_bytes())?;
    Ok(())
}

pub(super) fn edit(ctx: &Context, args: EditArgs) -> Result<()> {
    let label = Label::parse(&args.label)?;
    let env_name = args.env.as_deref().map(EnvName::parse).transpose()?;
    if let Some(env) = &env_name {
        check_stored_env_name(env, args.allow_loader_env)?;
    }
    let note = args.note.map(|n| parse_note(Some(n))).transpose()?;
    let rotate_every = args.rotate_every.as_deref().map(parse_period).transpose()?;
    let rename = args.rename.as_deref().map(Label::parse).transpose()?;
    let confirm = match (args.confirm, args.no_confirm) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    if env_name.is_none()
        && note.is_none()
        && rotate_every.is_none()
        && rename.is_none()
        && confirm.is_none()
    {
        return Err(Error::usage(
            "nothing to change: give --env, --note, --rotate-every, --rename, --confirm or \
             --no-confirm",
        ));
    }
    let unlocked = ctx.unlock()?;
    // Removing the mark puts the values back in the clear: they are opened first, before the
    // write lock (an approval waits for a person), with one approval for all of them.
    let unsealed = match confirm {
        Some(false) => Some(crate::approval::open_all(
            &unlocked,
            unlocked.vault.get(&label)?,
        )?),
        _ => None,
    };
    let final_label = rename.clone().unwrap_or_else(|| label.clone());
    if let Some(env) = &env_name {
        unlocked.vault.get(&label)?;
        warn_shared_env(&unlocked.vault, &label, env);
    }
    // Values stored before the mark stay readable in every older copy of the file.
    let was_plain = confirm == Some(true)
        && unlocked.vault.get(&label).is_ok_and(|s| {
            std::iter::once(&s.current)
                .chain(&s.history)
                .any(|v| v.value.plain().is_some())
        });
    let mut event = Event::new("edit", vec![label.to_string()]);
    if let Some(env) = &env_name {
        event = loader_env_allowed(event, env);
    }
    if let Some(confirm) = confirm {
        let marked = if confirm {
            "needs approval from now on"
        } else {
            "no longer needs approval"
        };
        let detail = match event.detail.take() {
            Some(env) => format!("{env}; {marked}"),
            None => marked.to_string(),
        };
        event = event.detail(detail);
    }
    if let Some(to) = &rename {
        let renamed = format!("renamed to {to}");
        let detail = match event.detail.take() {
            Some(env) => format!("{renamed}; {env}"),
            None => renamed,
        };
        event = event.detail(detail);
        event.labels.push(to.to_string());
    }
    ctx.commit(unlocked, event, |u| {
        let vault = &mut u.vault;
        let secret = vault.get_mut(&label)?;
        if let Some(env) = env_name {
            secret.env_name = env;
        }
        if let Some(note) = note {
            secret.note = note;
        }
        if let Some(period) = rotate_every {
            secret.rotate_every = period;
        }
        // Marked, the values are sealed as the change is saved (`transaction::transact`).
        if let Some(confirm) = confirm {
            secret.confirm = confirm;
        }
        if let Some(opened) = unsealed {
            crate::approval::unseal(secret, opened)?;
        }
        secret.updated = units::now();
        match rename {
            Some(to) if to != label => vault.rename(&label, to),
            _ => Ok(()),
        }
    })?;
    eprintln!("Updated {final_label}.");
    if was_plain {
        crate::cli::warn(format!(
            "older copies of the vault (automatic generations, backups, synced or committed \
             copies) still hold {final_label}'s values unsealed, and anything that can use the \
             agent can read them there; rotate it at its provider (`sesame rotate {final_label}`) \
             so those values are useless"
        ));
    }
    Ok(())
}

pub(super) fn rm(ctx: &Context, args: RmArgs) -> Result<()> {
    let label = Label::parse(&args.label)?;
    let unlocked = ctx.unlock()?;
    let secret = unlocked.vault.get(&label)?;
    if !args.yes && std::io::stdin().is_terminal() {
        let versions = 1 + secret.history.len();
        let question = format!(
            "Remove {label} and its {versions} version{}? The vault as it is now is kept in \
             backups/auto (`sesame backups`). [y/N] ",
            if versions == 1 { "" } else { "s" }
        );
        if !super::confirm(&question)? {
            eprintln!("Nothing removed.");
            return Ok(());
        }
    }
    let event = Event::new("rm", vec![label.to_string()]);
    let (versions, profiles) = ctx.commit(unlocked, event, |u| {
        let versions = u.vault.remove(&label).map(|s| 1 + s.history.len())?;
        Ok((versions, u.vault.profiles_using(&label)))
    })?;
    if !profiles.is_empty() {
        super::warn(format!(
            "profile {} still names {label}; `sesame profile set` to change it",
            profiles.join(", ")
        ));
    }
    eprintln!(
        "Removed {label} ({versions} version{}). `sesame backups` lists the copies that still \
         hold it.",
        if versions == 1 { "" } else { "s" }
    );
    Ok(())
}

pub(super) fn show(ctx: &Context, args: ShowArgs) -> Result<()> {
    let label = Label::parse(&args.label)?;
    let unlocked = ctx.unlock()?;
    let secret = unlocked.vault.get(&label)?;
    let now = units::now();
    let uses = usage_by_label(ctx, &unlocked);
    let used = uses.get(label.as_str()).copied();
    let profiles = unlocked.vault.profiles_using(&label);
    let versions: Vec<u32> = std::iter::once(&secret.current)
        .chain(&secret.history)
        .map(|v| v.number)
        .collect();
    let due = secret.rotation_due();
    if args.json {
        return print_json(&json!({
            "label": secret.label.as_str(),
            "env": secret.env_name.as_str(),
            "note": secret.note,
            "version": secret.current.number,
            "versions": versions,
            "created": format_time(secret.created),
            "updated": format_time(secret.updated),
            "rotate_every": secret.rotate_every.map(format_duration),
            "rotation_due": due.map(format_time),
            "overdue": secret.is_overdue(now),
            "last_used": used.map(|(_, t)| format_time(t)),
            "use_count": used.map_or(0, |(n, _)| n),
            "profiles": profiles,
            "confirm": secret.confirm,
        }));
    }
    let mut out = String::new();
    let mut line = |k: &str, v: String| writeln!(out, "{k:<13} {v}");
    let shown_versions: Vec<String> = versions.iter().map(u32::to_string).collect();
    let written = line("label", secret.label.to_string())
        .and_then(|()| line("env", secret.env_name.to_string()))
        .and_then(|()| line("note", secret.note.clone().unwrap_or_else(|| "-".into())))
        .and_then(|()| {
            line(
                "approval",
                if secret.confirm {
                    "each use needs a yes on the console (`unlock --confirm`)".into()
                } else {
                    "-".into()
                },
            )
        })
        .and_then(|()| {
            line(
                "version",
                format!(
                    "{} (kept: {})",
                    secret.current.number,
                    shown_versions.join(", ")
                ),
            )
        })
        .and_then(|()| line("created", short_time(secret.created)))
        .and_then(|()| line("updated", short_time(secret.updated)))
        .and_then(|()| {
            line(
                "rotate every",
                secret.rotate_every.map_or("-".into(), format_duration),
            )
        })
        .and_then(|()| {
            line(
                "rotation due",
                match due {
                    None => "-".into(),
                    Some(d) if d <= now => format!("OVERDUE since {}", short_time(d)),
                    Some(d) => short_time(d),
                },
            )
        })
        .and_then(|()| {
            line(
                "last used",
                match used {
                    Some((n, t)) => format!("{} ({n}×)", short_time(t)),
                    None => "never".into(),
                },
            )
        })
        .and_then(|()| {
            line(
                "profiles",
                if profiles.is_empty() {
                    "-".into()
                } else {
                    profiles.join(", ")
                },
            )
        });
    written.map_err(|e| Error::io("cannot render", std::io::Error::other(e)))?;
    super::write_stdout(out.as_bytes())
}
