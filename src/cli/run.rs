//! `run`, `profile`, `log`: giving secrets to programs, saved selections, and the usage log.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::json;

use super::{Context, print_json, render_table, short_time};
use crate::error::{Error, Result};
use crate::inject::child::{Child, ChildOptions, NESTED_MARKER};
use crate::inject::{self, Selection, Source, parse_binding};
use crate::names::{EnvName, Label};
use crate::openbao::Connection;
use crate::openbao::reference::{self, BaoRef, is_reference};
use crate::template::Template;
use crate::usage::{self, Event};
use crate::vault::{Binding, Profile};

#[derive(Args)]
#[command(
    after_help = "When two forms name the same variable, the stronger wins: --file and --template, then \
    --env, then --env-file, then inherited sesame:// variables, then --profile, then --all. \
    Naming one variable twice within one form is an error."
)]
pub struct RunArgs {
    /// Give the child NAME=<value of LABEL> (repeatable)
    #[arg(long = "env", value_name = "NAME=LABEL")]
    env: Vec<String>,
    /// Read dotenv lines from PATH: sesame://LABEL values are replaced, others pass through (repeatable; later files win)
    #[arg(long, value_name = "PATH")]
    env_file: Vec<PathBuf>,
    /// Use a saved selection (see `sesame profile`)
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Every secret, under its env name
    #[arg(long)]
    all: bool,
    /// Put the value in an in-memory file and give the child NAME=/proc/PID/fd/K (Linux)
    #[arg(long, value_name = "NAME=LABEL")]
    file: Vec<String>,
    /// Render TEMPLATE (its {{ sesame://LABEL }} and {{ bao://MOUNT/PATH#FIELD }}) into an
    /// in-memory file and give the child NAME=/proc/PID/fd/K (Linux)
    #[arg(long, value_name = "NAME=TEMPLATE")]
    template: Vec<String>,
    /// Stay as the parent and replace values in the child's output with <concealed by sesame>
    #[arg(long)]
    mask: bool,
    /// Start the child from an empty environment plus PATH, HOME, USER, LANG, TERM
    #[arg(long)]
    clean_env: bool,
    /// Let --all and --profile set variables that make programs load or run code (LD_*, PATH, BASH_ENV, ...)
    #[arg(long)]
    allow_loader_env: bool,
    /// The command and its arguments (after `--`)
    #[arg(
        value_name = "CMD",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<OsString>,
}

#[derive(Subcommand)]
pub enum ProfileCommand {
    /// Save (or replace) a selection: `profile set dev OPENAI_API_KEY=openai/dev ...`
    Set {
        name: String,
        #[arg(value_name = "NAME=LABEL", required = true)]
        bindings: Vec<String>,
    },
    /// List profiles and their bindings
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a profile (its secrets stay)
    Rm { name: String },
}

#[derive(Args)]
pub struct LogArgs {
    /// Only events that concern this label
    label: Option<String>,
    /// Only events newer than this, e.g. 24h, 7d
    #[arg(long, value_name = "DURATION")]
    since: Option<String>,
    /// At most N events, the newest
    #[arg(short = 'n', value_name = "N")]
    limit: Option<usize>,
    /// Machine-readable output
    #[arg(long)]
    json: bool,
}

fn selection(args: &RunArgs) -> Result<Selection> {
    let mut sel = Selection::default();
    if args.all {
        sel.select_all();
    }
    if let Some(profile) = &args.profile {
        sel.use_profile(Label::parse(profile)?);
    }
    if args.allow_loader_env {
        sel.allow_loader_env();
    }
    sel.add_inherited(std::env::vars_os())?;
    for path in &args.env_file {
        sel.add_env_file(path)?;
    }
    for (flag, source, list) in [
        ("--env", Source::EnvFlag, &args.env),
        ("--file", Source::FileFlag, &args.file),
    ] {
        for text in list {
            if let Some((name, value)) = text.split_once('=').filter(|(_, v)| is_reference(v)) {
                if source == Source::FileFlag {
                    return Err(Error::usage(format!(
                        "{flag} takes a label, not a bao:// reference; use --env {text}"
                    )));
                }
                let origin = format!("{flag} {text}");
                sel.add_reference(source, EnvName::parse(name)?, BaoRef::parse(value)?, origin)?;
                continue;
            }
            let (name, label) = parse_binding(text, flag)?;
            sel.add(source, name, label, format!("{flag} {text}"))?;
        }
    }
    for text in &args.template {
        let (name, path) = text.split_once('=').ok_or_else(|| {
            Error::usage(format!(
                "--template takes NAME=TEMPLATE (e.g. NPMRC=.npmrc.tpl), got {text:?}"
            ))
        })?;
        let template = Template::read(Path::new(path))?;
        sel.add_template(
            EnvName::parse(name)?,
            template,
            format!("--template {text}"),
        )?;
    }
    Ok(sel)
}

pub(super) fn run(ctx: &Context, args: RunArgs) -> Result<u8> {
    let sel = selection(&args)?;
    for warning in sel.warnings() {
        super::warn(warning);
    }
    if sel.is_empty() {
        return Err(Error::usage(
            "nothing selected: name the secrets the command gets with --env NAME=LABEL, \
             --env-file PATH, --profile NAME, --file NAME=LABEL, --template NAME=TEMPLATE or \
             --all",
        ));
    }
    let unlocked = ctx.unlock().map_err(|e| match e {
        Error::NoPassphraseSource if std::env::var_os(NESTED_MARKER).is_some() => Error::usage(
            "no passphrase source: this `sesame run` runs inside another `sesame run`, which \
             removed the passphrase variables (SESAME_PASSPHRASE and the like) from its \
             command's environment so that no program sees them; run `sesame unlock` first, and \
             both runs use the agent",
        ),
        e => e,
    })?;
    let chosen = sel.resolve_everything(&unlocked.vault)?;
    // Read at run time, one request per KV path; never stored.
    let fetched = if chosen.bao_references().is_empty() {
        BTreeMap::new()
    } else {
        reference::resolve(&Connection::from_env()?, chosen.bao_references())?
    };
    let options = ChildOptions {
        mask: args.mask,
        clean_env: args.clean_env,
    };
    let child =
        inject::child::assemble(&args.command, &chosen, &unlocked.vault, &fetched, options)?;
    for note in &child.notes {
        eprintln!("sesame: note: {note}");
    }
    for warning in &child.warnings {
        super::warn(warning);
    }
    let program = args.command[0].clone();
    let mut event = Event::new("run", child.logged.clone());
    event.program = Path::new(&program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    ctx.record(&unlocked, event);
    // Everything was read from OpenBao: a token logged in for is revoked before the command
    // starts, which never sees it (it is not in its environment either).
    super::end_openbao_login();
    let Child {
        mut command,
        in_env,
        files,
        masked,
        ..
    } = child;
    if args.mask {
        // sesame stays while the command runs: it keeps copies of the injected values (for the
        // maskers) and wipes the rest, the vault's other secrets and its data key included.
        let values = masked.iter().map(|v| v.duplicate()).collect();
        drop(masked);
        drop(in_env);
        drop(fetched);
        drop(unlocked);
        let code = crate::supervise::run_masked(command, values);
        drop(files);
        return code;
    }
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    if error.kind() == std::io::ErrorKind::ArgumentListTooLong {
        let largest = in_env
            .iter()
            .max_by_key(|(_, _, v)| v.len())
            .map(|(name, label, v)| {
                format!(
                    "; the largest value is {label}'s ({} KiB): use --file {name}={label}, \
                     which gives the command the path of an in-memory file instead",
                    v.len().div_ceil(1024)
                )
            })
            .unwrap_or_default();
        return Err(Error::usage(format!(
            "cannot run {:?}: its environment and arguments are too large for the system \
             (\"Argument list too long\"){largest}",
            program.to_string_lossy()
        )));
    }
    Err(inject::start_error(&program, error))
}

pub(super) fn profile(ctx: &Context, command: ProfileCommand) -> Result<()> {
    match command {
        ProfileCommand::Set { name, bindings } => {
            let name = Label::parse(&name)?;
            let mut parsed: Vec<Binding> = Vec::new();
            for text in &bindings {
                let (env_name, label) = parse_binding(text, "profile set")?;
                if parsed.iter().any(|b| b.env_name == env_name) {
                    return Err(Error::usage(format!(
                        "{env_name} appears twice in the profile"
                    )));
                }
                parsed.push(Binding { env_name, label });
            }
            let unlocked = ctx.unlock()?;
            for b in &parsed {
                unlocked.vault.get(&b.label)?;
            }
            let count = parsed.len();
            let event = Event::new(
                "profile-set",
                parsed.iter().map(|b| b.label.to_string()).collect(),
            )
            .detail(name.to_string());
            ctx.commit(unlocked, event, |u| {
                let profiles = &mut u.vault.profiles;
                profiles.retain(|p| p.name != name);
                let at = profiles.partition_point(|p| p.name < name);
                profiles.insert(
                    at,
                    Profile {
                        name: name.clone(),
                        updated: crate::units::now(),
                        bindings: parsed,
                    },
                );
                Ok(())
            })?;
            eprintln!(
                "Saved profile {name} ({count} variable{}).",
                if count == 1 { "" } else { "s" }
            );
            Ok(())
        }
        ProfileCommand::List { json } => {
            let unlocked = ctx.unlock()?;
            let profiles = &unlocked.vault.profiles;
            if json {
                let rows: Vec<_> = profiles
                    .iter()
                    .map(|p| {
                        let bindings: serde_json::Map<String, serde_json::Value> = p
                            .bindings
                            .iter()
                            .map(|b| (b.env_name.to_string(), json!(b.label.as_str())))
                            .collect();
                        json!({ "name": p.name.as_str(), "bindings": bindings })
                    })
                    .collect();
                return print_json(&rows);
            }
            if profiles.is_empty() {
                eprintln!("No profiles; save one with `sesame profile set NAME VAR=LABEL...`.");
            }
            for p in profiles {
                let bindings: Vec<String> = p
                    .bindings
                    .iter()
                    .map(|b| format!("{}={}", b.env_name, b.label))
                    .collect();
                super::outln!("{}  {}", p.name, bindings.join(" "))?;
            }
            Ok(())
        }
        ProfileCommand::Rm { name } => {
            let name = Label::parse(&name)?;
            let unlocked = ctx.unlock()?;
            let event = Event::new("profile-rm", Vec::new()).detail(name.to_string());
            ctx.commit(unlocked, event, |u| {
                if !u.vault.profiles.iter().any(|p| p.name == name) {
                    return Err(u.vault.profile_not_found(name.as_str()));
                }
                u.vault.profiles.retain(|p| p.name != name);
                Ok(())
            })?;
            eprintln!("Removed profile {name}.");
            Ok(())
        }
    }
}

pub(super) fn log(ctx: &Context, args: LogArgs) -> Result<()> {
    let label = args.label.as_deref().map(Label::parse).transpose()?;
    let unlocked = ctx.unlock()?;
    let contents = usage::read(&ctx.path, &unlocked)?;
    if let Some(problem) = &contents.problem {
        super::warn(problem);
    }
    let names = |labels: &[String]| {
        label
            .as_ref()
            .is_none_or(|l| labels.iter().any(|x| x == l.as_str()))
    };
    // A label that is neither in the vault nor anywhere in the log is a typo: say so (exit 5).
    if let Some(l) = &label
        && unlocked.vault.get(l).is_err()
        && !contents
            .events()
            .any(|e| e.labels.iter().any(|x| x == l.as_str()))
        && !contents
            .summaries()
            .is_some_and(|s| s.labels.iter().any(|x| x.label == l.as_str()))
    {
        return Err(unlocked.vault.not_found(l));
    }
    let since = match &args.since {
        Some(text) => {
            let secs = crate::units::parse_duration(text)?.as_secs();
            crate::units::now().saturating_sub(i64::try_from(secs).unwrap_or(i64::MAX))
        }
        None => i64::MIN,
    };
    let events: Vec<&Event> = contents
        .events()
        .rev()
        .filter(|e| names(&e.labels) && e.time >= since)
        .take(args.limit.unwrap_or(usize::MAX))
        .collect();
    // What compaction removed, after (older than) every event still in the log: one row a label.
    let compacted: Vec<(i64, Vec<String>, u64, String)> = contents
        .summaries()
        .map(|s| {
            let unlabelled = (label.is_none() && s.unlabelled_dropped > 0).then(|| {
                let n = s.unlabelled_dropped;
                (
                    s.time,
                    Vec::new(),
                    n,
                    format!("{n} earlier events without a label"),
                )
            });
            s.labels
                .iter()
                .filter(|l| l.dropped > 0 && names(std::slice::from_ref(&l.label)))
                .map(|l| {
                    let n = l.dropped;
                    let detail = format!("{n} earlier events not kept ({} uses by then)", l.uses);
                    (s.time, vec![l.label.clone()], n, detail)
                })
                .chain(unlabelled)
                .collect()
        })
        .unwrap_or_default();
    // Compacted rows are older than every event kept: not within --since, nor among the newest N.
    let compacted = if args.since.is_some() || args.limit.is_some() {
        Vec::new()
    } else {
        compacted
    };
    if args.json {
        let rows: Vec<_> = events
            .iter()
            .map(|e| {
                json!({
                    "time": crate::units::format_time(e.time),
                    "action": e.action,
                    "labels": e.labels,
                    "program": e.program,
                    "detail": e.detail,
                })
            })
            .chain(compacted.iter().map(|(time, labels, n, detail)| {
                json!({
                    "time": crate::units::format_time(*time),
                    "action": "compacted",
                    "labels": labels,
                    "program": null,
                    "detail": detail,
                    "events": n,
                })
            }))
            .collect();
        return print_json(&rows);
    }
    if events.is_empty() && compacted.is_empty() {
        eprintln!("No events recorded yet.");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                short_time(e.time),
                e.action.clone(),
                labels_cell(&e.labels),
                match (&e.program, &e.detail) {
                    // A helper's use: who asked, and what for (`git-remote-http: get for …`).
                    (Some(program), Some(detail)) => format!("{program}: {detail}"),
                    (program, detail) => program
                        .clone()
                        .or_else(|| detail.clone())
                        .unwrap_or_default(),
                },
            ]
        })
        .chain(compacted.iter().map(|(time, labels, _, detail)| {
            vec![
                short_time(*time),
                "compacted".to_string(),
                labels.join(","),
                detail.clone(),
            ]
        }))
        .collect();
    super::write_stdout(
        render_table(&["TIME", "ACTION", "LABELS", "PROGRAM/DETAIL"], &rows).as_bytes(),
    )?;
    Ok(())
}

/// The LABELS cell of `log`'s table: the labels up to about 60 characters, then how many more.
/// One `run --all` names every label, and a cell that wide would pad every other row to it
/// (`--json` lists them all).
fn labels_cell(labels: &[String]) -> String {
    const WIDTH: usize = 60;
    let all = labels.join(",");
    if all.chars().count() <= WIDTH {
        return all;
    }
    let mut cell = String::new();
    let mut shown = 0;
    for label in labels {
        if cell.chars().count() + label.chars().count() + 1 > WIDTH - 12 && shown > 0 {
            break;
        }
        if shown > 0 {
            cell.push(',');
        }
        cell.push_str(label);
        shown += 1;
    }
    format!("{cell},… {} more", labels.len() - shown)
}
