//! `git-credential`, `docker-credential` (also run as `docker-credential-sesame`) and `helpers
//! install`: the credential helpers of git and docker. The protocols live in `crate::helpers`;
//! here the vault is opened without ever asking (the tools give a helper no terminal), the
//! answer printed and every use recorded with the program that asked.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Context;
use crate::container::UnlockedVault;
use crate::error::{Error, Result};
use crate::helpers::{self, Accepted, Action, docker, git, username_in_note};
use crate::secret::SecretValue;
use crate::usage::Event;

/// The name under which docker finds sesame: `docker-credential-` and the `credsStore` or
/// `credHelpers` value `sesame`.
pub(super) const DOCKER_HELPER_NAME: &str = "docker-credential-sesame";

#[derive(Args)]
#[command(
    after_help = "Configure git with:\n  git config --global credential.helper '!sesame git-credential'\n\
    Secrets are labelled git/HOST (git/HOST/PATH with credential.useHttpPath); a note \
    username=NAME gives the user name."
)]
pub struct GitCredentialArgs {
    /// get, store or erase (git's word; any other is ignored)
    #[arg(value_name = "ACTION")]
    action: String,
}

#[derive(Args)]
#[command(
    after_help = "Configure docker (~/.docker/config.json) with {\"credsStore\": \"sesame\"} or \
    {\"credHelpers\": {\"HOST\": \"sesame\"}}, after `sesame helpers install DIR` for a DIR on PATH. \
    Secrets are labelled docker/HOST."
)]
pub struct DockerCredentialArgs {
    /// get, store, erase or list
    #[arg(value_name = "ACTION")]
    action: String,
}

#[derive(Subcommand)]
pub enum HelpersCommand {
    /// Write the docker-credential-sesame link to this sesame into DIR (a folder on PATH)
    Install {
        /// The folder, e.g. ~/.local/bin
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// An event of a helper, with the program that asked.
fn event(action: &str, labels: Vec<String>, detail: String) -> Event {
    let mut event = Event::new(action, labels).detail(detail);
    event.program = helpers::calling_program();
    event
}

fn write_out(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("cannot write the answer to stdout", e))
}

pub(super) fn git_credential(ctx: &Context, args: GitCredentialArgs) -> Result<()> {
    // git's rule: an operation the helper does not know is ignored (`list` is docker's).
    let Some(action) = Action::parse(&args.action).filter(|a| *a != Action::List) else {
        return Ok(());
    };
    let request = git::Request::read(&mut std::io::stdin().lock())?;
    let unlocked = ctx.unlock_without_asking()?;
    let host = request.host.clone().unwrap_or_default();
    let host = crate::printable::cut(&host, helpers::MAX_SHOWN_SERVER_CHARS);
    match action {
        Action::Get => {
            let Some(secret) = request.find(&unlocked.vault) else {
                let detail = format!("get for {host}: no secret (git asks the next helper)");
                ctx.record(&unlocked, event("git-get", Vec::new(), detail));
                return Ok(());
            };
            let username = username_in_note(secret.note.as_deref()).or(request.username.as_deref());
            // A confirmed secret's value needs the console's yes (or the passphrase here).
            let value = crate::approval::open_value(&unlocked, secret, &secret.current)?;
            let out = git::answer(&secret.label, username, &value)?;
            let labels = vec![secret.label.to_string()];
            ctx.record(
                &unlocked,
                event("git-get", labels, format!("get for {host}")),
            );
            write_out(&out)
        }
        Action::Store => git_store(ctx, unlocked, &request, &host),
        Action::List => Ok(()),
        Action::Erase => {
            // Never deletes: the refusal is recorded, and `check` lists the secret until it gets
            // a new value. Only when the refused password is the one sesame holds.
            let found = request.find(&unlocked.vault).filter(|s| {
                request
                    .password
                    .as_ref()
                    // A sealed (confirmed) value is not opened for this: the refusal is recorded.
                    .is_none_or(|p| {
                        s.current
                            .value
                            .plain()
                            .is_none_or(|v| p.expose() == v.expose())
                    })
            });
            let (labels, detail) = match found {
                Some(secret) => (
                    vec![secret.label.to_string()],
                    format!("rejected by {host}; kept (`sesame check` lists it until rotated)"),
                ),
                None => (
                    Vec::new(),
                    format!("erase for {host}: not a password sesame holds; no secret marked"),
                ),
            };
            let action = if labels.is_empty() {
                "git-erase"
            } else {
                "git-reject"
            };
            ctx.record(&unlocked, event(action, labels, detail));
            Ok(())
        }
    }
}

/// git's `store`: the server accepted this credential. Saved under the request's own label
/// (`git/HOST/PATH` with a path, else `git/HOST`), never the host-wide secret that answered a
/// request with a path; only for https, or plain http to this machine (noted `protocol=http`).
fn git_store(
    ctx: &Context,
    unlocked: UnlockedVault,
    request: &git::Request,
    host: &str,
) -> Result<()> {
    let Some(password) = request.password.as_ref().filter(|p| !p.is_empty()) else {
        return Ok(()); // nothing to save
    };
    if request.expires {
        // A short-lived token (git-credential-oauth, GCM): by the next use it has expired, and
        // its own helper makes a new one. Recorded only: this happens on every push.
        let detail = format!("store for {host}: not saved (a token with password_expiry_utc)");
        ctx.record(&unlocked, event("git-store", Vec::new(), detail));
        return Ok(());
    }
    let protocol = match request.store_protocol() {
        Ok(protocol) => protocol,
        Err(why) => {
            let detail = format!("store for {host}: not saved ({why})");
            return skip(ctx, &unlocked, "git-store", Vec::new(), detail);
        }
    };
    let label = request.new_label()?;
    let accepted = Accepted {
        env_name: git::env_name_for(&label)?,
        label,
        value: password.duplicate(),
        username: request.username.clone(),
        protocol,
    };
    // git goes on whatever a helper's store says; a declined store is said on stderr.
    store(
        ctx,
        unlocked,
        "git-store",
        accepted,
        &format!("store for {host}"),
    )?;
    Ok(())
}

/// A `store` sesame does not save: recorded in the usage log, and said in one line on stderr.
fn skip(
    ctx: &Context,
    unlocked: &UnlockedVault,
    action: &str,
    labels: Vec<String>,
    detail: String,
) -> Result<()> {
    super::warn(&detail);
    ctx.record(unlocked, event(action, labels, detail));
    Ok(())
}

/// Saves what a helper's `store` was given ([`Accepted::save`]) in one commit, or, when the value
/// is already current, only records that the server accepted it. A secret under the label that
/// belongs to another user (or protocol) is left as it is ([`Accepted::conflict`]): then the
/// one-line reason is returned, for a helper whose caller should hear it (docker).
fn store(
    ctx: &Context,
    unlocked: UnlockedVault,
    action: &str,
    accepted: Accepted,
    detail: &str,
) -> Result<Option<String>> {
    let labels = vec![accepted.label.to_string()];
    if let Some(why) = accepted.conflict(&unlocked.vault) {
        let detail = format!(
            "{detail}: {} not changed, {why} (`sesame rotate` or `sesame edit` it)",
            accepted.label
        );
        skip(ctx, &unlocked, action, labels, detail.clone())?;
        return Ok(Some(detail));
    }
    if accepted.is_current(&unlocked.vault) {
        let detail = format!("{detail}: accepted, unchanged");
        ctx.record(&unlocked, event(action, labels, detail));
        return Ok(None);
    }
    let detail = if unlocked.vault.get(&accepted.label).is_ok() {
        format!("{detail}: new value (the old one kept in history)")
    } else {
        format!("{detail}: new secret")
    };
    let now = crate::units::now();
    ctx.commit(unlocked, event(action, labels, detail), |u| {
        accepted.save(&mut u.vault, now)
    })?;
    Ok(None)
}

pub(super) fn docker_credential(ctx: &Context, args: DockerCredentialArgs) -> Result<u8> {
    let action = Action::parse(&args.action).ok_or_else(|| {
        Error::usage(format!(
            "docker-credential takes get, store, erase or list, not {:?}",
            crate::printable::printable(&args.action)
        ))
    })?;
    let request = match action {
        Action::List => zeroize::Zeroizing::new(Vec::new()),
        _ => docker::read_request(&mut std::io::stdin().lock())?,
    };
    let unlocked = ctx.unlock_without_asking()?;
    match action {
        Action::Get => {
            let server = docker::server_url(&request)?;
            let shown = docker::shown(&server);
            let found = docker::label_for(&server)
                .ok()
                .and_then(|label| unlocked.vault.get(&label).ok());
            let Some(secret) = found else {
                let detail = format!("get for {shown}: no secret");
                ctx.record(&unlocked, event("docker-get", Vec::new(), detail));
                write_out(format!("{}\n", docker::NOT_FOUND).as_bytes())?;
                return Ok(1);
            };
            let user = username_in_note(secret.note.as_deref()).unwrap_or_default();
            let value = crate::approval::open_value(&unlocked, secret, &secret.current)?;
            let out = docker::answer(&secret.label, &server, user, value.expose())?;
            let labels = vec![secret.label.to_string()];
            ctx.record(
                &unlocked,
                event("docker-get", labels, format!("get for {shown}")),
            );
            write_out(&out)?;
            Ok(0)
        }
        Action::Store => {
            let credential = docker::credential(&request)?;
            let label = docker::label_for(&credential.server_url)?;
            let shown = docker::shown(&credential.server_url);
            let accepted = Accepted {
                env_name: docker::env_name_for(&label)?,
                label,
                value: SecretValue::new(zeroize::Zeroizing::new(
                    credential.secret.as_bytes().to_vec(),
                )),
                username: Some(credential.username.clone()),
                protocol: None,
            };
            let declined = store(
                ctx,
                unlocked,
                "docker-store",
                accepted,
                &format!("store for {shown}"),
            )?;
            // A declined store fails, so `docker login` says the credentials were not saved
            // (docker shows what a helper printed on stdout) instead of "Login Succeeded".
            match declined {
                None => Ok(0),
                Some(why) => {
                    write_out(format!("sesame: {why}\n").as_bytes())?;
                    Ok(1)
                }
            }
        }
        Action::Erase => {
            // `docker logout`: nothing is deleted (`sesame rm docker/HOST` does that).
            let server = docker::server_url(&request)?;
            let shown = docker::shown(&server);
            let labels: Vec<String> = docker::label_for(&server)
                .ok()
                .filter(|l| unlocked.vault.get(l).is_ok())
                .map(|l| vec![l.to_string()])
                .unwrap_or_default();
            let detail = format!("logout from {shown}; kept (`sesame rm` removes it)");
            ctx.record(&unlocked, event("docker-erase", labels, detail));
            Ok(0)
        }
        Action::List => {
            let out = docker::list(&unlocked.vault)?;
            ctx.record(
                &unlocked,
                event("docker-list", Vec::new(), "list".to_string()),
            );
            write_out(&out)?;
            Ok(0)
        }
    }
}

pub(super) fn helpers(command: HelpersCommand) -> Result<()> {
    let HelpersCommand::Install { dir } = command;
    let exe = std::env::current_exe()
        .map_err(|e| Error::io("cannot find the sesame binary to link to", e))?;
    let link = dir.join(DOCKER_HELPER_NAME);
    let shown = link.display();
    match std::fs::read_link(&link) {
        Ok(target) if target == exe => {
            eprintln!("{shown} already links to {}.", exe.display());
            return Ok(());
        }
        Ok(_) => std::fs::remove_file(&link)
            .map_err(|e| Error::io(format!("cannot replace the link {shown}"), e))?,
        Err(_) if std::fs::symlink_metadata(&link).is_ok() => {
            return Err(Error::usage(format!(
                "{shown} exists and is not a link; remove it, or choose another folder"
            )));
        }
        Err(_) => {}
    }
    std::os::unix::fs::symlink(&exe, &link)
        .map_err(|e| Error::io(format!("cannot write the link {shown}"), e))?;
    eprintln!("Linked {shown} to {}.", exe.display());
    if !std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|p| p == dir))
    {
        super::warn(format!(
            "{} is not on PATH; docker finds {DOCKER_HELPER_NAME} only through PATH",
            dir.display()
        ));
    }
    Ok(())
}
