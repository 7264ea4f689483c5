//! `import --dotenv` and `export --dotenv`: moving secrets between sesame and `.env` files.
//! Parsing and formatting live in `crate::dotenv`; the import is one transaction.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use clap::Args;
use zeroize::Zeroizing;

use super::{Context, warn};
use crate::dotenv::{self, MAX_DOTENV_LEN};
use crate::error::{Error, Result};
use crate::names::{EnvName, Label};
use crate::secret::SecretValue;
use crate::units;
use crate::usage::Event;
use crate::vault::MAX_VALUE_LEN;

#[derive(Args)]
#[command(
    after_help = "Each NAME=value becomes a secret with env name NAME and label `name` \
    lower-cased with _ turned into - (`OPENAI_API_KEY` -> `openai-api-key`, or \
    `P/openai-api-key` with --prefix P). Quotes, `export`, comments, CRLF and a BOM are read as \
    common dotenv parsers do; nothing is expanded. Delete the plaintext file afterwards."
)]
pub struct ImportArgs {
    /// The .env file to read
    #[arg(long, value_name = "FILE", required = true)]
    dotenv: PathBuf,
    /// Put the labels under this prefix (P/name)
    #[arg(long, value_name = "P")]
    prefix: Option<String>,
    /// Give existing labels the new value (rotated: the old one stays in history)
    #[arg(long)]
    overwrite: bool,
}

#[derive(Args)]
#[command(after_help = "Without --plaintext the output holds only references \
    (NAME=sesame://LABEL): safe to commit, and `sesame run --env-file` reads it.")]
pub struct ExportArgs {
    /// Write dotenv lines (the only format so far)
    #[arg(long, required = true)]
    dotenv: bool,
    /// Print the values themselves (stdout only)
    #[arg(long)]
    plaintext: bool,
    /// With --plaintext: print even when stdout is a terminal
    #[arg(long)]
    force: bool,
}

/// The label an env name is imported under: lower-case, `_` → `-`, under `prefix/`.
fn label_for(name: &str, prefix: Option<&str>) -> Result<Label> {
    let base = name.to_ascii_lowercase().replace('_', "-");
    let base = base.trim_start_matches('-');
    match prefix {
        Some(p) => Label::parse(&format!("{}/{base}", p.trim_end_matches('/'))),
        None => Label::parse(base),
    }
}

/// Reads the file whole into a zeroizing buffer: a regular file of at most 64 MiB.
fn read_dotenv(path: &PathBuf) -> Result<Zeroizing<String>> {
    let shown = path.display();
    let file =
        std::fs::File::open(path).map_err(|e| Error::io(format!("cannot read {shown}"), e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot read {shown}"), e))?;
    if !meta.is_file() {
        return Err(Error::usage(format!("{shown} is not a regular file")));
    }
    if meta.len() > MAX_DOTENV_LEN {
        return Err(Error::usage(format!(
            "{shown} is larger than the 64 MiB a dotenv file may be"
        )));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize + 1));
    file.take(MAX_DOTENV_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("cannot read {shown}"), e))?;
    if bytes.len() as u64 > MAX_DOTENV_LEN {
        return Err(Error::usage(format!(
            "{shown} is larger than the 64 MiB a dotenv file may be"
        )));
    }
    match std::str::from_utf8(&bytes) {
        Ok(_) => {
            let text = String::from_utf8(std::mem::take(&mut *bytes))
                .map_err(|_| Error::usage(format!("{shown} is not UTF-8 text")))?;
            Ok(Zeroizing::new(text))
        }
        Err(_) => Err(Error::usage(format!("{shown} is not UTF-8 text"))),
    }
}

struct Planned {
    label: Label,
    env: EnvName,
    value: SecretValue,
}

pub fn import(ctx: &Context, args: ImportArgs) -> Result<()> {
    let path = &args.dotenv;
    let text = read_dotenv(path)?;
    let parsed = dotenv::parse(&text)
        .map_err(|e| Error::usage(format!("{}:{}: {}", path.display(), e.line, e.reason)))?;
    for w in &parsed.warnings {
        warn(format!("{}: {w}", path.display()));
    }
    let mut planned: Vec<Planned> = Vec::new();
    let mut labels_seen: BTreeMap<Label, String> = BTreeMap::new();
    let mut skipped = 0usize;
    for entry in &parsed.entries {
        let at = format!("{}:{}", path.display(), entry.line);
        let label = match label_for(&entry.name, args.prefix.as_deref()) {
            Ok(l) => l,
            Err(e) => {
                warn(format!("{at}: {} skipped: {e}", entry.name));
                skipped += 1;
                continue;
            }
        };
        let env = EnvName::parse(&entry.name)?;
        let bytes = entry.value.as_bytes();
        if bytes.is_empty() || bytes.len() > MAX_VALUE_LEN {
            warn(format!(
                "{at}: {} skipped: a value is 1 byte to 1 MiB",
                entry.name
            ));
            skipped += 1;
            continue;
        }
        if let Some(other) = labels_seen.get(&label) {
            warn(format!(
                "{at}: {} skipped: {other} already maps to the label {label}",
                entry.name
            ));
            skipped += 1;
            continue;
        }
        labels_seen.insert(label.clone(), entry.name.clone());
        planned.push(Planned {
            label,
            env,
            value: SecretValue::new(Zeroizing::new(bytes.to_vec())),
        });
    }
    drop(parsed);
    drop(text);
    if planned.is_empty() {
        return Err(Error::usage(format!(
            "{} holds no NAME=value line to import",
            path.display()
        )));
    }

    let unlocked = ctx.unlock()?;
    // Every label, however many: one record (as `run --all` logs), so `log LABEL` finds it.
    let labels: Vec<String> = planned.iter().map(|p| p.label.to_string()).collect();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let detail = format!("from {file_name}");
    let event = Event::new("import", labels).detail(detail);
    let overwrite = args.overwrite;
    let now = units::now();
    let merged = ctx.commit(unlocked, event, move |u| {
        let incoming = planned.into_iter().map(|p| (p.label, p.env, p.value));
        u.vault.merge(incoming, overwrite, now)
    })?;
    let (added, rotated, existing, same) = (
        merged.added,
        merged.rotated,
        merged.skipped,
        merged.unchanged,
    );
    if !existing.is_empty() {
        let mut shown: Vec<&str> = existing.iter().take(5).map(String::as_str).collect();
        if existing.len() > 5 {
            shown.push("…");
        }
        eprintln!(
            "Skipped {} existing label{} ({}); --overwrite rotates them to the file's value.",
            existing.len(),
            if existing.len() == 1 { "" } else { "s" },
            shown.join(", ")
        );
    }
    eprintln!(
        "Imported {}: {added} added, {rotated} rotated, {same} unchanged, {} skipped.",
        path.display(),
        existing.len() + skipped
    );
    eprintln!(
        "The values are in the vault now; delete the plaintext file: `shred -u {}` (or `rm`).",
        path.display()
    );
    Ok(())
}

pub fn export(ctx: &Context, args: ExportArgs) -> Result<()> {
    let _ = args.dotenv;
    if args.plaintext && std::io::stdout().is_terminal() && !args.force {
        return Err(Error::usage(
            "export --plaintext prints every value: pipe it (e.g. `> .env`, then delete it when \
             done) or pass --force to print to the terminal",
        ));
    }
    let unlocked = ctx.unlock()?;
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    let mut out = Zeroizing::new(String::new());
    if !args.plaintext {
        // The vault's file name only: a path would put the user's home folder in a committed file.
        out.push_str(&format!(
            "# sesame references (from {}): safe to commit; `sesame run --env-file FILE -- CMD` \
             resolves them\n",
            ctx.path
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
    }
    let mut exported = Vec::new();
    for secret in &unlocked.vault.secrets {
        let name = secret.env_name.as_str();
        let label = secret.label.as_str();
        if let Some(first) = seen.get(name) {
            warn(format!(
                "{label} and {first} share the env name {name}; {label} is written as a comment"
            ));
            out.push_str("# ");
        } else {
            seen.insert(name, label);
        }
        if args.plaintext {
            let Ok(text) = std::str::from_utf8(secret.current.value.expose()) else {
                warn(format!(
                    "{label} is not text; a dotenv file cannot hold it (skipped)"
                ));
                out.push_str(&format!("# {name}: {label} is binary, not exported\n"));
                continue;
            };
            out.push_str(&dotenv::format_entry(name, text));
            out.push('\n');
        } else {
            out.push_str(&format!("{name}=sesame://{label}\n"));
        }
        exported.push(label.to_string());
    }
    if args.plaintext {
        ctx.record(
            &unlocked,
            Event::new("export", exported).detail("plaintext"),
        );
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io("cannot write to stdout", e))
}
