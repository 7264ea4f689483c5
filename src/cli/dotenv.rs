//! `import --dotenv` and `export --dotenv`: moving secrets between sesame and `.env` files.
//! Parsing and formatting live in `crate::dotenv`; the import is one transaction.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::Args;
use zeroize::Zeroizing;

use super::{Context, warn};
use crate::dotenv::{self, MAX_DOTENV_LEN};
use crate::error::{Error, Result};
use crate::inject::{REFERENCE_PREFIX, loads_or_runs_code};
use crate::names::{EnvName, Label};
use crate::openbao::reference::is_reference as is_bao_reference;
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

/// Reads the file whole into a zeroizing buffer: a regular file of at most
/// [`MAX_DOTENV_LEN`]. It is opened without blocking and its type checked on the opened
/// descriptor, so a FIFO (or a file swapped for one) is refused instead of waiting for a writer.
fn read_dotenv(path: &PathBuf) -> Result<Zeroizing<String>> {
    use std::os::unix::fs::OpenOptionsExt;
    let shown = path.display();
    let cap = units::format_size_kib((MAX_DOTENV_LEN / 1024) as u32);
    let file = std::fs::File::options()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|e| Error::io(format!("cannot read {shown}"), e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot read {shown}"), e))?;
    if !meta.is_file() {
        return Err(Error::usage(format!(
            "{shown} is not a regular file (a FIFO, device or folder); import reads a .env file"
        )));
    }
    let too_large = || {
        Error::usage(format!(
            "{shown} is larger than the {cap} a dotenv file may be; split it"
        ))
    };
    if meta.len() > MAX_DOTENV_LEN {
        return Err(too_large());
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize + 1));
    file.take(MAX_DOTENV_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("cannot read {shown}"), e))?;
    if bytes.len() as u64 > MAX_DOTENV_LEN {
        return Err(too_large());
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

/// The most warnings of one kind an import prints; past it, one line counts the rest.
const MAX_WARNINGS_SHOWN: usize = 10;

/// Warnings of one import, printed as they come up to [`MAX_WARNINGS_SHOWN`], then counted:
/// a file of a million repeated lines gets eleven lines on stderr, not a million.
#[derive(Default)]
struct Warnings {
    shown: usize,
    hidden: usize,
}

impl Warnings {
    fn warn(&mut self, message: impl std::fmt::Display) {
        if self.shown < MAX_WARNINGS_SHOWN {
            warn(message);
            self.shown += 1;
        } else {
            self.hidden += 1;
        }
    }

    fn finish(self) {
        if self.hidden > 0 {
            warn(format!(
                "{} more warning{} not shown",
                self.hidden,
                if self.hidden == 1 { "" } else { "s" }
            ));
        }
    }
}

struct Planned {
    label: Label,
    env: EnvName,
    value: SecretValue,
}

pub(super) fn import(ctx: &Context, args: ImportArgs) -> Result<()> {
    let path = &args.dotenv;
    // Named in every line below; control characters escaped (`crate::printable`).
    let shown = crate::printable::path(path);
    let text = read_dotenv(path)?;
    let parsed = dotenv::parse(&text)
        .map_err(|e| Error::usage(format!("{shown}:{}: {}", e.line, e.reason)))?;
    let mut warnings = Warnings::default();
    for w in &parsed.warnings {
        warnings.warn(format!("{shown}: {w}"));
    }
    let mut planned: Vec<Planned> = Vec::new();
    let mut labels_seen: HashMap<Label, String> = HashMap::new();
    let mut skipped = 0usize;
    let mut references = 0usize;
    for entry in &parsed.entries {
        let at = format!("{shown}:{}", entry.line);
        // `NAME=sesame://LABEL` is what `export` writes: a pointer to a secret already stored,
        // not a value. Storing the text would make a junk secret; it is skipped and counted.
        if entry.value.starts_with(REFERENCE_PREFIX) || is_bao_reference(&entry.value) {
            references += 1;
            continue;
        }
        let label = match label_for(&entry.name, args.prefix.as_deref()) {
            Ok(l) => l,
            Err(e) => {
                warnings.warn(format!("{at}: {} skipped: {e}", entry.name));
                skipped += 1;
                continue;
            }
        };
        let env = EnvName::parse(&entry.name)?;
        if loads_or_runs_code(env.as_str()) {
            warnings.warn(format!(
                "{at}: {env} skipped: it makes programs load or run code (like LD_PRELOAD, PATH \
                 or BASH_ENV), and a file never sets it; if it really is a secret, add it by \
                 hand: `sesame add {label} --env {env} --allow-loader-env`"
            ));
            skipped += 1;
            continue;
        }
        let bytes = entry.value.as_bytes();
        if bytes.is_empty() || bytes.len() > MAX_VALUE_LEN {
            warnings.warn(format!(
                "{at}: {} skipped: a value is 1 byte to 1 MiB",
                entry.name
            ));
            skipped += 1;
            continue;
        }
        if let Some(other) = labels_seen.get(&label) {
            warnings.warn(format!(
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
        warnings.finish();
        let why = if references > 0 {
            format!(
                "only references ({references} NAME=sesame://LABEL or bao:// line{}, as \
                 `export` writes them: they point at secrets, they are not values)",
                if references == 1 { "" } else { "s" }
            )
        } else {
            "no NAME=value line".to_string()
        };
        return Err(Error::usage(format!(
            "{shown} holds {why}; nothing to import"
        )));
    }
    if references > 0 {
        eprintln!(
            "Skipped {references} reference{} (NAME=sesame://LABEL or bao://, as `export` writes \
             them): they point at secrets, they are not values.",
            if references == 1 { "" } else { "s" }
        );
    }

    let unlocked = ctx.unlock()?;
    // An env name another secret already has: `run --all` would refuse the pair (as `add` warns).
    let mut env_owner: HashMap<&EnvName, &Label> = HashMap::new();
    for secret in &unlocked.vault.secrets {
        env_owner.insert(&secret.env_name, &secret.label);
    }
    for p in &planned {
        if let Some(owner) = env_owner.get(&p.env).filter(|owner| ***owner != p.label) {
            warnings.warn(format!(
                "{owner} already uses the env name {}; `run --all` refuses a selection holding \
                 both {owner} and {} (change one with `sesame edit LABEL --env NAME`)",
                p.env, p.label
            ));
        }
    }
    drop(env_owner);
    warnings.finish();
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
        let mut listed: Vec<&str> = existing.iter().take(5).map(String::as_str).collect();
        if existing.len() > 5 {
            listed.push("…");
        }
        eprintln!(
            "Skipped {} existing label{} ({}); --overwrite rotates them to the file's value.",
            existing.len(),
            if existing.len() == 1 { "" } else { "s" },
            listed.join(", ")
        );
    }
    eprintln!(
        "Imported {shown}: {added} added, {rotated} rotated, {same} unchanged, {} skipped.",
        existing.len() + skipped + references
    );
    if added + rotated > 0 {
        eprintln!(
            "The values are in the vault now; delete the plaintext file: `shred -u {shown}` (or \
             `rm`)."
        );
    }
    Ok(())
}

pub(super) fn export(ctx: &Context, args: ExportArgs) -> Result<()> {
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
            // The file name only, escaped: a newline in it would start a line of its own.
            crate::printable::printable(
                &ctx.path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )
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
            let value = crate::approval::open_value(&unlocked, secret, &secret.current)?;
            let Ok(text) = std::str::from_utf8(value.expose()) else {
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
    super::write_stdout(out.as_bytes())
}
