//! The command line: clap definitions, and one function per command that turns parsed arguments
//! into library calls and prints the result. Rendering lives here; rules live in the library.

mod agent;
mod backup;
mod console;
mod context;
mod dotenv;
mod examples;
mod git;
mod helpers;
mod init;
mod inject;
mod keys;
mod lifecycle;
mod merge;
mod output;
mod run;
mod scan;
mod secrets;
mod shell;
mod slot;
mod team;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub(crate) use context::Context;
pub(crate) use output::{outln, print_json, render_table, write_stdout};

use crate::error::{Error, Result};

#[derive(Parser)]
#[command(
    name = "sesame",
    version,
    arg_required_else_help = true,
    about = "An encrypted local vault for API keys and other secrets",
    long_about = "sesame keeps API keys and tokens in one encrypted file (Argon2id + AES-256-GCM) \
                  and hands them to programs without writing them to disk or to a command line.",
    after_help = FOOTER
)]
/// The whole command line: global options and one command.
pub struct Cli {
    /// Options every command takes (`--vault`, the `--*-fd` descriptors, …).
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

const FOOTER: &str = "\
Environment:
  SESAME_VAULT                 the vault file (after --vault)
  SESAME_PASSPHRASE_FILE       a file whose one line is the passphrase (mode 0600)
  SESAME_PASSPHRASE_COMMAND    a command (sh -c) that prints the passphrase, e.g. a keychain call
  SESAME_PASSPHRASE            the passphrase itself (the least safe choice)
  SESAME_NEW_PASSPHRASE_FILE   the passphrase being set by init, passwd, recover (a file)
  SESAME_NEW_PASSPHRASE        the passphrase being set by init, passwd, recover
  SESAME_RECOVERY_CODE         the recovery code, for recover
  SESAME_LOCK_TIMEOUT          how long to wait for the vault's write lock (default 10s)
  SESAME_AUTO_BACKUPS          automatic copies kept before each change (default 10, 0 for none)
  SESAME_ACCEPT_KDF_COST       1: open a vault whose Argon2 cost is over the budget, unasked
  NO_COLOR                     no colours in tables
  BAO_ADDR, BAO_TOKEN, BAO_CACERT, BAO_NAMESPACE (else VAULT_*): OpenBao, for team use
  BAO_AUTH                     no token: log in as jwt, github-actions or approle (docs/TEAM.md)
Passphrase order: --passphrase-fd, a running agent (sesame unlock), an OpenBao transit slot,
SESAME_PASSPHRASE_FILE, SESAME_PASSPHRASE_COMMAND, SESAME_PASSPHRASE, the prompt.

Exit codes:
  0 ok   1 error   2 usage   3 wrong passphrase or recovery code (or OpenBao refused the token)
  4 damaged, tampered or not a vault   5 vault, label, profile or reference not found
  6 vault busy   10 rotation overdue (check)   11 a stored value was found (scan)
  12 merged, conflicts left (merge)
  126 command not executable   127 command not found (run, rotate --verify)

Docs: sesame man, docs/CLI.md. First steps: sesame init, then sesame add LABEL.";

/// Options accepted before or after the subcommand.
#[derive(Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Vault file [default: $SESAME_VAULT, else $XDG_DATA_HOME/sesame/vault.sesame]
    #[arg(long, global = true, value_name = "PATH")]
    pub vault: Option<PathBuf>,
    /// Read the passphrase from file descriptor N (one line)
    #[arg(long, global = true, value_name = "N")]
    pub passphrase_fd: Option<i32>,
    /// Read a new passphrase from file descriptor N (one line); shown on init, passwd, recover
    #[arg(long, global = true, value_name = "N", hide = true)]
    pub new_passphrase_fd: Option<i32>,
    /// Read the recovery code from file descriptor N (one line); shown on recover
    #[arg(long, global = true, value_name = "N", hide = true)]
    pub recovery_code_fd: Option<i32>,
    /// Open a vault whose passphrase slot asks for more Argon2 work than sesame spends unasked
    /// (over 1GiB, over 10 passes, or over 1GiB x 4 passes)
    #[arg(
        long,
        global = true,
        env = "SESAME_ACCEPT_KDF_COST",
        value_parser = clap::builder::BoolishValueParser::new(),
        num_args = 0,
        default_missing_value = "true",
        hide_env_values = true
    )]
    pub accept_kdf_cost: bool,
    /// An age identity file or SSH private key that opens an age slot (repeatable; the
    /// variable holds a `:`-separated list)
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "SESAME_AGE_IDENTITY",
        value_delimiter = ':',
        action = clap::ArgAction::Append,
        hide_env_values = true
    )]
    pub identity: Vec<PathBuf>,
}

/// sesame's commands; each variant's doc comment is its `--help` summary.
#[derive(Subcommand)]
pub enum Command {
    /// Create a new vault
    Init(init::InitArgs),
    /// Add a new secret (value from stdin, or a hidden prompt)
    Add(secrets::AddArgs),
    /// Print a secret's value
    Get(secrets::GetArgs),
    /// List secrets (never their values)
    #[command(visible_alias = "ls")]
    List(secrets::ListArgs),
    /// Change a secret's metadata (env name, note, rotation period, label)
    Edit(secrets::EditArgs),
    /// Remove a secret and its history
    Rm(secrets::RmArgs),
    /// One secret's metadata: env name, note, versions, dates, rotation, last use, profiles
    Show(secrets::ShowArgs),
    /// Give a secret a new value; the old one moves to history
    Rotate(lifecycle::RotateArgs),
    /// List a secret's versions, newest first, with masked hints
    History(lifecycle::HistoryArgs),
    /// Make an older version current again
    Rollback(lifecycle::RollbackArgs),
    /// List secrets past their rotation date or refused by their server (exit 10 if any)
    Check(lifecycle::CheckArgs),
    /// Change the passphrase (the data key stays; its slot is re-wrapped)
    Passwd(keys::PasswdArgs),
    /// Set a new passphrase with the recovery code
    Recover(keys::RecoverArgs),
    /// New data key: re-encrypt everything and print a new recovery code
    Rekey(keys::RekeyArgs),
    /// Run a command with chosen secrets in its environment
    Run(run::RunArgs),
    /// Saved selections for `run --profile`
    #[command(subcommand)]
    Profile(run::ProfileCommand),
    /// Usage and change events: what was injected into which program, and when
    Log(run::LogArgs),
    /// Write a checked, encrypted copy of the vault
    Backup(backup::BackupArgs),
    /// List the copies sesame knows (automatic and manual), newest first
    Backups(backup::BackupsArgs),
    /// Check a vault file: its structure, and with a key every secret
    Verify(backup::VerifyArgs),
    /// Replace the vault with a copy (the current one is kept)
    Restore(backup::RestoreArgs),
    /// Add the secrets of a .env file, in one write
    Import(dotenv::ImportArgs),
    /// Print dotenv lines: references (safe to commit), or values with --plaintext
    Export(dotenv::ExportArgs),
    /// Start an agent that holds the key, so later commands need no passphrase
    Unlock(agent::UnlockArgs),
    /// Stop the agent for this vault (or every agent, with --all) and wipe its key
    Lock(agent::LockArgs),
    /// Vault path, format, KDF parameters, locked or unlocked, secrets and overdue rotations
    Status(agent::StatusArgs),
    /// The vault's key slots: list, add (bao-transit, age, ssh-agent), remove
    #[command(subcommand)]
    Slot(slot::SlotCommand),
    /// Write the current values of secrets into one OpenBao KV v2 secret, one field per label
    Push(team::PushArgs),
    /// Add the fields of an OpenBao KV v2 secret as secrets
    Pull(team::PullArgs),
    /// Render a template's {{ sesame://LABEL }} references to stdout or a 0600 file
    Inject(inject::InjectArgs),
    /// git's credential helper: get, store, erase (git runs it; see --help)
    #[command(name = "git-credential")]
    GitCredential(helpers::GitCredentialArgs),
    /// docker's credential helper: get, store, erase, list (also run as docker-credential-sesame)
    #[command(name = "docker-credential")]
    DockerCredential(helpers::DockerCredentialArgs),
    /// Install the links credential helpers are found by (docker-credential-sesame)
    #[command(subcommand)]
    Helpers(helpers::HelpersCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(shell::CompletionsArgs),
    /// Print the man page (roff)
    Man,
    /// Merge another copy of this vault (a sync conflict copy, another machine's file); exit 12
    /// if conflicts remain
    Merge(merge::MergeArgs),
    /// Secrets a merge left in conflict, with their versions
    Conflicts(merge::ConflictsArgs),
    /// Keep one version of a secret in conflict current and clear the mark
    Resolve(merge::ResolveArgs),
    /// For git: merge the two sides of a vault file (writes over OURS; exit 1 if conflicts remain)
    #[command(name = "merge-driver")]
    MergeDriver(git::MergeDriverArgs),
    /// For git diff: a vault as text (header, labels, dates; never values)
    Textconv(git::TextconvArgs),
    /// Find stored values hard-coded in files, git history or shell history (exit 11 if found)
    Scan(scan::ScanArgs),
    /// The agent process that `unlock` starts (hidden; not for people)
    #[command(name = "__agent", hide = true)]
    Agent(agent::AgentArgs),
    /// For completion scripts: labels or profile names, through a running agent only
    #[command(name = "__complete", hide = true)]
    Complete(shell::CompleteArgs),
}

/// The command-line definition, as parsed and as documented (help, man page, completions).
///
/// `--new-passphrase-fd` and `--recovery-code-fd` stay global (SPEC: accepted before or after
/// the subcommand) but are hidden, then declared again, visible, on the commands that read them:
/// clap does not copy a global argument into a subcommand that has one of the same id, and it
/// hands the value up to [`GlobalArgs`] by id, so `sesame recover --recovery-code-fd 3` and
/// `sesame --recovery-code-fd 3 recover` both work, and `sesame get --help` does not list flags
/// that `get` never reads.
pub fn command() -> clap::Command {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let fd_arg = |id: &'static str, long: &'static str, help: &'static str| {
        clap::Arg::new(id)
            .long(long)
            .value_name("N")
            .value_parser(clap::value_parser!(i32))
            .help(help)
            .help_heading("Global options")
    };
    for (sub, fds) in [
        ("init", &["new"][..]),
        ("passwd", &["new"][..]),
        ("recover", &["new", "recovery"][..]),
    ] {
        cmd = cmd.mut_subcommand(sub, |mut c| {
            for fd in fds {
                c = c.arg(match *fd {
                    "new" => fd_arg(
                        "new_passphrase_fd",
                        "new-passphrase-fd",
                        "Read the passphrase being set from file descriptor N (one line)",
                    ),
                    _ => fd_arg(
                        "recovery_code_fd",
                        "recovery-code-fd",
                        "Read the recovery code from file descriptor N (one line)",
                    ),
                });
            }
            c
        });
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(&name, |mut c| {
            let unexplained_label = c
                .get_arguments()
                .any(|a| a.get_id() == "label" && a.get_help().is_none());
            if unexplained_label {
                c = c.mut_arg("label", |a| {
                    a.help("The secret's label, e.g. openai/prod (see `sesame list`)")
                });
            }
            // Appended to a command's own after-help (run's precedence rule), unless it has
            // examples of its own (list).
            let own = c.get_after_help().map(|h| h.to_string());
            match (examples::examples(c.get_name()), own) {
                (Some(_), Some(own)) if own.contains("Examples:") => c,
                (Some(text), Some(own)) => c.after_help(format!("{own}\n\nExamples:\n{text}")),
                (Some(text), None) => c.after_help(format!("Examples:\n{text}")),
                (None, _) => c,
            }
        });
    }
    cmd
}

/// Parses the process arguments with [`command`].
pub fn parse() -> Result<Cli, clap::Error> {
    parse_from(std::env::args_os())
}

/// Parses `args` (the program name first) with [`command`]. Run as `docker-credential-sesame`
/// (the link `helpers install` writes), `docker-credential-sesame get` means `sesame
/// docker-credential get`.
pub fn parse_from(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let mut args: Vec<std::ffi::OsString> = args.into_iter().collect();
    let invoked = args.first().and_then(|a| {
        std::path::Path::new(a)
            .file_name()
            .map(|n| n.to_os_string())
    });
    if invoked.as_deref() == Some(std::ffi::OsStr::new(helpers::DOCKER_HELPER_NAME)) {
        args.insert(1, "docker-credential".into());
        args[0] = "sesame".into();
    }
    let matches = command().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// Runs a parsed command; returns the exit code for success paths that are not 0.
pub fn run(cli: Cli) -> Result<u8> {
    // These need no vault, and must not warn about one.
    match cli.command {
        Command::Completions(args) => return shell::completions(args).map(|()| 0),
        Command::Man => return shell::man().map(|()| 0),
        Command::Complete(args) => return shell::complete(cli.global.vault, args).map(|()| 0),
        Command::Helpers(command) => return helpers::helpers(command).map(|()| 0),
        _ => {}
    }
    // A profile name is checked here, before run.rs takes it as a label, so that a bad one is
    // called a profile name.
    if let Command::Profile(
        run::ProfileCommand::Set { name, .. } | run::ProfileCommand::Rm { name, .. },
    ) = &cli.command
    {
        crate::names::profile_name(name)?;
    }
    let vault_flag = cli.global.vault.is_some();
    let ctx = Context::new(&cli.global)?;
    let result = dispatch(&ctx, cli.command).map_err(|e| match e {
        Error::VaultNotFound { path } => vault_not_found(path, vault_flag),
        e => e,
    });
    end_openbao_login();
    result
}

/// Revokes the OpenBao token this command logged in for (`BAO_AUTH`), if it did: it must not
/// outlive the command (`run` calls this before its command starts).
pub(crate) fn end_openbao_login() {
    if let Some(warning) = crate::openbao::login::logout() {
        warn(warning);
    }
}

/// "No vault" says what to do next: restore a copy when sesame has one (a vault deleted by
/// mistake), else create one. The hint names the vault the user typed with --vault, so
/// `sesame init` alone would miss it.
fn vault_not_found(path: std::path::PathBuf, vault_flag: bool) -> Error {
    let copies = crate::backup::list(&path);
    let sesame = if vault_flag {
        format!("sesame --vault {}", path.display())
    } else {
        "sesame".to_string()
    };
    match copies.first() {
        Some(newest) => Error::VaultMissingWithCopies {
            newest: newest.path.clone(),
            copies: copies.len(),
            path,
            sesame,
        },
        None if vault_flag => Error::VaultNotFoundAt { path },
        None => Error::VaultNotFound { path },
    }
}

fn dispatch(ctx: &Context, command: Command) -> Result<u8> {
    match command {
        Command::Init(args) => init::run(ctx, args),
        Command::Add(args) => secrets::add(ctx, args),
        Command::Get(args) => secrets::get(ctx, args),
        Command::List(args) => secrets::list(ctx, args),
        Command::Edit(args) => secrets::edit(ctx, args),
        Command::Rm(args) => secrets::rm(ctx, args),
        Command::Show(args) => secrets::show(ctx, args),
        Command::Rotate(args) => lifecycle::rotate(ctx, args),
        Command::History(args) => lifecycle::history(ctx, args),
        Command::Rollback(args) => lifecycle::rollback(ctx, args),
        Command::Check(args) => return lifecycle::check(ctx, args),
        Command::Passwd(args) => keys::passwd(ctx, args),
        Command::Recover(args) => keys::recover(ctx, args),
        Command::Rekey(args) => keys::rekey(ctx, args),
        Command::Run(args) => return run::run(ctx, args),
        Command::Profile(command) => run::profile(ctx, command),
        Command::Log(args) => run::log(ctx, args),
        Command::Backup(args) => backup::backup(ctx, args),
        Command::Backups(args) => backup::backups(ctx, args),
        Command::Verify(args) => backup::verify(ctx, args),
        Command::Restore(args) => backup::restore(ctx, args),
        Command::Import(args) => dotenv::import(ctx, args),
        Command::Export(args) => dotenv::export(ctx, args),
        Command::Unlock(args) => agent::unlock(ctx, args),
        Command::Lock(args) => agent::lock(ctx, args),
        Command::Status(args) => agent::status(ctx, args),
        Command::Slot(command) => slot::run(ctx, command),
        Command::Push(args) => team::push(ctx, args),
        Command::Pull(args) => team::pull(ctx, args),
        Command::Scan(args) => return scan::scan(ctx, args),
        Command::Merge(args) => return merge::merge(ctx, args),
        Command::Conflicts(args) => merge::conflicts(ctx, args),
        Command::Resolve(args) => merge::resolve(ctx, args),
        Command::MergeDriver(args) => return git::merge_driver(ctx, args),
        Command::Textconv(args) => git::textconv(ctx, args),
        Command::Inject(args) => inject::inject(ctx, args),
        Command::GitCredential(args) => helpers::git_credential(ctx, args),
        Command::DockerCredential(args) => return helpers::docker_credential(ctx, args),
        Command::Agent(args) => agent::serve(ctx, args),
        Command::Completions(_) | Command::Man | Command::Complete(_) | Command::Helpers(_) => {
            Ok(())
        }
    }?;
    Ok(0)
}

/// For bare `sesame`: a nudge towards `sesame init` when the vault it would use does not exist.
pub fn first_steps() -> Option<String> {
    let path = crate::store::resolve_vault_path(None).ok()?;
    (!crate::store::exists(&path)).then(|| {
        format!(
            "No vault yet at {}: start with `sesame init`, then `sesame add LABEL`.",
            path.display()
        )
    })
}

/// Runs `work` (an Argon2 derivation) with a one-line status on stderr when stderr is a terminal
/// — "unlocking vault.sesame (Argon2id, 64 MiB, 3 passes)…" — erased (`\r`, clear line) when it
/// is done, so a second of silence does not look like a hang. Nothing when stderr is not a
/// terminal: logs and pipes get no control characters.
pub(crate) fn with_kdf_status<T>(
    verb: &str,
    path: &std::path::Path,
    kdf: Option<crate::crypto::KdfParams>,
    work: impl FnOnce() -> T,
) -> T {
    use std::io::{IsTerminal, Write};
    let Some(kdf) = kdf.filter(|_| std::io::stderr().is_terminal()) else {
        return work();
    };
    // Shown on a terminal: an escape sequence in the file name must not reach it as one.
    let name = path.file_name().map_or_else(
        || crate::printable::path(path),
        |n| crate::printable::printable(&n.to_string_lossy()).into_owned(),
    );
    let size = crate::units::format_size_kib(kdf.memory_kib);
    let size = size
        .find(|c: char| !c.is_ascii_digit())
        .map_or(size.clone(), |i| format!("{} {}", &size[..i], &size[i..]));
    let passes = if kdf.iterations == 1 {
        "pass"
    } else {
        "passes"
    };
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "{verb} {name} (Argon2id, {size}, {} {passes})\u{2026}",
        kdf.iterations
    );
    let _ = err.flush();
    let out = work();
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
    out
}

/// "2026-11-23 18:06" for tables; JSON uses full RFC 3339.
pub(crate) fn short_time(secs: i64) -> String {
    let full = crate::units::format_time(secs);
    match (full.get(..10), full.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time}"),
        _ => full,
    }
}

/// Asks a yes/no question on the terminal; only `y`/`yes` is yes.
pub(crate) fn confirm(question: &str) -> Result<bool> {
    eprint!("{question}");
    let _ = std::io::Write::flush(&mut std::io::stderr());
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| crate::Error::io("cannot read the answer", e))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// A warning on stderr, in the same voice as errors. Control characters (from a file name the
/// warning quotes) are escaped ([`crate::printable`]).
pub(crate) fn warn(message: impl std::fmt::Display) {
    eprintln!(
        "sesame: warning: {}",
        crate::printable::printable(&message.to_string())
    );
}

#[cfg(test)]
mod docs {
    //! docs/CLI.md against the clap definition: a command or flag added without documentation,
    //! or documentation of a flag that does not exist, fails here.

    use std::collections::BTreeSet;

    const CLI_MD: &str = include_str!("../../docs/CLI.md");

    /// The text under `### NAME` (up to the next heading).
    fn section<'a>(name: &str) -> Option<&'a str> {
        let start = CLI_MD.find(&format!("\n### {name}"))?;
        let rest = &CLI_MD[start + 1..];
        let end = rest[4..].find("\n#").map_or(rest.len(), |i| i + 4);
        Some(&rest[..end])
    }

    fn long_flags(cmd: &clap::Command) -> Vec<String> {
        cmd.get_arguments()
            .filter(|a| !a.is_global_set() && !a.is_hide_set())
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .filter(|l| l != "--help" && l != "--version")
            .collect()
    }

    #[test]
    fn cli_md_matches_the_clap_definition() {
        let cmd = super::command();
        let mut missing = Vec::new();
        let mut defined: BTreeSet<String> = BTreeSet::new();
        for a in cmd.get_arguments() {
            if let Some(l) = a.get_long() {
                defined.insert(format!("--{l}"));
                if !CLI_MD.contains(&format!("`--{l}")) {
                    missing.push(format!("global --{l}"));
                }
            }
        }
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = sub.get_name();
            if name == "help" {
                continue;
            }
            let Some(text) = section(name) else {
                missing.push(format!("### {name}"));
                continue;
            };
            // Every level: `slot add bao-transit` is a subcommand of a subcommand.
            let mut commands = vec![(name.to_string(), sub)];
            let mut at = 0;
            while let Some((path, c)) = commands.get(at).cloned() {
                commands.extend(
                    c.get_subcommands()
                        .filter(|s| s.get_name() != "help")
                        .map(|s| (format!("{path} {}", s.get_name()), s)),
                );
                at += 1;
            }
            for (path, c) in commands {
                if path != name && !text.contains(&path) {
                    missing.push(format!("sesame {path}"));
                }
                for a in c.get_arguments() {
                    if let Some(l) = a.get_long() {
                        defined.insert(format!("--{l}"));
                    }
                }
                for flag in long_flags(c) {
                    let found = text.match_indices(&flag).any(|(i, _)| {
                        !text[i + flag.len()..]
                            .starts_with(|ch: char| ch.is_ascii_alphanumeric() || ch == '-')
                    });
                    if !found {
                        missing.push(format!("{name}: {flag}"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "docs/CLI.md lacks: {missing:?}");
        // Every --flag the page names exists somewhere.
        let mut unknown = BTreeSet::new();
        for (i, _) in CLI_MD.match_indices("--") {
            let flag: String = CLI_MD[i + 2..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                .collect();
            let flag = flag.trim_end_matches('-');
            if flag.is_empty() {
                continue; // `-- CMD`
            }
            let flag = format!("--{flag}");
            if !defined.contains(&flag) && flag != "--help" && flag != "--version" {
                unknown.insert(flag);
            }
        }
        assert!(
            unknown.is_empty(),
            "docs/CLI.md names flags sesame does not have: {unknown:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        super::command().debug_assert();
    }
}
