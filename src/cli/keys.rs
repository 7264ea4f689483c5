//! `passwd`, `recover`, `rekey`: the vault's own keys.

use clap::Args;

use super::Context;
use super::init::{KdfArgs, describe_kdf, show_recovery_code};
use crate::container::UnlockedVault;
use crate::crypto::KdfParams;
use crate::error::Result;
use crate::recovery::RecoveryCode;
use crate::usage::{self, Event};
use crate::{input, store};

#[derive(Args)]
pub struct PasswdArgs {
    /// New Argon2id parameters for the passphrase slot (default: keep the current ones)
    #[command(flatten)]
    kdf: KdfArgs,
}

#[derive(Args)]
pub struct RekeyArgs {
    #[command(flatten)]
    kdf: KdfArgs,
    /// Do not create a new recovery code (the old one stops working either way)
    #[arg(long)]
    no_recovery: bool,
}

/// Asks for the new passphrase, derives its slot (before the lock) and saves it (under the lock).
fn set_new_passphrase(
    ctx: &Context,
    unlocked: UnlockedVault,
    kdf: KdfParams,
    action: &str,
) -> Result<()> {
    let new = input::new_passphrase(&ctx.fds, &ctx.path)?;
    let slot = unlocked.wrap_passphrase(&new, kdf)?;
    ctx.commit(unlocked, Event::new(action, Vec::new()), |u| {
        u.replace_passphrase_slot(slot);
        Ok(())
    })
}

pub fn passwd(ctx: &Context, args: PasswdArgs) -> Result<()> {
    // Not through the agent: changing the vault's own keys needs the current passphrase.
    let (unlocked, _) = ctx.unlock_keeping_passphrase()?;
    let kdf = args
        .kdf
        .resolve(unlocked.passphrase_kdf().unwrap_or(KdfParams::DEFAULT))?;
    set_new_passphrase(ctx, unlocked, kdf, "passwd")?;
    eprintln!(
        "Passphrase changed (Argon2id {}). Copies of the vault made before now still open with the \
         old passphrase.",
        describe_kdf(kdf)
    );
    Ok(())
}

pub fn recover(ctx: &Context) -> Result<()> {
    let bytes = store::read(&ctx.path)?;
    crate::container::inspect(&bytes, &ctx.path)?;
    let typed = input::recovery_code(&ctx.fds)?;
    let code = RecoveryCode::parse(typed.expose())?;
    let unlocked = UnlockedVault::open_with_recovery(&bytes, &code, &ctx.path)?;
    let kdf = unlocked.passphrase_kdf().unwrap_or(KdfParams::DEFAULT);
    set_new_passphrase(ctx, unlocked, kdf, "recover")?;
    eprintln!(
        "New passphrase set. The recovery code still works; `sesame rekey` replaces it if it may \
         have been seen."
    );
    Ok(())
}

pub fn rekey(ctx: &Context, args: RekeyArgs) -> Result<()> {
    let (unlocked, passphrase) = ctx.unlock_keeping_passphrase()?;
    let kdf = args
        .kdf
        .resolve(unlocked.passphrase_kdf().unwrap_or(KdfParams::DEFAULT))?;
    // Not `Context::commit`: the usage log is sealed under the data key, so it is read with the
    // old key and rewritten with the new one, after the vault, under the same lock.
    let _lock = store::lock(&ctx.path)?;
    let bytes = store::read(&ctx.path)?;
    let mut current = unlocked.reopen(&bytes, &ctx.path)?;
    let log = usage::read(&ctx.path, &current)?;
    let (code, dropped) = current.rekey(&passphrase, kdf, !args.no_recovery)?;
    store::write_atomic(&ctx.path, &current.seal()?)?;
    let mut events = log.events;
    events.push(Event::new("rekey", Vec::new()));
    if let Err(e) = usage::rewrite(&ctx.path, &current, &events) {
        super::warn(format!("the usage log could not be re-encrypted: {e}"));
    }
    if crate::agent::client::lock(&ctx.path) {
        eprintln!(
            "The agent of this vault held the old key and was stopped; `sesame unlock` again."
        );
    }
    let generation = current.header.key_generation;
    eprintln!(
        "New data key (generation {generation}); every secret is re-encrypted and the old \
         recovery code no longer works."
    );
    if dropped > 0 {
        super::warn(format!(
            "{dropped} key slot(s) of a kind this build does not know wrapped the old key and were removed"
        ));
    }
    if let Some(code) = code {
        show_recovery_code(&code);
    }
    Ok(())
}
