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
    /// Bad arguments or input that breaks a documented rule (exit code 2).
    #[error("{0}")]
    Usage(String),

    /// A secret label breaks the label rules (`docs/CLI.md`); exit code 2.
    #[error("invalid label \"{label}\": {rule}")]
    InvalidLabel {
        /// The label as the user typed it, e.g. `openai/prod`.
        label: String,
        /// The rule it breaks, in words.
        rule: &'static str,
    },

    /// An environment variable name breaks the naming rules; exit code 2.
    #[error("invalid environment variable name \"{name}\": {rule}")]
    InvalidEnvName {
        /// The name as given, e.g. `OPENAI_API_KEY`.
        name: String,
        /// The rule it breaks.
        rule: &'static str,
    },

    /// A profile name breaks the label rules; exit code 2.
    #[error("invalid profile name \"{name}\": {rule}")]
    InvalidProfileName {
        /// The profile name as given, e.g. `dev`.
        name: String,
        /// The rule it breaks.
        rule: &'static str,
    },

    /// The vault named with --vault (or `SESAME_VAULT`) does not exist; exit code 5.
    #[error("no vault at {}; create one with `sesame --vault {} init`", path.display(), path.display())]
    VaultNotFoundAt {
        /// The vault file that was looked for.
        path: PathBuf,
    },

    /// `add` (or an import) met a label the vault already holds; exit code 2.
    #[error(
        "a secret labelled {label:?} already exists; use `sesame rotate {label}` to change its value"
    )]
    LabelExists {
        /// The label already in use.
        label: String,
    },

    /// `init` would overwrite an existing vault without --force; exit code 2.
    #[error("{} already exists; pass --force to replace it (its secrets will be lost)", path.display())]
    VaultExists {
        /// The vault file that already exists.
        path: PathBuf,
    },

    /// A passphrase is needed but there is no terminal and no passphrase source; exit code 2.
    #[error(
        "no passphrase source: run `sesame unlock` on a terminal first, or use --passphrase-fd N, \
         SESAME_PASSPHRASE_FILE, SESAME_PASSPHRASE_COMMAND or SESAME_PASSPHRASE"
    )]
    NoPassphraseSource,

    /// A credential helper (git, docker) found the vault locked and no passphrase source: it
    /// never asks, since its tool gives it no terminal; exit code 1.
    #[error(
        "{} is locked and no passphrase source is set; run `sesame unlock` on a terminal, then \
         try again (credential helpers never ask for the passphrase)",
        path.display()
    )]
    Locked {
        /// The vault.
        path: PathBuf,
    },

    /// An input the command needs (a value, a recovery code) has no source; exit code 2.
    #[error("no {what}: {hint}")]
    NoInput {
        /// What was missing, e.g. "value".
        what: &'static str,
        /// How to provide it, e.g. which flag or file descriptor to use.
        hint: &'static str,
    },

    /// No passphrase slot of the vault opens with the passphrase given; exit code 3.
    #[error(
        "wrong passphrase for {}; try again, or set a new one with `sesame recover` and the recovery code",
        path.display()
    )]
    WrongPassphrase {
        /// The vault the passphrase was tried on.
        path: PathBuf,
    },

    /// The recovery code does not open the vault's recovery slot; exit code 3.
    #[error(
        "wrong recovery code for {}; use the code printed by `sesame init` or by the last `sesame rekey`",
        path.display()
    )]
    WrongRecoveryCode {
        /// The vault the code was tried on.
        path: PathBuf,
    },

    /// A key the user gave (an age identity, an agent key) opens no slot of this vault; exit 3.
    #[error("{what}; {hint}")]
    KeyRefused {
        /// What was refused, e.g. `the age identity ~/.age/key.txt opens no age slot`.
        what: String,
        /// What to try next.
        hint: &'static str,
    },

    /// A slot opened, but to a key bound to another vault or key generation: it was copied in;
    /// exit 4.
    #[error(
        "a {kind} slot of {} opens, but to a key bound to another vault or an older key \
         generation (copied from another vault?): refused; remove it with `sesame slot rm N`",
        path.display()
    )]
    SlotMoved {
        /// The vault.
        path: PathBuf,
        /// The slot's kind name, e.g. `age`.
        kind: &'static str,
    },

    /// A slot kind's own machinery failed (an age plugin, an identity file, ssh-agent); exit 1.
    #[error("{what}: {reason}")]
    SlotFailed {
        /// What failed, e.g. `the age plugin age-plugin-yubikey`.
        what: String,
        /// Why, as it said.
        reason: String,
    },

    /// The file does not parse as a vault (bad magic, header or slot table); exit code 4.
    #[error(
        "{} is not a sesame vault: {reason}; check --vault / SESAME_VAULT, or restore it from a backup",
        path.display()
    )]
    NotAVault {
        /// The file that was read.
        path: PathBuf,
        /// What in the file breaks `docs/FORMAT.md`.
        reason: String,
    },

    /// The vault has no key slot of the kind asked for that this build can open; exit code 4.
    #[error(
        "{} has no {kind} slot this build can use (slot kinds: {kinds}): it was made without one, \
         or the slot is damaged; {hint}",
        path.display()
    )]
    NoSlot {
        /// The vault whose slots were searched.
        path: PathBuf,
        /// The slot kind wanted, e.g. "passphrase".
        kind: &'static str,
        /// The kind numbers of the slots the vault does have, e.g. `1, 3`.
        kinds: String,
        /// What the user can do instead.
        hint: &'static str,
    },

    /// The file's Argon2id parameters cost more than sesame will spend unasked; exit code 2.
    #[error(
        "{} asks Argon2id for {params} before its passphrase can be checked: {times} times the \
         work of the defaults (64MiB, t=3). If you chose these parameters, {how}",
        path.display()
    )]
    KdfCostNotAccepted {
        /// The vault whose slot asks for the work.
        path: PathBuf,
        /// The parameters as read, e.g. "m=4GiB, t=10, p=4".
        params: String,
        /// How many times the default work they cost, rounded up.
        times: u64,
        /// How to accept the cost if it is intended.
        how: &'static str,
    },

    /// The secret's values are sealed for approval and this path cannot open them; exit code 3.
    #[error("{label} needs approval: run `sesame unlock --confirm`")]
    NeedsApproval {
        /// The secret's label.
        label: String,
    },

    /// The file's format version is newer than this build reads; exit code 4.
    #[error("{} was written by a newer sesame (format {version}); upgrade sesame to open it", path.display())]
    NewerFormat {
        /// The vault file.
        path: PathBuf,
        /// The format version in its header.
        version: u16,
    },

    /// AES-256-GCM authentication of the header or payload failed; exit code 4.
    #[error(
        "{} failed authentication: it was changed or damaged after it was written; \
         restore it from a backup",
        path.display()
    )]
    Tampered {
        /// The vault that failed to authenticate.
        path: PathBuf,
    },

    /// The default vault does not exist and sesame keeps no copies of it; exit code 5.
    #[error("no vault at {}; create one with `sesame init`", path.display())]
    VaultNotFound {
        /// Where the vault was looked for.
        path: PathBuf,
    },

    /// An error about one line of a file the user gave (`FILE:LINE`); exits as `error` does.
    #[error("{at}: {error}")]
    At {
        /// Where in the file, as `FILE:LINE`.
        at: String,
        /// The error found on that line.
        error: Box<Error>,
    },

    /// The vault is gone but sesame still has copies of it (`backups/auto`, `backups/`).
    #[error(
        "no vault at {}, but sesame keeps {copies} cop{} of it; put the newest back with \
         `{sesame} restore {}` (`{sesame} backups` lists them all), or start a new vault with \
         `{sesame} init`",
        path.display(),
        if *copies == 1 { "y" } else { "ies" },
        newest.display()
    )]
    VaultMissingWithCopies {
        /// Where the vault was looked for.
        path: PathBuf,
        /// How many copies (automatic and manual) were found; at least 1.
        copies: usize,
        /// The newest copy, the one `restore` would put back.
        newest: PathBuf,
        /// `sesame`, or `sesame --vault PATH` when the vault was named with --vault.
        sesame: String,
    },

    /// No secret has the label asked for; exit code 5.
    #[error("no secret labelled {label:?}{}", suggestion(suggestions))]
    LabelNotFound {
        /// The label asked for.
        label: String,
        /// Close labels the vault does hold, for "did you mean"; may be empty.
        suggestions: Vec<String>,
    },

    /// The secret exists but not at the version asked for; exit code 5.
    #[error("{label:?} has no version {version}; `sesame history {label}` lists its versions")]
    VersionNotFound {
        /// The secret's label.
        label: String,
        /// The version number asked for (versions count from 1).
        version: u32,
    },

    /// Another sesame held the vault's lock for longer than sesame waits; exit code 6.
    #[error(
        "vault {} is busy: another sesame has held its lock for {waited_secs} s; try again",
        path.display()
    )]
    Busy {
        /// The vault whose lock was held.
        path: PathBuf,
        /// How long this sesame waited, in seconds.
        waited_secs: u64,
    },

    /// The vault file changed under a read-modify-write, so nothing was written; exit code 1.
    #[error(
        "{} was replaced or rekeyed by another sesame while this one was working; run the command again",
        path.display()
    )]
    VaultChanged {
        /// The vault that changed.
        path: PathBuf,
    },

    /// The `rotate --verify` command rejected the new value; nothing was written; exit code 1.
    #[error(
        "the verify command rejected the new value for {label:?}: it {status}; nothing was changed"
    )]
    Verification {
        /// The secret being rotated.
        label: String,
        /// How the command ended, e.g. "exited with 1".
        status: String,
    },

    /// No profile has the name asked for; exit code 5.
    #[error("no profile named {name:?}{}", profile_suggestion(suggestions))]
    ProfileNotFound {
        /// The profile name asked for.
        name: String,
        /// Close profile names, for "did you mean"; may be empty.
        suggestions: Vec<String>,
    },

    /// `run` could not start the child command; exits with `code` (126 or 127, as shells do).
    #[error("cannot run {program:?}: {reason}")]
    CommandNotStarted {
        /// The program as named on the command line.
        program: String,
        /// Why it could not start, e.g. "not found".
        reason: String,
        /// The exit code to report: 127 when not found, 126 otherwise.
        code: u8,
    },

    /// The agent could not be reached, or its answer was malformed; exit code 1.
    #[error("the agent could not be used: {0}")]
    AgentUnavailable(String),

    /// A feature this platform lacks (e.g. memfd outside Linux); exit code 1.
    #[error("{what} is not supported on this platform")]
    Unsupported {
        /// The feature and what to use instead, e.g. `--file` without memfd.
        what: &'static str,
    },

    /// An operating-system I/O error, with what sesame was doing; exit code 1.
    #[error("{context}: {source}")]
    Io {
        /// What sesame was doing, with the path it concerns.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The operating system's random number generator failed; exit code 1.
    #[error("the operating system's random number generator failed")]
    Random,

    /// Argon2id refused its parameters or failed; exit code 1.
    #[error("key derivation failed: {0}")]
    Kdf(String),

    /// Something sesame could not do that is not the user's mistake (a log that cannot be
    /// compacted or set aside, a file that reappeared, a step that produced nothing): exit 1.
    #[error("{0}")]
    Failed(String),

    /// The OpenBao server could not be reached; exit code 1.
    #[error("cannot reach OpenBao at {addr}: {reason}; check BAO_ADDR and that the server is up")]
    BaoUnreachable {
        /// The server address, e.g. `https://127.0.0.1:8200`.
        addr: String,
        /// The connection error.
        reason: String,
    },

    /// OpenBao answered 403: the token is refused or lacks the policy; exit code 3.
    #[error(
        "OpenBao at {addr} refused the token for {what} ({reason}); check the token and its \
         policy (`bao token lookup`), or log in again"
    )]
    BaoRefused {
        /// The server address.
        addr: String,
        /// What was asked for, e.g. "Transit key transit/keys/sesame".
        what: String,
        /// The server's reason, from its error list.
        reason: String,
    },

    /// `BAO_AUTH` names no login sesame knows, or a variable the login needs is missing or
    /// unreadable; exit code 2. Said even when no passphrase follows: a CI job set up wrong
    /// learns why, not only that no passphrase was found.
    #[error("{0}")]
    BaoLoginSetup(String),

    /// OpenBao refused a login (`BAO_AUTH`): an unknown role, claims that do not match the
    /// role, an expired JWT or secret id; exit code 3, like a refused token.
    #[error("OpenBao at {addr} refused the login to auth/{mount} as {role} ({reason}); {hint}")]
    BaoLoginRefused {
        /// The server address.
        addr: String,
        /// The auth method's mount, e.g. `jwt`.
        mount: String,
        /// Who the login was for, e.g. `role "ci"`.
        role: String,
        /// The server's reason, with every credential cut out.
        reason: String,
        /// What to check.
        hint: String,
    },

    /// OpenBao answered 404: the KV path or Transit key does not exist; exit code 5.
    #[error("{what} does not exist on OpenBao at {addr}; check the mount, path and field")]
    BaoNotFound {
        /// The server address.
        addr: String,
        /// What was asked for, e.g. `bao://secret/app`.
        what: String,
    },

    /// A Transit slot names a mount outside `SESAME_BAO_TRANSIT_MOUNTS`; exit code 2.
    #[error(
        "the key slot names the OpenBao mount {mount:?}, which is not one sesame may use for \
         Transit ({allowed}); a slot could otherwise make sesame send requests to any mount. If \
         {mount:?} really is a Transit mount, add it to SESAME_BAO_TRANSIT_MOUNTS (comma-separated)"
    )]
    BaoMountNotAllowed {
        /// The mount the slot names.
        mount: String,
        /// The mounts sesame may use, comma-separated.
        allowed: String,
    },

    /// Any other error status from OpenBao; exit code 1.
    #[error("OpenBao at {addr} answered {status} for {what}: {reason}")]
    Bao {
        /// The server address.
        addr: String,
        /// What was asked for, e.g. `bao://secret/app`.
        what: String,
        /// The HTTP status code.
        status: u16,
        /// The server's reason, from its error list.
        reason: String,
    },
}

fn suggestion(suggestions: &[String]) -> String {
    did_you_mean(suggestions, "; `sesame list` shows the labels")
}

fn profile_suggestion(suggestions: &[String]) -> String {
    did_you_mean(suggestions, "; `sesame profile list` shows them")
}

fn did_you_mean(suggestions: &[String], otherwise: &str) -> String {
    match suggestions {
        [] => otherwise.to_string(),
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
            | Error::BaoLoginRefused { .. }
            | Error::KeyRefused { .. }
            | Error::NeedsApproval { .. } => 3,
            Error::NotAVault { .. }
            | Error::SlotMoved { .. }
            | Error::NoSlot { .. }
            | Error::NewerFormat { .. }
            | Error::Tampered { .. } => 4,
            Error::VaultNotFound { .. }
            | Error::VaultNotFoundAt { .. }
            | Error::VaultMissingWithCopies { .. }
            | Error::LabelNotFound { .. }
            | Error::VersionNotFound { .. }
            | Error::ProfileNotFound { .. }
            | Error::BaoNotFound { .. } => 5,
            Error::CommandNotStarted { code, .. } => *code,
            Error::At { error, .. } => error.exit_code(),
            Error::Busy { .. } => 6,
            Error::Io { .. }
            | Error::Unsupported { .. }
            | Error::AgentUnavailable(_)
            | Error::Verification { .. }
            | Error::VaultChanged { .. }
            | Error::Random
            | Error::Locked { .. }
            | Error::Kdf(_)
            | Error::Failed(_)
            | Error::BaoUnreachable { .. }
            | Error::SlotFailed { .. }
            | Error::Bao { .. } => 1,
            Error::BaoMountNotAllowed { .. } | Error::BaoLoginSetup(_) => 2,
        }
    }

    /// Wraps an I/O error with what sesame was doing.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// A `Usage` error (exit code 2) with this message.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }
}

/// sesame's `Result`, with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
