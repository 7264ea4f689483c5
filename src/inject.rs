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

use crate::error::{Error, Result};
use crate::input::SECRET_ENV_VARS;
use crate::names::{EnvName, Label};
use crate::openbao::reference::{self as bao, BaoRef};
use crate::secret::SecretValue;
use crate::vault::Vault;

pub const REFERENCE_PREFIX: &str = "sesame://";
/// The largest env file `--env-file` reads: far more than any list of references needs, and small
/// enough that a path to a huge or endless file (`/dev/zero`) fails at once.
pub const MAX_ENV_FILE_LEN: u64 = 1024 * 1024;

/// Variables that make a program load or run code (or change which program runs): an env file or
/// an inherited reference may not set them, since such a file is often someone else's (committed to
/// a repository) and a secret's value in one of them becomes a library path, a command or a shell
/// option. An explicit `--env NAME=LABEL` on the command line still may. Documented in
/// docs/SECURITY.md; keep the two in step.
const CODE_LOADING_PREFIXES: [&str; 4] = [
    "LD_",        // the dynamic loader: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, ...
    "DYLD_",      // macOS's loader
    "BASH_FUNC_", // bash imports these as functions
    "GIT_CONFIG", // any git setting, core.pager and core.sshCommand included
];
const CODE_LOADING_NAMES: [&str; 40] = [
    "PATH",
    "IFS",
    "ENV",
    "BASH_ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    "SHELL",
    "GCONV_PATH",
    "NODE_OPTIONS",
    "NODE_PATH",
    "PYTHONSTARTUP",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONUSERBASE",
    "PERL5OPT",
    "PERL5LIB",
    "PERLLIB",
    "PERL5DB",
    "RUBYOPT",
    "RUBYLIB",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_EXTERNAL_DIFF",
    "GIT_PAGER",
    "GIT_EDITOR",
    "GIT_ASKPASS",
    "GIT_EXEC_PATH",
    "GIT_PROXY_COMMAND",
    "GIT_TEMPLATE_DIR",
    "SSH_ASKPASS",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "LESSOPEN",
];

/// True when `name` is one of the variables env files and inherited references may not set.
pub fn loads_or_runs_code(name: &str) -> bool {
    CODE_LOADING_NAMES.contains(&name) || CODE_LOADING_PREFIXES.iter().any(|p| name.starts_with(p))
}
/// What `--clean-env` keeps from sesame's own environment.
pub const CLEAN_ENV_KEEP: [&str; 5] = ["PATH", "HOME", "USER", "LANG", "TERM"];

/// How a selected secret reaches the child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// `NAME=value`.
    Env,
    /// `NAME=/dev/fd/K`, the value in a sealed in-memory file.
    File,
}

/// Where a selection came from, in increasing precedence: when two forms name the same variable,
/// the later one in this list wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    All,
    Profile,
    Inherited,
    EnvFile,
    EnvFlag,
    FileFlag,
}

/// The selection a user asked for, before it meets the vault.
#[derive(Default)]
pub struct Selection {
    entries: Vec<(Source, EnvName, Label, String)>,
    /// `bao://MOUNT/PATH#FIELD` references (`crate::openbao`), resolved at run time.
    references: Vec<(Source, EnvName, BaoRef, String)>,
    all: bool,
    profile: Option<Label>,
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
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.references.is_empty() && !self.all && self.profile.is_none()
    }

    /// Adds one `bao://` reference, by the same rule as [`Selection::add`].
    pub fn add_reference(
        &mut self,
        source: Source,
        name: EnvName,
        reference: BaoRef,
        origin: String,
    ) -> Result<()> {
        let first = self
            .entries
            .iter()
            .find(|(s, n, _, _)| *s == source && *n == name)
            .map(|(_, _, _, o)| o)
            .or_else(|| {
                self.references
                    .iter()
                    .find(|(s, n, _, _)| *s == source && *n == name)
                    .map(|(_, _, _, o)| o)
            });
        if let Some(first) = first {
            return Err(Error::usage(format!(
                "{name} is selected twice ({first} and {origin}); keep one"
            )));
        }
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
        if let Some((_, _, _, first)) = self
            .entries
            .iter()
            .find(|(s, n, _, _)| *s == source && *n == name)
        {
            return Err(Error::usage(format!(
                "{name} is selected twice ({first} and {origin}); keep one"
            )));
        }
        self.entries.push((source, name, label, origin));
        Ok(())
    }

    pub fn select_all(&mut self) {
        self.all = true;
    }

    pub fn use_profile(&mut self, name: Label) {
        self.profile = Some(name);
    }

    /// Every inherited variable whose whole value is `sesame://LABEL`.
    pub fn add_inherited(
        &mut self,
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<()> {
        for (name, value) in vars {
            if let Some(text) = value.to_str().filter(|v| bao::is_reference(v)) {
                let name = name.to_string_lossy().into_owned();
                if let Some(env) = EnvName::inherited(&name) {
                    if loads_or_runs_code(&name) {
                        return Err(Error::usage(format!(
                            "the inherited variable {} holds a bao:// reference, but it makes \
                             programs load or run code, so only --env on the command line may set it",
                            name.escape_debug()
                        )));
                    }
                    let origin = format!("the inherited variable {name}");
                    self.add_reference(Source::Inherited, env, BaoRef::parse(text)?, origin)?;
                }
                continue;
            }
            let Some(reference) = value
                .to_str()
                .and_then(|v| v.strip_prefix(REFERENCE_PREFIX))
            else {
                continue;
            };
            let name = name.to_string_lossy().into_owned();
            let Some(env) = EnvName::inherited(&name) else {
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
            let label = Label::parse(reference)?;
            self.add(
                Source::Inherited,
                env,
                label,
                format!("the inherited variable {name}"),
            )?;
        }
        Ok(())
    }

    /// Lines `NAME=sesame://LABEL`; `#` comments, blank lines and a leading `export ` allowed.
    pub fn add_env_file(&mut self, path: &Path) -> Result<()> {
        let text = read_env_file(path)?;
        for (i, raw) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line
                .strip_prefix("export ")
                .map(str::trim_start)
                .unwrap_or(line);
            let bad = |why: &str| {
                Error::usage(format!(
                    "{at}: {why}; each line must be NAME=sesame://LABEL (comments start with #)"
                ))
            };
            let (name, value) = line.split_once('=').ok_or_else(|| bad("no `=`"))?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            if bao::is_reference(value) {
                let env = EnvName::parse(name.trim()).map_err(|e| bad(&e.to_string()))?;
                if loads_or_runs_code(env.as_str()) {
                    return Err(Error::usage(format!(
                        "{at}: {env} makes programs load or run code, so an env file may not set \
                         it; use --env {env}=... on the command line if you mean it"
                    )));
                }
                let reference = BaoRef::parse(value).map_err(|e| bad(&e.to_string()))?;
                self.add_reference(Source::EnvFile, env, reference, at)?;
                continue;
            }
            let reference = value
                .strip_prefix(REFERENCE_PREFIX)
                .ok_or_else(|| bad("the value is not a sesame:// reference"))?;
            let env = EnvName::parse(name.trim()).map_err(|e| bad(&e.to_string()))?;
            if loads_or_runs_code(env.as_str()) {
                return Err(Error::usage(format!(
                    "{at}: {env} makes programs load or run code, so an env file may not set it; \
                     use --env {env}=LABEL on the command line if you mean it"
                )));
            }
            let label = Label::parse(reference).map_err(|e| bad(&e.to_string()))?;
            self.add(Source::EnvFile, env, label, at)?;
        }
        Ok(())
    }

    /// The final choice: each variable with the label and delivery of its strongest source.
    /// `bao://` references are left out; [`Selection::resolve_with_references`] includes them.
    pub fn resolve(&self, vault: &Vault) -> Result<BTreeMap<EnvName, (Label, Delivery)>> {
        self.resolve_with_references(vault)
            .map(|(chosen, _)| chosen)
    }

    /// [`Selection::resolve`], and the variables whose strongest source is a `bao://` reference.
    pub fn resolve_with_references(&self, vault: &Vault) -> Result<Resolved> {
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
        if self.all {
            for secret in &vault.secrets {
                put(Source::All, &secret.env_name, &secret.label);
            }
        }
        if let Some(name) = &self.profile {
            let profile = vault
                .profiles
                .iter()
                .find(|p| &p.name == name)
                .ok_or_else(|| Error::ProfileNotFound {
                    name: name.to_string(),
                })?;
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
        for (_, label, _) in chosen.values() {
            vault.get(label)?;
        }
        Ok((
            chosen
                .into_iter()
                .map(|(name, (_, label, delivery))| (name, (label, delivery)))
                .collect(),
            references.into_iter().map(|(n, (_, r))| (n, r)).collect(),
        ))
    }
}

/// The secrets chosen from the vault, and the variables whose value is a `bao://` reference.
pub type Resolved = (
    BTreeMap<EnvName, (Label, Delivery)>,
    BTreeMap<EnvName, BaoRef>,
);

/// Reads an env file: a regular file (a symlink to one is fine) of at most [`MAX_ENV_FILE_LEN`].
/// The type and size are checked on the opened file, so the path cannot be swapped in between;
/// it is opened non-blocking, so a FIFO is refused instead of waiting for a writer.
fn read_env_file(path: &Path) -> Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let cannot = |e| Error::io(format!("cannot read env file {}", path.display()), e);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(Error::usage(format!(
            "env file {} is not a regular file (a device, FIFO or folder); give a file of \
             NAME=sesame://LABEL lines",
            path.display()
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

/// Removes every variable that carries a sesame passphrase or recovery code, or an OpenBao token.
pub fn scrub_env(command: &mut Command) {
    // An OpenBao token too: a child gets one only when it is selected (set after this).
    for var in SECRET_ENV_VARS
        .iter()
        .chain(&crate::openbao::TOKEN_ENV_VARS)
    {
        command.env_remove(var);
    }
}

/// Puts `value` into `command`'s environment as `name`. A NUL byte cannot be in an environment
/// variable, so such a value is refused with a message rather than truncated.
pub fn set_secret_env(command: &mut Command, name: &EnvName, value: &SecretValue) -> Result<()> {
    if value.expose().contains(&0) {
        return Err(Error::usage(format!(
            "the value for {name} contains a NUL byte, which an environment variable cannot hold; \
             use --file {name}=LABEL"
        )));
    }
    command.env(name.as_str(), OsStr::from_bytes(value.expose()));
    Ok(())
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
    set_secret_env(&mut command, name, value)?;
    command
        .status()
        .map_err(|e| Error::io("cannot start `sh` to run the command", e))
}

/// An in-memory file holding a value, sealed read-only, inherited by the child as `/dev/fd/K`.
#[cfg(target_os = "linux")]
pub struct MemFile(std::os::fd::OwnedFd);

#[cfg(target_os = "linux")]
impl MemFile {
    pub fn new(name: &EnvName, value: &SecretValue) -> Result<MemFile> {
        use rustix::fs::{MemfdFlags, SealFlags, fcntl_add_seals, memfd_create};
        use std::os::unix::fs::FileExt;
        let fail =
            |e: std::io::Error| Error::io(format!("cannot make an in-memory file for {name}"), e);
        // No MFD_CLOEXEC: the child must inherit it.
        let fd = memfd_create(format!("sesame:{name}"), MemfdFlags::ALLOW_SEALING)
            .map_err(|e| fail(e.into()))?;
        let file = std::fs::File::from(fd);
        // pwrite leaves the offset at 0, so a child reading the descriptor itself starts at the top.
        file.write_all_at(value.expose(), 0).map_err(fail)?;
        fcntl_add_seals(
            &file,
            SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL,
        )
        .map_err(|e| fail(e.into()))?;
        Ok(MemFile(file.into()))
    }

    /// `/dev/fd/K`, the path the child opens.
    pub fn path(&self) -> String {
        use std::os::fd::AsRawFd;
        format!("/dev/fd/{}", self.0.as_raw_fd())
    }
}

#[cfg(not(target_os = "linux"))]
pub struct MemFile;

#[cfg(not(target_os = "linux"))]
impl MemFile {
    pub fn new(_name: &EnvName, _value: &SecretValue) -> Result<MemFile> {
        Err(Error::Unsupported {
            what: "--file (in-memory files need Linux memfd_create); use --env",
        })
    }

    pub fn path(&self) -> String {
        String::new()
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
