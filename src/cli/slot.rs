//! `slot list`, `slot add bao-transit`, `slot rm`: the vault's key slots.

use clap::{Args, Subcommand};
use serde_json::json;

use super::{Context, print_json, render_table, short_time};
use crate::container::inspect;
use crate::error::{Error, Result};
use crate::openbao::{Connection, check_path};
use crate::slots::bao_transit::{self, TransitSlot, TransitWrapper};
use crate::slots::{self, kind_name};
use crate::store;
use crate::usage::Event;

#[derive(Subcommand)]
pub enum SlotCommand {
    /// The vault's key slots: number, kind, details, created
    List {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Add a key slot (kind: bao-transit)
    Add(AddArgs),
    /// Remove slot N (not the last one that can open the vault)
    Rm {
        /// The slot number `slot list` shows
        number: usize,
    },
}

#[derive(Args)]
pub struct AddArgs {
    /// The kind of slot: bao-transit (the data key wrapped by OpenBao's Transit engine)
    kind: String,
    /// The Transit key's name
    #[arg(long, value_name = "NAME")]
    key: String,
    /// The Transit engine's mount
    #[arg(long, value_name = "MOUNT", default_value = "transit")]
    mount: String,
}

pub fn run(ctx: &Context, command: SlotCommand) -> Result<()> {
    match command {
        SlotCommand::List { json } => list(ctx, json),
        SlotCommand::Add(args) => add(ctx, args),
        SlotCommand::Rm { number } => rm(ctx, number),
    }
}

fn list(ctx: &Context, as_json: bool) -> Result<()> {
    let bytes = store::read(&ctx.path)?;
    let header = inspect(&bytes, &ctx.path)?.header;
    let rows: Vec<(usize, String, String, Option<i64>)> = header
        .slots
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let details = slots::kind_info(s.kind).map_or_else(
                || format!("{} bytes", s.body.len()),
                |k| (k.details)(&s.body),
            );
            let created = (s.kind == bao_transit::KIND)
                .then(|| TransitSlot::parse(&s.body).ok().map(|t| t.created))
                .flatten();
            (i, kind_name(s.kind), details, created)
        })
        .collect();
    if as_json {
        let list: Vec<_> = rows
            .iter()
            .map(|(i, kind, details, created)| {
                json!({
                    "number": i,
                    "kind": kind,
                    "details": details,
                    "created": created.map(crate::units::format_time),
                })
            })
            .collect();
        return print_json(&list);
    }
    let table: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(i, kind, details, created)| {
            vec![
                i.to_string(),
                kind,
                details,
                created.map_or_else(|| "-".into(), short_time),
            ]
        })
        .collect();
    super::write_stdout(render_table(&["N", "KIND", "DETAILS", "CREATED"], &table).as_bytes())?;
    Ok(())
}

fn add(ctx: &Context, args: AddArgs) -> Result<()> {
    if args.kind != "bao-transit" {
        return Err(Error::usage(format!(
            "sesame can add slots of kind bao-transit, not {:?}; the passphrase slot changes with \
             `sesame passwd`, the recovery slot with `sesame rekey`",
            args.kind
        )));
    }
    check_path(&args.mount, "mount")?;
    check_path(&args.key, "key name")?;
    let conn = Connection::from_env()?;
    if !conn.has_token() {
        return Err(Error::usage(
            "no OpenBao token: set BAO_TOKEN (or VAULT_TOKEN), or log in with `bao login`",
        ));
    }
    // The data key is needed here, so not through the agent (it never hands the key out).
    let unlocked = ctx.unlock_local()?;
    let wrapper = TransitWrapper {
        conn: &conn,
        mount: args.mount.clone(),
        key: args.key.clone(),
        optional: false,
    };
    let Some(slot) = unlocked.wrap_slot(&wrapper)? else {
        return Err(Error::usage("the Transit slot could not be made"));
    };
    let number = ctx.commit(unlocked, Event::new("slot add", Vec::new()), |u| {
        u.add_slot(slot)?;
        Ok(u.header.slots.len() - 1)
    })?;
    eprintln!(
        "Added slot {number}: the data key wrapped by {}/{}/encrypt/{}. A token whose policy \
         allows {}/decrypt/{} now opens this vault with no passphrase.",
        conn.addr(),
        args.mount,
        args.key,
        args.mount,
        args.key
    );
    Ok(())
}

fn rm(ctx: &Context, number: usize) -> Result<()> {
    let unlocked = ctx.unlock()?;
    let removed = ctx.commit(unlocked, Event::new("slot rm", Vec::new()), |u| {
        let removed = u.remove_slot(number)?;
        // Checked on the vault as it is under the lock: known kinds are the ones that open it.
        if !u
            .header
            .slots
            .iter()
            .any(|s| slots::kind_info(s.kind).is_some())
        {
            return Err(Error::usage(format!(
                "slot {number} is the last slot that can open this vault; nothing was removed"
            )));
        }
        Ok(removed)
    })?;
    eprintln!("Removed slot {number} ({}).", kind_name(removed.kind));
    Ok(())
}
