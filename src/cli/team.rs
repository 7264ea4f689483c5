//! `push` and `pull`: sharing secrets with a team through one OpenBao KV version 2 secret.

use std::collections::BTreeMap;

use clap::Args;

use super::{Context, warn};
use crate::error::{Error, Result};
use crate::inject::loads_or_runs_code;
use crate::names::Label;
use crate::openbao::Connection;
use crate::openbao::reference::KvPath;
use crate::secret::SecretValue;
use crate::units;
use crate::usage::Event;
use crate::vault::MAX_VALUE_LEN;

#[derive(Args)]
pub struct PushArgs {
    /// The secrets to push; each becomes a field named by its label
    #[arg(value_name = "LABEL", required = true)]
    labels: Vec<String>,
    /// The KV version 2 secret to write: bao://MOUNT/PATH (its other fields are kept)
    #[arg(long, value_name = "bao://MOUNT/PATH")]
    to: String,
}

#[derive(Args)]
pub struct PullArgs {
    /// The KV version 2 secret to read: bao://MOUNT/PATH
    #[arg(value_name = "bao://MOUNT/PATH")]
    from: String,
    /// Label each secret P/FIELD instead of FIELD
    #[arg(long, value_name = "P")]
    prefix: Option<String>,
    /// Rotate existing secrets to the pulled value (history kept) instead of skipping them
    #[arg(long)]
    overwrite: bool,
}

pub(super) fn push(ctx: &Context, args: PushArgs) -> Result<()> {
    let target = KvPath::parse(&args.to)?;
    let labels = args
        .labels
        .iter()
        .map(|l| Label::parse(l))
        .collect::<Result<Vec<_>>>()?;
    let conn = Connection::from_env()?;
    require_token(&conn)?;
    let unlocked = ctx.unlock()?;
    let mut fields: BTreeMap<String, SecretValue> = BTreeMap::new();
    // The secret as it is now, so its other fields are kept; `cas` makes OpenBao refuse the
    // write if someone else wrote a version in between.
    let version = match conn.kv_read(&target.mount, &target.path)? {
        Some(current) => {
            fields = current.fields;
            current.version
        }
        None => 0,
    };
    for label in &labels {
        let value = unlocked.vault.get(label)?.current.plain(label)?;
        fields.insert(label.to_string(), value.duplicate());
    }
    let written = conn.kv_write(&target.mount, &target.path, &fields, version)?;
    let event = Event::new("push", labels.iter().map(Label::to_string).collect())
        .detail(format!("to {target}"));
    ctx.record(&unlocked, event);
    eprintln!(
        "Pushed {} secret{} to {target} (version {written}).",
        labels.len(),
        if labels.len() == 1 { "" } else { "s" }
    );
    Ok(())
}

pub(super) fn pull(ctx: &Context, args: PullArgs) -> Result<()> {
    let source = KvPath::parse(&args.from)?;
    let conn = Connection::from_env()?;
    require_token(&conn)?;
    let secret = conn
        .kv_read(&source.mount, &source.path)?
        .ok_or_else(|| Error::BaoNotFound {
            addr: conn.addr().to_string(),
            what: format!("the KV secret {source}"),
        })?;
    let mut planned: Vec<(Label, SecretValue)> = Vec::new();
    let mut skipped = 0usize;
    for (field, value) in secret.fields {
        let text = match &args.prefix {
            Some(p) => format!("{}/{field}", p.trim_end_matches('/')),
            None => field.clone(),
        };
        let label = match Label::parse(&text) {
            Ok(l) => l,
            Err(e) => {
                warn(format!("field {field:?} skipped: {e}"));
                skipped += 1;
                continue;
            }
        };
        let env = label.default_env_name();
        if loads_or_runs_code(env.as_str()) {
            warn(format!(
                "field {field:?} skipped: its env name {env} makes programs load or run code \
                 (like LD_PRELOAD, PATH or BASH_ENV), and a shared KV path never sets it"
            ));
            skipped += 1;
            continue;
        }
        if value.is_empty() || value.len() > MAX_VALUE_LEN {
            warn(format!(
                "field {field:?} skipped: a value is 1 byte to 1 MiB"
            ));
            skipped += 1;
            continue;
        }
        planned.push((label, value));
    }
    let unlocked = ctx.unlock()?;
    let labels = planned.iter().map(|(l, _)| l.to_string()).collect();
    let event =
        Event::new("pull", labels).detail(format!("from {source} (version {})", secret.version));
    let overwrite = args.overwrite;
    let now = units::now();
    let merged = ctx.commit(unlocked, event, move |u| {
        let incoming = planned.into_iter().map(|(label, value)| {
            let env = label.default_env_name();
            (label, env, value)
        });
        u.vault.merge(incoming, overwrite, now)
    })?;
    let (added, rotated, existing, same) = (
        merged.added,
        merged.rotated,
        merged.skipped,
        merged.unchanged,
    );
    for label in &existing {
        warn(format!(
            "{label} skipped: it exists; --overwrite rotates it to the pulled value"
        ));
    }
    eprintln!(
        "Pulled {source}: {added} added, {rotated} rotated, {same} unchanged, {} skipped.",
        existing.len() + skipped
    );
    Ok(())
}

fn require_token(conn: &Connection) -> Result<()> {
    if conn.has_token() {
        Ok(())
    } else {
        Err(Error::usage(
            "no OpenBao token: set BAO_TOKEN (or VAULT_TOKEN), log in with `bao login`, or set \
                 BAO_AUTH for sesame to log in (docs/TEAM.md)",
        ))
    }
}
