//! The library's one error type, and the one place that maps it to the exit codes of the SPEC.
//!
//! Every variant carries what the user needs to act (a path, a label, close labels) and never a
//! secret value or a passphrase: messages are built from labels, paths and counts only.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in sesame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad arguments or input that breaks a documented rule.
    #[error("{0}")]
    Usage(String),

    #[error("invalid label \"{label}\": {rule}")]
    InvalidLabel { label: String, rule: &'static str },

    #[error("invalid environment variable name \"{name}\": {rule}")]
    InvalidEnvName { name: String, rule: &'static str },

    #[error("invalid profile name \"{name}\": {rule}")]
    InvalidProfileName { name: String, rule: &'static str },

    #[error("no vault at {}; create one with `sesame --vault {} init`", path.display(), path.display())]
    VaultNotFoundAt { path: PathBuf },

    #[error(
        "a secret labelled {label:?} already exists; use `sesame rotate {label}` to change its value"
    )]
    LabelExists { label: String },

    #[error("{} already exists; pass --force to replace it (its secrets will be lost)", path.display())]
    VaultExists { path: PathBuf },

    #[error(
        "no passphrase source: run `sesame unlock` on a terminal first, or use --passphrase-fd N, \
         SESAME_PASSPHRASE_FILE, SESAME_PASSPHRASE_COMMAND or SESAME_PASSPHRASE"
    )]
    NoPassphraseSource,

    #[error("no {what}: {hint}")]
    NoInput {
        what: &'static str,
        hint: &'static str,
    },

    #[error(
        "wrong passphrase for {}; try again, or set a new one with `sesame recover` and the recovery code",
        path.display()
    )]
    WrongPassphrase { path: PathBuf },

    #[error(
        "wrong recovery code for {}; use the code printed by `sesame init` or by the last `sesame rekey`",
        path.display()
    )]
    WrongRecoveryCode { path: PathBuf },

    /// A key the user gave (an age identity, an agent key) opens no slot of this vault.
    #[error("{what}; {hint}")]
    KeyRefused { what: String, hint: &'static str },

    /// A slot opened, but to a key bound to another vault or key generation: it was copied in.
    #[error(
        "a {kind} slot of {} opens, but to a key bound to another vault or an older key \
         generation (copied from another vault?): refused; remove it with `sesame slot rm N`",
        path.display()
    )]
    SlotMoved { path: PathBuf, kind: &'static str },

    /// A slot kind's own machinery failed (an age plugin, an identity file, ssh-agent).
    #[error("{what}: {reason}")]
    SlotFailed { what: String, reason: String },

    #[error(
        "{} is not a sesame vault: {reason}; check --vault / SESAME_VAULT, or restore it from a backup",
        path.display()
    )]
    NotAVault { path: PathBuf, reason: String },

    #[error(
        "{} has no {kind} slot this build can use (slot kinds: {kinds}): it was made without one, \
         or the slot is damaged; {hint}",
        path.display()
    )]
    NoSlot {
        path: PathBuf,
        kind: &'static str,
        kinds: String,
        hint: &'static str,
    },

    #[error(
        "{} asks Argon2id for {params} before its passphrase can be checked: {times} times the \
         work of the defaults (64MiB, t=3). If you chose these parameters, {how}",
        path.display()
    )]
    KdfCostNotAccepted {
        path: PathBuf,
        params: String,
        times: u64,
        how: &'static str,
    },

    #[error("{} was written by a newer sesame (format {version}); upgrade sesame to open it", path.display())]
    NewerFormat { path: PathBuf, version: u16 },

    #[error(
        "{} failed authentication: it was changed or damaged after it was written; \
         restore it from a backup",
        path.display()
    )]
    Tampered { path: PathBuf },

    #[error("no vault at {}; create one with `sesame init`", path.display())]
    VaultNotFound { path: PathBuf },

    #[error("no secret labelled {label:?}{}", suggestion(suggestions))]
    LabelNotFound {
        label: String,
        suggestions: Vec<String>,
    },

    #[error("{label:?} has no version {version}; `sesame history {label}` lists its versions")]
    VersionNotFound { label: String, version: u32 },

    #[error(
        "vault {} is busy: another sesame has held its lock for {waited_secs} s; try again",
        path.display()
    )]
    Busy { path: PathBuf, waited_secs: u64 },

    #[error(
        "{} was replaced or rekeyed by another sesame while this one was working; run the command again",
        path.display()
    )]
    VaultChanged { path: PathBuf },

    #[error(
        "the verify command rejected the new value for {label:?}: it {status}; nothing was changed"
    )]
    Verification { label: String, status: String },

    #[error("no profile named {name:?}; `sesame profile list` shows them")]
    ProfileNotFound { name: String },

    #[error("cannot run {program:?}: {reason}")]
    CommandNotStarted {
        program: String,
        reason: String,
        code: u8,
    },

    #[error("the agent could not be used: {0}")]
    AgentUnavailable(String),

    #[error("{what} is not supported on this platform")]
    Unsupported { what: &'static str },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    #[error("the operating system's random number generator failed")]
    Random,

    #[error("key derivation failed: {0}")]
    Kdf(String),

    #[error("cannot reach OpenBao at {addr}: {reason}; check BAO_ADDR and that the server is up")]
    BaoUnreachable { addr: String, reason: String },

    #[error(
        "OpenBao at {addr} refused the token for {what} ({reason}); check the token and its \
         policy (`bao token lookup`), or log in again"
    )]
    BaoRefused {
        addr: String,
        what: String,
        reason: String,
    },

    #[error("{what} does not exist on OpenBao at {addr}; check the mount, path and field")]
    BaoNotFound { addr: String, what: String },

    #[error(
        "the key slot names the OpenBao mount {mount:?}, which is not one sesame may use for \
         Transit ({allowed}); a slot could otherwise make sesame send requests to any mount. If \
         {mount:?} really is a Transit mount, add it to SESAME_BAO_TRANSIT_MOUNTS (comma-separated)"
    )]
    BaoMountNotAllowed { mount: String, allowed: String },

    #[error("OpenBao at {addr} answered {status} for {what}: {reason}")]
    Bao {
        addr: String,
        what: String,
        status: u16,
        reason: String,
    },
}

fn suggestion(suggestions: &[String]) -> String {
    match suggestions {
        [] => "; `sesame list` shows the labels".to_string(),
        [one] => format!("; did you mean {one:?}?"),
        many => format!(
            "; did you mean one of {}?",
            many.iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Error {
    /// The process exit code the SPEC assigns to this error. The codes that report a result
    /// rather than an error — 10 (`check`: a rotation is overdue) and 11 (`scan`: a stored value
    /// was found) — are returned by those commands as `Ok`, never through an `Error`.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_)
            | Error::InvalidLabel { .. }
            | Error::InvalidEnvName { .. }
            | Error::InvalidProfileName { .. }
            | Error::LabelExists { .. }
            | Error::VaultExists { .. }
            | Error::NoPassphraseSource
            | Error::KdfCostNotAccepted { .. }
            | Error::NoInput { .. } => 2,
            Error::WrongPassphrase { .. }
            | Error::WrongRecoveryCode { .. }
            | Error::BaoRefused { .. }
            | Error::KeyRefused { .. } => 3,
            Error::NotAVault { .. }
            | Error::SlotMoved { .. }
            | Error::NoSlot { .. }
            | Error::NewerFormat { .. }
            | Error::Tampered { .. } => 4,
            Error::VaultNotFound { .. }
            | Error::VaultNotFoundAt { .. }
            | Error::LabelNotFound { .. }
            | Error::VersionNotFound { .. }
            | Error::ProfileNotFound { .. }
            | Error::BaoNotFound { .. } => 5,
            Error::CommandNotStarted { code, .. } => *code,
            Error::Busy { .. } => 6,
            Error::Io { .. }
            | Error::Unsupported { .. }
            | Error::AgentUnavailable(_)
            | Error::Verification { .. }
            | Error::VaultChanged { .. }
            | Error::Random
            | Error::Kdf(_)
            | Error::BaoUnreachable { .. }
            | Error::SlotFailed { .. }
            | Error::Bao { .. } => 1,
            Error::BaoMountNotAllowed { .. } => 2,
        }
    }

    /// Wraps an I/O error with what sesame was doing.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
