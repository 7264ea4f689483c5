//! `unlock`, `lock`, `status`, and the hidden `__agent` that `unlock` starts.

use std::fmt::Write as _;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use clap::Args;
use serde_json::json;

use super::{Context, console, print_json, warn};
use crate::agent::{self, client};
use crate::container::{UnlockedVault, inspect};
use crate::error::{Error, Result};
use crate::{store, units};
use std::os::unix::net::UnixStream;

/// How long `unlock` waits for a new agent to say it is serving.
const READY_WAIT: Duration = Duration::from_secs(10);

#[derive(Args)]
pub struct UnlockArgs {
    /// How long the agent keeps the key, from now [default: 15m; renewing a running agent: its
    /// own timeout]
    #[arg(long, value_name = "DURATION")]
    timeout: Option<String>,
    /// Keep this terminal as the approval console: confirmed secrets are released only when you
    /// answer here (Ctrl-C closes it, and they are denied from then on)
    #[arg(long)]
    confirm: bool,
}

#[derive(Args)]
pub struct LockArgs {
    /// Stop every agent of this user, for every vault
    #[arg(long)]
    all: bool,
}

#[derive(Args)]
pub struct StatusArgs {
    /// Machine-readable output
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AgentArgs {
    #[arg(long)]
    timeout: u64,
    /// Descriptor 0 is the approval console's socketpair (`unlock --confirm`)
    #[arg(long)]
    console: bool,
}

fn timeout_secs(text: &str) -> Result<u64> {
    let secs = units::parse_duration(text)?.as_secs();
    if secs == 0 || secs > agent::server::MAX_TIMEOUT_SECS {
        return Err(Error::usage("--timeout must be between 1s and 7d"));
    }
    Ok(secs)
}

pub(super) fn unlock(ctx: &Context, args: UnlockArgs) -> Result<()> {
    let asked = args.timeout.as_deref().map(timeout_secs).transpose()?;
    let bytes = store::read(&ctx.path)?;
    let header = inspect(&bytes, &ctx.path)?.header;
    if let Some(status) = client::status(&ctx.path) {
        if status.vault_id == header.vault_id && status.key_generation == header.key_generation {
            if args.confirm {
                return Err(Error::usage(format!(
                    "the agent of {} is already running, and a console can only be joined to an \
                     agent as it starts (there is no way to reach one later, by design): run \
                     `sesame lock`, then `sesame unlock --confirm`",
                    crate::printable::path(&ctx.path)
                )));
            }
            // A plain `unlock` renews by the agent's own timeout: one started with
            // `--timeout 8h` is not cut to the default.
            let secs = asked
                .or(status.timeout_secs)
                .unwrap_or(agent::DEFAULT_TIMEOUT_SECS);
            if client::renew(&ctx.path, secs) {
                eprintln!(
                    "{} stays unlocked for {} more.",
                    crate::printable::path(&ctx.path),
                    units::format_duration(secs)
                );
                return Ok(());
            }
        } else {
            client::lock(&ctx.path); // it holds a key that no longer opens this file
        }
    }
    // The console's terminal is checked before anything is unlocked.
    let terminal = args.confirm.then(console::open_terminal).transpose()?;
    // The passphrase sources, or a `bao-transit` slot with an OpenBao token.
    let unlocked = ctx.unlock_local()?;
    let secs = asked.unwrap_or(agent::DEFAULT_TIMEOUT_SECS);
    let channel = start_agent(ctx, &unlocked, secs, args.confirm)?;
    // The console lives as long as the agent: it keeps no key.
    drop(unlocked);
    eprintln!(
        "Unlocked {} for {}; `sesame lock` locks it now.",
        crate::printable::path(&ctx.path),
        units::format_duration(secs)
    );
    match (channel, terminal) {
        (Some(channel), Some(terminal)) => console::serve(channel, terminal),
        _ => Ok(()),
    }
}

/// Starts `sesame __agent` detached and hands it the data key through a pipe, or, with
/// `console`, through one end of a socketpair that then stays the approval console's channel
/// (`docs/AGENT.md`, "The console"); the other end is returned. Both ends are close-on-exec: the
/// agent gets its end as descriptor 0 only.
fn start_agent(
    ctx: &Context,
    unlocked: &UnlockedVault,
    secs: u64,
    console: bool,
) -> Result<Option<UnixStream>> {
    agent::checked_folder(true)?;
    let exe = std::env::current_exe().map_err(|e| Error::io("cannot find the sesame binary", e))?;
    let vault = std::fs::canonicalize(&ctx.path).map_err(|e| {
        Error::io(
            format!("cannot resolve {}", crate::printable::path(&ctx.path)),
            e,
        )
    })?;
    let mut command = Command::new(exe);
    command
        .arg("__agent")
        .arg("--vault")
        .arg(&vault)
        .arg("--timeout")
        .arg(secs.to_string())
        .current_dir("/")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut channel = None;
    if console {
        let (ours, theirs) =
            UnixStream::pair().map_err(|e| Error::io("cannot make the console's channel", e))?;
        command
            .arg("--console")
            .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)));
        channel = Some(ours);
    } else {
        command.stdin(Stdio::piped());
    }
    // Neither passphrase variables nor an OpenBao token stay in the agent's environment, where
    // they would sit for the agent's whole life (it never talks to OpenBao).
    crate::inject::scrub_env(&mut command);
    let mut child = command
        .spawn()
        .map_err(|e| Error::io("cannot start the agent", e))?;
    let mut handoff = zeroize::Zeroizing::new(Vec::with_capacity(agent::server::HANDOFF_LEN));
    handoff.extend_from_slice(&unlocked.header.vault_id);
    handoff.extend_from_slice(&unlocked.header.key_generation.to_le_bytes());
    handoff.extend_from_slice(unlocked.data_key()?.expose());
    // The child's copy of the socketpair end went with `command`'s stdin: dropping the command
    // closes ours, so only the agent holds that end.
    drop(command);
    let handed = match (child.stdin.take(), channel.as_mut()) {
        (Some(mut stdin), _) => stdin.write_all(&handoff),
        (None, Some(channel)) => channel.write_all(&handoff),
        (None, None) => Ok(()),
    };
    handed.map_err(|e| Error::io("cannot hand the key to the agent", e))?;
    // Wait for "ready" at most READY_WAIT (docs/AGENT.md): an agent stuck before it serves must
    // not hang `unlock` forever. The reader thread ends when the pipe closes (the agent exits or
    // is killed below).
    match agent::wait_for_ready(child.stdout.take(), READY_WAIT) {
        Ok(()) => Ok(channel),
        Err(why) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(Error::io(
                "the agent did not start",
                std::io::Error::other(why),
            ))
        }
    }
}

pub(super) fn lock(ctx: &Context, args: LockArgs) -> Result<()> {
    // Agents are stopped even when their folder is not private (any more); what is wrong with
    // it is said, since no other command uses an agent there.
    let folder = crate::agent::socket_folder();
    if std::fs::symlink_metadata(&folder).is_ok()
        && let Err(problem) = crate::agent::checked_folder(false)
    {
        warn(format!(
            "the agents' folder cannot be used, so no command finds an agent there: {problem}"
        ));
    }
    if args.all {
        let n = client::lock_all()?;
        eprintln!("Locked {n} agent{}.", if n == 1 { "" } else { "s" });
        return Ok(());
    }
    if client::lock(&ctx.path) {
        eprintln!("Locked {}.", crate::printable::path(&ctx.path));
    } else {
        eprintln!("{} was not unlocked.", crate::printable::path(&ctx.path));
    }
    Ok(())
}

pub(super) fn status(ctx: &Context, args: StatusArgs) -> Result<()> {
    let bytes = store::read(&ctx.path)?;
    let parsed = inspect(&bytes, &ctx.path)?;
    let header = &parsed.header;
    let agent = client::status(&ctx.path)
        .filter(|s| s.vault_id == header.vault_id && s.key_generation == header.key_generation);
    let kdf = crate::container::passphrase_slot(header).map(|p| p.kdf);
    let slots: Vec<&str> = header
        .slots
        .iter()
        .map(|s| crate::slots::kind_info(s.kind).map_or("unknown", |k| k.name))
        .collect();
    // Counts need the key: from the agent, a slot opened by what the user carries, or a
    // passphrase source that needs no prompt.
    let unlocked = ctx.unlock_unprompted(&bytes)?;
    let now = units::now();
    let overdue: Option<Vec<String>> = unlocked.as_ref().map(|u| {
        u.vault
            .secrets
            .iter()
            .filter(|s| s.is_overdue(now))
            .map(|s| s.label.to_string())
            .collect()
    });
    let count = unlocked.as_ref().map(|u| u.vault.secrets.len());
    let in_conflict: Option<Vec<String>> = unlocked.as_ref().map(|u| {
        u.vault
            .secrets
            .iter()
            .filter(|s| s.conflict)
            .map(|s| s.label.to_string())
            .collect()
    });
    let copies = crate::merge::conflict_copies(&ctx.path);
    let opened_by = unlocked.as_ref().map(super::slot::opened_by);
    if args.json {
        return print_json(&json!({
            "vault": ctx.path.display().to_string(),
            "format_version": header.version,
            "kdf": kdf.map(|k| json!({
                "algorithm": "argon2id",
                "memory_kib": k.memory_kib,
                "iterations": k.iterations,
                "parallelism": k.parallelism,
            })),
            "slots": slots,
            "key_generation": header.key_generation,
            "unlocked": agent.is_some(),
            "seconds_left": agent.as_ref().map(|a| a.seconds_left),
            "agent_pid": agent.as_ref().map(|a| a.pid),
            "secrets": count,
            "overdue": overdue,
            "opened_by": opened_by,
            "conflicts": in_conflict,
            "conflict_copies": copies.iter().map(|c| json!({
                "path": c.path.display().to_string(),
                "tool": c.tool,
                "merged": unlocked.as_ref().map(|u| c.merged_into(&u.vault, &ctx.path)),
            })).collect::<Vec<_>>(),
        }));
    }
    let mut out = String::new();
    let mut line = |k: &str, v: String| {
        let _ = writeln!(out, "{k:<10} {v}");
    };
    line("vault", crate::printable::path(&ctx.path));
    line("format", header.version.to_string());
    line(
        "kdf",
        kdf.map_or("-".into(), |k| format!("Argon2id {}", k.describe())),
    );
    line("slots", slots.join(", "));
    line(
        "state",
        match &agent {
            Some(a) => format!(
                "unlocked ({} left, agent pid {})",
                units::format_duration(a.seconds_left),
                a.pid
            ),
            None => "locked".into(),
        },
    );
    if let Some(by) = opened_by {
        line("opened by", by);
    }
    match (count, &overdue) {
        (Some(n), Some(o)) => {
            line("secrets", n.to_string());
            line(
                "overdue",
                if o.is_empty() {
                    "none".into()
                } else {
                    format!("{} ({})", o.len(), o.join(", "))
                },
            );
        }
        _ => line(
            "secrets",
            "? (unlock, or set a passphrase source, to count them)".into(),
        ),
    }
    if let Some(labels) = in_conflict.filter(|l| !l.is_empty()) {
        line(
            "conflicts",
            format!(
                "{} ({}); `sesame conflicts` shows them",
                labels.len(),
                labels.join(", ")
            ),
        );
    }
    for copy in &copies {
        let merged = unlocked
            .as_ref()
            .is_some_and(|u| copy.merged_into(&u.vault, &ctx.path));
        let what = if merged {
            "already merged; it can be deleted".to_string()
        } else {
            format!("sesame merge {}", crate::printable::shell_word(&copy.path))
        };
        line(
            "copy",
            format!(
                "{} ({} conflict copy): {what}",
                crate::printable::path(&copy.path),
                copy.tool,
            ),
        );
    }
    super::write_stdout(out.as_bytes())
}

/// The hidden `__agent` entry point.
pub(super) fn serve(ctx: &Context, args: AgentArgs) -> Result<()> {
    let result = agent::server::run(&ctx.path, args.timeout, args.console);
    if let Err(e) = &result {
        warn(e);
    }
    result
}
