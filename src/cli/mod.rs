//! The command line: clap definitions, and one function per command that turns parsed arguments
//! into library calls and prints the result. Rendering lives here; rules live in the library.

mod agent;
mod backup;
mod context;
mod dotenv;
mod init;
mod keys;
mod lifecycle;
mod run;
mod scan;
mod secrets;
mod slot;
mod team;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use context::Context;

use crate::error::Result;

#[derive(Parser)]
#[command(
    name = "sesame",
    version,
    arg_required_else_help = true,
    about = "An encrypted local vault for API keys and other secrets",
    long_about = "sesame keeps API keys and tokens in one encrypted file (Argon2id + AES-256-GCM) \
                  and hands them to programs without writing them to disk or to a command line.",
    after_help = "Exit codes: 0 ok, 1 error, 2 usage, 3 wrong passphrase, 4 damaged or not a vault, \
                  5 vault or label not found, 6 vault busy, 10 rotation overdue, 126 command not \
                  executable, 127 command not found."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after the subcommand.
#[derive(Args)]
pub struct GlobalArgs {
    /// Vault file [default: $SESAME_VAULT, else $XDG_DATA_HOME/sesame/vault.sesame]
    #[arg(long, global = true, value_name = "PATH")]
    pub vault: Option<PathBuf>,
    /// Read the passphrase from file descriptor N (one line)
    #[arg(long, global = true, value_name = "N")]
    pub passphrase_fd: Option<i32>,
    /// Read a new passphrase from file descriptor N (one line)
    #[arg(long, global = true, value_name = "N")]
    pub new_passphrase_fd: Option<i32>,
    /// Read the recovery code from file descriptor N (one line)
    #[arg(long, global = true, value_name = "N")]
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
}

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
    /// List secrets past their rotation date (exit 10 if any)
    Check(lifecycle::CheckArgs),
    /// Change the passphrase (the data key stays; its slot is re-wrapped)
    Passwd(keys::PasswdArgs),
    /// Set a new passphrase with the recovery code
    Recover,
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
    /// The vault's key slots: list, add an OpenBao Transit slot, remove
    #[command(subcommand)]
    Slot(slot::SlotCommand),
    /// Write the current values of secrets into one OpenBao KV v2 secret, one field per label
    Push(team::PushArgs),
    /// Add the fields of an OpenBao KV v2 secret as secrets
    Pull(team::PullArgs),
    /// Find stored values hard-coded in files, git history or shell history (exit 11 if found)
    Scan(scan::ScanArgs),
    #[command(name = "__agent", hide = true)]
    Agent(agent::AgentArgs),
}

/// Runs a parsed command; returns the exit code for success paths that are not 0.
pub fn run(cli: Cli) -> Result<u8> {
    let ctx = Context::new(&cli.global)?;
    match cli.command {
        Command::Init(args) => init::run(&ctx, args),
        Command::Add(args) => secrets::add(&ctx, args),
        Command::Get(args) => secrets::get(&ctx, args),
        Command::List(args) => secrets::list(&ctx, args),
        Command::Edit(args) => secrets::edit(&ctx, args),
        Command::Rm(args) => secrets::rm(&ctx, args),
        Command::Show(args) => secrets::show(&ctx, args),
        Command::Rotate(args) => lifecycle::rotate(&ctx, args),
        Command::History(args) => lifecycle::history(&ctx, args),
        Command::Rollback(args) => lifecycle::rollback(&ctx, args),
        Command::Check(args) => return lifecycle::check(&ctx, args),
        Command::Passwd(args) => keys::passwd(&ctx, args),
        Command::Recover => keys::recover(&ctx),
        Command::Rekey(args) => keys::rekey(&ctx, args),
        Command::Run(args) => return run::run(&ctx, args),
        Command::Profile(command) => run::profile(&ctx, command),
        Command::Log(args) => run::log(&ctx, args),
        Command::Backup(args) => backup::backup(&ctx, args),
        Command::Backups(args) => backup::backups(&ctx, args),
        Command::Verify(args) => backup::verify(&ctx, args),
        Command::Restore(args) => backup::restore(&ctx, args),
        Command::Import(args) => dotenv::import(&ctx, args),
        Command::Export(args) => dotenv::export(&ctx, args),
        Command::Unlock(args) => agent::unlock(&ctx, args),
        Command::Lock(args) => agent::lock(&ctx, args),
        Command::Status(args) => agent::status(&ctx, args),
        Command::Slot(command) => slot::run(&ctx, command),
        Command::Push(args) => team::push(&ctx, args),
        Command::Pull(args) => team::pull(&ctx, args),
        Command::Scan(args) => return scan::scan(&ctx, args),
        Command::Agent(args) => agent::serve(&ctx, args),
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

/// Pretty JSON on stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| crate::Error::io("cannot render JSON", std::io::Error::other(e)))?;
    println!("{text}");
    Ok(())
}

/// Left-aligned columns separated by two spaces, trailing spaces trimmed.
pub(crate) fn render_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let parts: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
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

/// A warning on stderr, in the same voice as errors.
pub(crate) fn warn(message: impl std::fmt::Display) {
    eprintln!("sesame: warning: {message}");
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
