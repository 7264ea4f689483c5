//! Handing secrets to child processes (`run`, `rotate --verify`): which secrets a child gets, how
//! they reach it (environment variables, or in-memory files on Linux), and how it is started.
//!
//! Values go only into the child's environment or a sealed memfd, never onto a command line, and
//! sesame's own passphrase variables never reach a child.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::rc::Rc;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::input::SECRET_ENV_VARS;
use crate::names::{EnvName, Label};
use crate::openbao::reference::{self as bao, BaoRef};
use crate::secret::SecretValue;
use crate::template::Template;
use crate::vault::Vault;

pub mod child;
mod env_file;

pub use env_file::{EnvFileValue, MAX_ENV_FILE_LEN, format_env_file};

pub use crate::names::REFERENCE_PREFIX;
mod loader;
pub use loader::{check_stored_env_name, loads_or_runs_code};

/// What `--clean-env` keeps from sesame's own environment.
pub const CLEAN_ENV_KEEP: [&str; 5] = ["PATH", "HOME", "USER", "LANG", "TERM"];

/// How a selected secret reaches the child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// `NAME=value`.
    Env,
    /// `NAME=/proc/PID/fd/K`, the value in a sealed in-memory file.
    File,
}

/// Where a selection came from, in increasing precedence: when two forms name the same variable,
/// the later one in this list wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// `run --all`: every secret under its own variable name.
    All,
    /// `run --profile NAME`: the profile's bindings.
    Profile,
    /// A variable of sesame's own environment whose value is `sesame://LABEL`.
    Inherited,
    /// `run --env-file FILE`: its `sesame://` and `bao://` references.
    EnvFile,
    /// `run --env NAME=LABEL`.
    EnvFlag,
    /// `run --file NAME=LABEL`: the value in an in-memory file.
    FileFlag,
}

/// The selection a user asked for, before it meets the vault.
#[derive(Default)]
pub struct Selection {
    entries: Vec<(Source, EnvName, Label, String)>,
    /// `bao://MOUNT/PATH#FIELD` references (`crate::openbao`), resolved at run time.
    references: Vec<(Source, EnvName, BaoRef, String)>,
    /// `run --template NAME=TEMPLATE`: rendered into an in-memory file, as strong as `--file`.
    templates: Vec<(EnvName, Rc<Template>, String)>,
    /// Plain values from env files (`LOG_LEVEL=debug`), passed through as written.
    plain: Vec<(EnvName, Zeroizing<String>)>,
    /// Things worth a warning that did not stop the run (a duplicate in an env file, an inherited
    /// `sesame://` value that names no label).
    warnings: Vec<String>,
    all: bool,
    profile: Option<Label>,
    /// `run --allow-loader-env`: `--all` and `--profile` may set variables that load or run code.
    allow_loader_env: bool,
}

/// Parses `NAME=LABEL`.
pub fn parse_binding(text: &str, flag: &str) -> Result<(EnvName, Label)> {
    let (name, label) = text.split_once('=').ok_or_else(|| {
        Error::usage(format!(
            "{flag} takes NAME=LABEL (e.g. OPENAI_API_KEY=openai/prod), got {text:?}"
        ))
    })?;
    Ok((EnvName::parse(name)?, Label::parse(label)?))
}

impl Selection {
    /// Whether nothing at all was selected (no secret, reference, plain value, `--all` or profile).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
            && self.references.is_empty()
            && self.plain.is_empty()
            && self.templates.is_empty()
            && !self.all
            && self.profile.is_none()
    }

    /// What the selection noticed without refusing it; the caller prints these.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Adds one `bao://` reference, by the same rule as [`Selection::add`].
    pub fn add_reference(
        &mut self,
        source: Source,
        name: EnvName,
        reference: BaoRef,
        origin: String,
    ) -> Result<()> {
        self.refuse_twice(source, &name, &origin)?;
        self.references.push((source, name, reference, origin));
        Ok(())
    }

    /// Adds one binding; the same variable twice within one form is ambiguous and refused.
    pub fn add(
        &mut self,
        source: Source,
        name: EnvName,
        label: Label,
        origin: String,
    ) -> Result<()> {
        self.refuse_twice(source, &name, &origin)?;
        self.entries.push((source, name, label, origin));
        Ok(())
    }

    /// Adds one `--template NAME=TEMPLATE`: the rendered template goes into an in-memory file,
    /// as `--file` puts a value there, and the two forms may not name one variable.
    pub(crate) fn add_template(
        &mut self,
        name: EnvName,
        template: Template,
        origin: String,
    ) -> Result<()> {
        self.refuse_twice(Source::FileFlag, &name, &origin)?;
        self.templates.push((name, Rc::new(template), origin));
        Ok(())
    }

    /// The same variable twice within one form (as a label or a `bao://` reference, in either
    /// order) is ambiguous: refused, naming both.
    fn refuse_twice(&self, source: Source, name: &EnvName, origin: &str) -> Result<()> {
        let first = self
            .entries
            .iter()
            .map(|(s, n, _, o)| (s, n, o))
            .chain(self.references.iter().map(|(s, n, _, o)| (s, n, o)))
            .chain(
                self.templates
                    .iter()
                    .map(|(n, _, o)| (&Source::FileFlag, n, o)),
            )
            .find(|(s, n, _)| **s == source && *n == name);
        match first {
            Some((_, _, first)) => Err(Error::usage(format!(
                "{name} is selected twice ({first} and {origin}); keep one"
            ))),
            None => Ok(()),
        }
    }

    /// `--all`: select every secret under its own variable name.
    pub(crate) fn select_all(&mut self) {
        self.all = true;
    }

    /// `--profile NAME`: select the bindings of the profile `name`.
    pub(crate) fn use_profile(&mut self, name: Label) {
        self.profile = Some(name);
    }

    /// Lets `--all` and `--profile` set variables that make programs load or run code (`run
    /// --allow-loader-env`); without it such a secret is refused with its label named.
    pub fn allow_loader_env(&mut self) {
        self.allow_loader_env = true;
    }

    /// Every inherited variable whose whole value is a reference. The rule is exact: a value
    /// `sesame://` followed by a valid label (or a valid `bao://MOUNT/PATH#FIELD`) is replaced by
    /// that secret; any other value that merely starts like one (`DOC='sesame://see the wiki'`)
    /// is left to the child as it is, with a warning naming the variable.
    pub fn add_inherited(
        &mut self,
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<()> {
        for (name, value) in vars {
            let Some(text) = value.to_str() else {
                continue;
            };
            let is_bao = bao::is_reference(text);
            let Some(reference) = text.strip_prefix(REFERENCE_PREFIX) else {
                if !is_bao {
                    continue;
                }
                // bao:// below
                let name = name.to_string_lossy().into_owned();
                let Some(env) = EnvName::inherited(&name) else {
                    continue;
                };
                let Ok(parsed) = BaoRef::parse(text) else {
                    self.warnings.push(format!(
                        "the inherited variable {} starts with bao:// but is not a reference \
                         (bao://MOUNT/PATH#FIELD); it is passed on as it is",
                        name.escape_debug()
                    ));
                    continue;
                };
                if loads_or_runs_code(&name) {
                    return Err(Error::usage(format!(
                        "the inherited variable {} holds a bao:// reference, but it makes \
                         programs load or run code, so only --env on the command line may set it",
                        name.escape_debug()
                    )));
                }
                let origin = format!("the inherited variable {name}");
                self.add_reference(Source::Inherited, env, parsed, origin)?;
                continue;
            };
            let name = name.to_string_lossy().into_owned();
            let Some(env) = EnvName::inherited(&name) else {
                continue;
            };
            let Ok(label) = Label::parse(reference) else {
                self.warnings.push(format!(
                    "the inherited variable {} starts with sesame:// but what follows is not a \
                     label, so it is passed on as it is (a reference is the whole value \
                     sesame://LABEL)",
                    name.escape_debug()
                ));
                continue;
            };
            if loads_or_runs_code(&name) {
                return Err(Error::usage(format!(
                    "the inherited variable {} holds a sesame:// reference, but {} makes programs \
                     load or run code, so only --env {}=LABEL on the command line may set it",
                    name.escape_debug(),
                    name.escape_debug(),
                    name.escape_debug()
                )));
            }
            self.add(
                Source::Inherited,
                env,
                label,
                format!("the inherited variable {name}"),
            )?;
        }
        Ok(())
    }

    /// Everything the child gets: secrets, `bao://` references and plain env-file values, each
    /// variable from its strongest source. Two secrets claiming one variable under `--all` (with
    /// no stronger form naming it) is ambiguous and refused.
    pub fn resolve_everything(&self, vault: &Vault) -> Result<Chosen> {
        let mut chosen: BTreeMap<EnvName, (Source, Label, Delivery)> = BTreeMap::new();
        let mut put = |source: Source, name: &EnvName, label: &Label| {
            let delivery = if source == Source::FileFlag {
                Delivery::File
            } else {
                Delivery::Env
            };
            match chosen.get(name) {
                Some((existing, _, _)) if *existing > source => {}
                _ => {
                    chosen.insert(name.clone(), (source, label.clone(), delivery));
                }
            }
        };
        let mut claimed: BTreeMap<&EnvName, &Label> = BTreeMap::new();
        let mut collisions: Vec<(&EnvName, &Label, &Label)> = Vec::new();
        if self.all {
            for secret in &vault.secrets {
                if let Some(first) = claimed.insert(&secret.env_name, &secret.label) {
                    collisions.push((&secret.env_name, first, &secret.label));
                }
                put(Source::All, &secret.env_name, &secret.label);
            }
        }
        if let Some(name) = &self.profile {
            let profile = vault
                .profiles
                .iter()
                .find(|p| &p.name == name)
                .ok_or_else(|| vault.profile_not_found(name.as_str()))?;
            for binding in &profile.bindings {
                put(Source::Profile, &binding.env_name, &binding.label);
            }
        }
        let mut ordered: Vec<_> = self.entries.iter().collect();
        ordered.sort_by_key(|(source, ..)| *source);
        for (source, name, label, _) in ordered {
            put(*source, name, label);
        }
        // A reference wins over a label of a weaker source, and loses to a stronger one.
        let mut references: BTreeMap<EnvName, (Source, BaoRef)> = BTreeMap::new();
        let mut by_source: Vec<_> = self.references.iter().collect();
        by_source.sort_by_key(|(source, ..)| *source);
        for (source, name, reference, _) in by_source {
            if chosen.get(name).is_some_and(|(s, _, _)| s > source) {
                continue;
            }
            chosen.remove(name);
            references.insert(name.clone(), (*source, reference.clone()));
        }
        // Plain env-file values: as strong as the env file's references.
        let mut plain = BTreeMap::new();
        for (name, value) in &self.plain {
            if chosen
                .get(name)
                .is_some_and(|(s, _, _)| *s > Source::EnvFile)
                || references
                    .get(name)
                    .is_some_and(|(s, _)| *s > Source::EnvFile)
            {
                continue;
            }
            chosen.remove(name);
            references.remove(name);
            plain.insert(name.clone(), value.clone());
        }
        // A template is as strong as --file: it takes its variable from every other form.
        let mut templates = Vec::new();
        for (name, template, _) in &self.templates {
            chosen.remove(name);
            references.remove(name);
            plain.remove(name);
            template.check_labels(vault)?;
            templates.push((name.clone(), Rc::clone(template)));
        }
        for (name, first, second) in collisions {
            if chosen.get(name).is_some_and(|(s, _, _)| *s == Source::All) {
                return Err(Error::usage(format!(
                    "--all selects two secrets for {name}: {first} and {second}; give one of them \
                     another name (`sesame edit {second} --env NAME`), or choose with --env \
                     {name}=LABEL"
                )));
            }
        }
        for (name, (source, label, _)) in &chosen {
            vault.get(label).map_err(|e| {
                // A label from an env file is named with its FILE:LINE, as its other errors are.
                let origin = self.entries.iter().find(|(s, n, l, _)| {
                    *s == Source::EnvFile && s == source && n == name && l == label
                });
                match origin {
                    Some((.., at)) => Error::At {
                        at: at.clone(),
                        error: Box::new(e),
                    },
                    None => e,
                }
            })?;
            if matches!(source, Source::All | Source::Profile)
                && !self.allow_loader_env
                && loads_or_runs_code(name.as_str())
            {
                let (form, owner) = match (source, &self.profile) {
                    (Source::Profile, Some(p)) => ("--profile", format!("the profile {p} binds")),
                    _ => ("--all", format!("the secret {label} has the env name")),
                };
                return Err(Error::usage(format!(
                    "{owner} {name}, which makes programs load or run code (like LD_PRELOAD, \
                     PATH or BASH_ENV), so {form} does not set it. Name it on the command line \
                     (--env {name}={label}), give the secret another name (`sesame edit {label} \
                     --env NAME`), or pass --allow-loader-env to run"
                )));
            }
        }
        let only_all = chosen
            .iter()
            .filter(|(_, (source, _, _))| *source == Source::All)
            .map(|(name, _)| name.clone())
            .collect();
        Ok(Chosen {
            only_all,
            secrets: chosen
                .into_iter()
                .map(|(name, (_, label, delivery))| (name, (label, delivery)))
                .collect(),
            references: references.into_iter().map(|(n, (_, r))| (n, r)).collect(),
            plain,
            templates,
        })
    }
}

/// What a child gets, by variable name.
pub struct Chosen {
    /// Secrets from the vault, and how each is delivered.
    pub secrets: BTreeMap<EnvName, (Label, Delivery)>,
    /// Variables whose value is a `bao://` reference, read at run time.
    pub references: BTreeMap<EnvName, BaoRef>,
    /// Plain values from env files, passed through as written.
    pub plain: BTreeMap<EnvName, Zeroizing<String>>,
    /// The secrets' variables that only `--all` chose (no other form named them).
    pub only_all: std::collections::BTreeSet<EnvName>,
    /// `--template` variables: each template is rendered into an in-memory file.
    pub(crate) templates: Vec<(EnvName, Rc<Template>)>,
}

impl Chosen {
    /// Every `bao://` field the child needs, in variables and in templates: what to read from
    /// OpenBao before the child is assembled.
    pub fn bao_references(&self) -> Vec<&BaoRef> {
        let mut refs: Vec<&BaoRef> = self.references.values().collect();
        for (_, template) in &self.templates {
            refs.extend(template.bao_references());
        }
        refs
    }
}

/// Removes every variable that carries a sesame passphrase or recovery code, or an OpenBao token
/// or login credential (`BAO_JWT`, `BAO_SECRET_ID`).
pub fn scrub_env(command: &mut Command) {
    // An OpenBao token or login credential too: a child gets one only when it is selected (set
    // after this).
    for var in SECRET_ENV_VARS
        .iter()
        .chain(&crate::openbao::CREDENTIAL_ENV_VARS)
    {
        command.env_remove(var);
    }
}

/// The longest `NAME=value` string Linux lets into a program's environment (`MAX_ARG_STRLEN`,
/// 32 pages, the terminating NUL included): `execve` fails with E2BIG ("Argument list too long")
/// past it, however small the rest of the environment.
pub const MAX_ENV_STRING: usize = 32 * 4096;

/// Puts `value` into `command`'s environment as `name`. A value an environment variable cannot
/// carry (a NUL byte; longer than [`MAX_ENV_STRING`]) is refused with a message naming `label`
/// and suggesting `--file`, rather than truncated or left to fail as "not executable".
pub fn set_secret_env(
    command: &mut Command,
    name: &EnvName,
    label: &str,
    value: &SecretValue,
) -> Result<()> {
    if value.expose().contains(&0) {
        return Err(Error::usage(format!(
            "the value of {label} contains a NUL byte, which an environment variable cannot hold; \
             use --file {name}={label} (the command then reads it from a file)"
        )));
    }
    if name.as_str().len() + 1 + value.len() + 1 > MAX_ENV_STRING {
        return Err(Error::usage(format!(
            "the value of {label} ({}) is too large for an environment variable: a program's \
             environment holds at most {} KiB per variable, so the command could not be started \
             (\"Argument list too long\"); use --file {name}={label}, which gives the command the \
             path of an in-memory file holding the value",
            crate::units::format_size_kib(
                u32::try_from(value.len().div_ceil(1024)).unwrap_or(u32::MAX)
            ),
            MAX_ENV_STRING / 1024
        )));
    }
    command.env(name.as_str(), OsStr::from_bytes(value.expose()));
    Ok(())
}

/// Checks, the way `execvp` searches, that `program` names an executable file: through `PATH`
/// (`path`, the child's) when it has no `/`. Run before a use is recorded, so a command that
/// cannot start is never logged; a file changed between this check and the start can still fail
/// then (reported the same way, after the record).
pub fn check_program(program: &OsStr, path: Option<&OsStr>) -> Result<()> {
    use rustix::fs::{Access, access};
    let executable = |p: &Path| -> std::io::Result<()> {
        let meta = std::fs::metadata(p)?;
        if meta.is_dir() {
            return Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        }
        access(p, Access::EXEC_OK).map_err(std::io::Error::from)
    };
    if program.as_bytes().contains(&b'/') {
        return executable(Path::new(program)).map_err(|e| start_error(program, e));
    }
    let path = path.unwrap_or(OsStr::new("/usr/local/bin:/usr/bin:/bin"));
    let mut denied = None;
    for dir in path.as_bytes().split(|&b| b == b':') {
        let dir = if dir.is_empty() { b".".as_slice() } else { dir };
        let candidate = Path::new(OsStr::from_bytes(dir)).join(program);
        match executable(&candidate) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => denied = Some(e),
            Err(_) => {}
        }
    }
    Err(start_error(
        program,
        denied.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound)),
    ))
}

/// Starts the environment from nothing but `PATH`, `HOME`, `USER`, `LANG` and `TERM`.
pub fn clean_env(command: &mut Command) {
    command.env_clear();
    for var in CLEAN_ENV_KEEP {
        if let Some(value) = std::env::var_os(var) {
            command.env(var, value);
        }
    }
}

/// Runs `script` with `sh -c`, inheriting the terminal, with `value` in the variable `name`.
pub fn run_with_secret(script: &str, name: &EnvName, value: &SecretValue) -> Result<ExitStatus> {
    let mut command = Command::new("sh");
    command.arg("-c").arg(script);
    scrub_env(&mut command);
    set_secret_env(&mut command, name, name.as_str(), value)?;
    command
        .status()
        .map_err(|e| Error::io("cannot start `sh` to run the command", e))
}

/// An in-memory file holding a value, sealed read-only, inherited by the child as descriptor K
/// (`crate::sys::sealed_memfd`: Linux; elsewhere `--file` says it is not available).
pub struct MemFile(std::os::fd::OwnedFd);

impl MemFile {
    /// A sealed in-memory file named after `name` holding `value`; `Unsupported` without memfd.
    pub(crate) fn new(name: &EnvName, value: &SecretValue) -> Result<MemFile> {
        if !crate::sys::HAS_MEMFD {
            return Err(Error::Unsupported {
                what: "--file (in-memory files need Linux memfd_create); use --env",
            });
        }
        crate::sys::sealed_memfd(name.as_str(), value.expose())
            .map(MemFile)
            .map_err(|e| Error::io(format!("cannot make an in-memory file for {name}"), e))
    }

    /// The descriptor number the child inherits.
    pub fn fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.0.as_raw_fd()
    }

    /// `/proc/PID/fd/K`, the path the child and its descendants open, where PID is the process
    /// that holds descriptor K open: the child (see `docs/SECURITY.md`, "--file").
    pub fn path_in(&self, pid: u32) -> String {
        format!("/proc/{pid}/fd/{}", self.fd())
    }
}

/// Maps a failure to start `program` to the SPEC's 127 (not found) and 126 (not executable).
pub fn start_error(program: &OsStr, e: std::io::Error) -> Error {
    let program = program.to_string_lossy().into_owned();
    match e.kind() {
        std::io::ErrorKind::NotFound => Error::CommandNotStarted {
            program,
            reason: "command not found".into(),
            code: 127,
        },
        std::io::ErrorKind::PermissionDenied => Error::CommandNotStarted {
            program,
            reason: "permission denied (not executable)".into(),
            code: 126,
        },
        _ => Error::CommandNotStarted {
            program,
            reason: e.to_string(),
            code: 126,
        },
    }
}

/// The exit code a shell would report for the child's status: its code, or 128+N for signal N.
pub fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xFF).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + (signal & 0x7F)).unwrap_or(255),
        _ => 1,
    }
}
