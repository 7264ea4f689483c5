//! `run --env-file`: reading env files into a [`Selection`], and writing bindings back as one.

use std::collections::BTreeMap;
use std::path::Path;

use zeroize::Zeroizing;

use super::{REFERENCE_PREFIX, Selection, Source, loads_or_runs_code};
use crate::error::{Error, Result};
use crate::names::{EnvName, Label};
use crate::openbao::reference::{self as bao, BaoRef};

/// The largest env file `--env-file` reads: far more than any list of references needs, and small
/// enough that a path to a huge or endless file (`/dev/zero`) fails at once.
pub const MAX_ENV_FILE_LEN: u64 = 1024 * 1024;

/// What an env file sets one variable to. No `Debug`: a plain value may be a secret.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum EnvFileValue<'a> {
    /// `sesame://LABEL`.
    Secret(&'a Label),
    /// `bao://MOUNT/PATH#FIELD`.
    Bao(&'a BaoRef),
    /// Anything else, passed to the child as written.
    Plain(&'a str),
}

/// An env file that [`Selection::add_env_text`] reads back as `bindings`: one `NAME=value` line
/// each, quoted by [`crate::dotenv::format_entry`] (what `export --dotenv` writes).
pub fn format_env_file<'a>(
    bindings: impl IntoIterator<Item = (&'a EnvName, EnvFileValue<'a>)>,
) -> Zeroizing<String> {
    let lines: Vec<Zeroizing<String>> = bindings
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                EnvFileValue::Secret(label) => Zeroizing::new(format!("{REFERENCE_PREFIX}{label}")),
                EnvFileValue::Bao(reference) => Zeroizing::new(reference.to_string()),
                EnvFileValue::Plain(value) => Zeroizing::new(value.to_string()),
            };
            crate::dotenv::format_entry(name.as_str(), &value)
        })
        .collect();
    // Allocated at its final size: growing it would leave copies of the earlier lines behind.
    let mut text = Zeroizing::new(String::with_capacity(
        lines.iter().map(|l| l.len() + 1).sum(),
    ));
    for line in &lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

impl Selection {
    /// Reads one env file in the dotenv dialect of [`crate::dotenv`] (BOM, CRLF, comments,
    /// `export`, quotes, multi-line quoted values). A value `sesame://LABEL` or `bao://…` is a
    /// reference; any other value passes through as written. A later file overrides an earlier
    /// one; a name twice within one file keeps the last with a warning.
    pub fn add_env_file(&mut self, path: &Path) -> Result<()> {
        let text = Zeroizing::new(read_env_file(path)?);
        self.add_env_text(&text, &path.display().to_string())
    }

    /// [`Selection::add_env_file`] on a file's text; `file` names it in messages (`FILE:LINE`).
    pub fn add_env_text(&mut self, text: &str, file: &str) -> Result<()> {
        let at = |line: usize| format!("{file}:{line}");
        let parsed = crate::dotenv::parse(text)
            .map_err(|e| Error::usage(format!("{}: {}", at(e.line), e.reason)))?;
        for w in parsed.warnings {
            self.warnings.push(format!("env file {file}, {w}"));
        }
        for entry in parsed.entries {
            let origin = at(entry.line);
            let env =
                EnvName::parse(&entry.name).map_err(|e| Error::usage(format!("{origin}: {e}")))?;
            if loads_or_runs_code(env.as_str()) {
                return Err(Error::usage(format!(
                    "{origin}: {env} makes programs load or run code, so an env file may not set \
                     it; use --env {env}=LABEL on the command line if you mean it"
                )));
            }
            // A later file overrides an earlier one.
            self.entries
                .retain(|(s, n, _, _)| !(*s == Source::EnvFile && *n == env));
            self.references
                .retain(|(s, n, _, _)| !(*s == Source::EnvFile && *n == env));
            self.plain.retain(|(n, _)| *n != env);
            let value: &str = &entry.value;
            if bao::is_reference(value) {
                let reference =
                    BaoRef::parse(value).map_err(|e| Error::usage(format!("{origin}: {e}")))?;
                self.add_reference(Source::EnvFile, env, reference, origin)?;
            } else if let Some(label) = value.strip_prefix(REFERENCE_PREFIX) {
                let label = Label::parse(label).map_err(|e| {
                    Error::usage(format!(
                        "{origin}: {e}; a sesame:// value must be a reference to a label"
                    ))
                })?;
                self.add(Source::EnvFile, env, label, origin)?;
            } else {
                self.plain.push((env, entry.value));
            }
        }
        Ok(())
    }

    /// What the env files read so far set, by variable: the bindings [`format_env_file`] writes.
    pub fn env_file_bindings(&self) -> BTreeMap<&EnvName, EnvFileValue<'_>> {
        let mut out = BTreeMap::new();
        for (_, name, label, _) in self.entries.iter().filter(|e| e.0 == Source::EnvFile) {
            out.insert(name, EnvFileValue::Secret(label));
        }
        for (_, name, reference, _) in self.references.iter().filter(|r| r.0 == Source::EnvFile) {
            out.insert(name, EnvFileValue::Bao(reference));
        }
        for (name, value) in &self.plain {
            out.insert(name, EnvFileValue::Plain(value));
        }
        out
    }
}

/// Reads an env file: a regular file (a symlink to one is fine) of at most [`MAX_ENV_FILE_LEN`].
/// The type and size are checked on the opened file, so the path cannot be swapped in between;
/// it is opened non-blocking, so a FIFO is refused instead of waiting for a writer.
fn read_env_file(path: &Path) -> Result<String> {
    use std::io::Read;
    let cannot = |e| Error::io(format!("cannot read env file {}", path.display()), e);
    let (file, meta) = crate::store::open_for_reading(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(Error::usage(format!(
            "env file {} is not a regular file (a device, FIFO or folder); give a file of \
             NAME=sesame://LABEL lines",
            path.display()
        )));
    }
    if crate::scan::open::is_kernel_file(&file) {
        return Err(Error::usage(format!(
            "env file {} is {}, not a file of NAME=sesame://LABEL lines",
            path.display(),
            crate::scan::open::KERNEL_FILE
        )));
    }
    let too_big = || {
        Error::usage(format!(
            "env file {} is larger than 1 MiB, the most an env file may be; it should hold only \
             NAME=sesame://LABEL lines",
            path.display()
        ))
    };
    if meta.len() > MAX_ENV_FILE_LEN {
        return Err(too_big());
    }
    let mut text = String::new();
    // One byte past the limit: a file that grew after the check is refused, not cut short.
    file.take(MAX_ENV_FILE_LEN + 1)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    if text.len() as u64 > MAX_ENV_FILE_LEN {
        return Err(too_big());
    }
    Ok(text)
}
