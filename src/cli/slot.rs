//! `slot list`, `slot add KIND`, `slot rm`: the vault's key slots. `slot add` takes its kinds and
//! their arguments from the slot registry (`crate::slots::KINDS`): this file names no kind.

use clap::{ArgMatches, FromArgMatches, Subcommand};
use serde_json::json;

use super::{Context, print_json, render_table, short_time};
use crate::container::{UnlockedVault, inspect};
use crate::error::{Error, Result};
use crate::slots::{self, SlotKind, kind_name};
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
    /// Add a key slot of a kind that opens the vault from something you carry
    #[command(subcommand_value_name = "KIND", subcommand_help_heading = "Kinds")]
    Add {
        #[command(subcommand)]
        kind: AddSlot,
    },
    /// Remove slot N (not the last one that can open the vault)
    Rm {
        /// The slot number `slot list` shows
        number: usize,
    },
}

/// `slot add KIND ARGS`: one subcommand per registered kind that can be added, with the
/// arguments the kind declares.
pub struct AddSlot {
    kind: &'static SlotKind,
    args: ArgMatches,
}

fn addable() -> impl Iterator<Item = (&'static SlotKind, &'static slots::External)> {
    slots::externals().into_iter()
}

impl FromArgMatches for AddSlot {
    fn from_arg_matches(matches: &ArgMatches) -> std::result::Result<Self, clap::Error> {
        let missing = || clap::Error::new(clap::error::ErrorKind::MissingSubcommand);
        let (name, args) = matches.subcommand().ok_or_else(missing)?;
        let kind = addable()
            .find(|(k, _)| k.name == name)
            .map(|(k, _)| k)
            .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidSubcommand))?;
        Ok(AddSlot {
            kind,
            args: args.clone(),
        })
    }

    fn update_from_arg_matches(
        &mut self,
        matches: &ArgMatches,
    ) -> std::result::Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Subcommand for AddSlot {
    fn augment_subcommands(command: clap::Command) -> clap::Command {
        addable().fold(command, |c, (_, external)| {
            c.subcommand((external.add_command)())
        })
    }

    fn augment_subcommands_for_update(command: clap::Command) -> clap::Command {
        Self::augment_subcommands(command)
    }

    fn has_subcommand(name: &str) -> bool {
        addable().any(|(k, _)| k.name == name)
    }
}

pub(super) fn run(ctx: &Context, command: SlotCommand) -> Result<()> {
    match command {
        SlotCommand::List { json } => list(ctx, json),
        SlotCommand::Add { kind } => add(ctx, kind),
        SlotCommand::Rm { number } => rm(ctx, number),
    }
}

/// Which slot opened the vault this time, in the user's words.
pub(super) fn opened_by(unlocked: &UnlockedVault) -> String {
    match unlocked.opened_by {
        Some(n) => unlocked.header.slots.get(n).map_or_else(
            || format!("slot {n}"),
            |s| format!("slot {n} ({})", kind_name(s.kind)),
        ),
        None => "the agent".into(),
    }
}

fn list(ctx: &Context, as_json: bool) -> Result<()> {
    let bytes = store::read(&ctx.path)?;
    let header = inspect(&bytes, &ctx.path)?.header;
    // Opened only when that costs no prompt (the agent, a key the user carries, a passphrase
    // source), to say which slot opened it this time.
    let opened = ctx
        .unlock_unprompted(&bytes)
        .ok()
        .flatten()
        .and_then(|u| u.opened_by);
    let rows: Vec<(usize, String, String, Option<i64>)> = header
        .slots
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut details = slots::kind_info(s.kind).map_or_else(
                || format!("{} bytes", s.body.len()),
                |k| (k.details)(&s.body),
            );
            if opened == Some(i) {
                details.push_str(" (opened the vault this time)");
            }
            let created = slots::kind_info(s.kind).and_then(|k| (k.created)(&s.body));
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

fn add(ctx: &Context, add: AddSlot) -> Result<()> {
    let external = add
        .kind
        .external
        .ok_or_else(|| Error::usage(format!("slots of kind {} are not added", add.kind.name)))?;
    let (wrapper, what) = (external.add)(&add.args, &ctx.inputs)?;
    // The data key is needed here, so not through the agent (it never hands the key out).
    let unlocked = ctx.unlock_local()?;
    let Some(slot) = unlocked.wrap_slot(wrapper.as_ref())? else {
        return Err(Error::Failed(format!(
            "the {} slot could not be made",
            add.kind.name
        )));
    };
    let event = Event::new("slot add", Vec::new()).detail(add.kind.name);
    let number = ctx.commit(unlocked, event, |u| {
        // Checked on the vault as it is under the lock.
        let taken = u
            .header
            .slots
            .iter()
            .position(|s| s.kind == slot.kind && (external.same_slot)(&slot.body, &s.body));
        if let Some(n) = taken {
            return Err(Error::usage(format!(
                "slot {n} ({}) has that name already; remove it first with `sesame slot rm \
                 {n}`, or choose another --name",
                add.kind.name
            )));
        }
        u.add_slot(slot)?;
        Ok(u.header.slots.len() - 1)
    })?;
    eprintln!("Added slot {number}: {what}.");
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
