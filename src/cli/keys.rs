//! `passwd`, `recover`, `rekey`: the vault's own keys.

use clap::Args;

use super::Context;
use super::init::{KdfArgs, show_recovery_code};
use crate::container::UnlockedVault;
use crate::crypto::KdfParams;
use crate::error::{Error, Result};
use crate::recovery::RecoveryCode;
use crate::slots::passphrase::PassphraseWrapper;
use crate::slots::recovery::RecoveryWrapper;
use crate::slots::{self, Wrapper};
use crate::usage::Event;
use crate::{input, store, transaction, unlock};

#[derive(Args)]
pub struct PasswdArgs {
    /// New Argon2id parameters for the passphrase slot (default: keep the current ones)
    #[command(flatten)]
    kdf: KdfArgs,
    /// Accept a new passphrase that sesame's estimate (zxcvbn's model) rates easy to guess
    /// (below 3 of 4)
    #[arg(long)]
    allow_weak: bool,
}

#[derive(Args)]
pub struct RecoverArgs {
    /// Accept a new passphrase that sesame's estimate (zxcvbn's model) rates easy to guess
    /// (below 3 of 4)
    #[arg(long)]
    allow_weak: bool,
}

#[derive(Args)]
pub struct RekeyArgs {
    #[command(flatten)]
    kdf: KdfArgs,
    /// Do not create a new recovery code (the old one stops working either way)
    #[arg(long)]
    no_recovery: bool,
    /// Drop the bao-transit slots OpenBao cannot re-wrap (unreachable, refused) instead of
    /// refusing to rekey
    #[arg(long)]
    drop_unreachable: bool,
}

/// Asks for the new passphrase, derives its slot (before the lock) and saves it (under the lock).
fn set_new_passphrase(
    ctx: &Context,
    unlocked: UnlockedVault,
    kdf: KdfParams,
    action: &str,
    allow_weak: bool,
) -> Result<()> {
    let new = input::new_passphrase(&ctx.fds, &ctx.path, &|pass| {
        super::init::check_strength(pass, &ctx.path, allow_weak)
    })?;
    let slot = super::with_kdf_status("protecting", &ctx.path, Some(kdf), || {
        unlocked.wrap_passphrase(&new, kdf)
    })?;
    ctx.commit(unlocked, Event::new(action, Vec::new()), |u| {
        u.replace_passphrase_slot(slot);
        Ok(())
    })
}

pub(super) fn passwd(ctx: &Context, args: PasswdArgs) -> Result<()> {
    // Not through the agent: changing the vault's own keys needs the current passphrase.
    let (unlocked, _) = ctx.unlock_keeping_passphrase()?;
    let kdf = args
        .kdf
        .resolve(unlocked.passphrase_kdf().unwrap_or(KdfParams::DEFAULT))?;
    set_new_passphrase(ctx, unlocked, kdf, "passwd", args.allow_weak)?;
    eprintln!("Passphrase changed (Argon2id {}).", kdf.describe());
    warn_about_old_copies(ctx, "passphrase");
    Ok(())
}

pub(super) fn recover(ctx: &Context, args: RecoverArgs) -> Result<()> {
    let bytes = store::read(&ctx.path)?;
    // The new passphrase slot keeps the current parameters: their cost is spent on wrapping it.
    ctx.confirm_kdf_cost(&crate::container::inspect(&bytes, &ctx.path)?.header)?;
    let unlocked = open_with_recovery_asking_again(ctx, &bytes)?;
    let kdf = unlocked.passphrase_kdf().unwrap_or(KdfParams::DEFAULT);
    set_new_passphrase(ctx, unlocked, kdf, "recover", args.allow_weak)?;
    eprintln!(
        "New passphrase set. The recovery code still works; `sesame rekey` replaces it if it may \
         have been seen."
    );
    Ok(())
}

/// Opens with the recovery code; a code typed at the prompt that is mistyped (a wrong check
/// symbol, a wrong length) or wrong is asked again, [`input::PROMPT_TRIES`] times in all, as a
/// passphrase is. A code from a descriptor or the environment is tried once.
fn open_with_recovery_asking_again(ctx: &Context, bytes: &[u8]) -> Result<UnlockedVault> {
    let mut attempt = 1;
    loop {
        let (typed, origin) = input::recovery_code_sourced(&ctx.fds)?;
        let opened = RecoveryCode::parse(typed.expose())
            .and_then(|code| UnlockedVault::open_with_recovery(bytes, &code, &ctx.path));
        match opened {
            Err(e @ (Error::WrongRecoveryCode { .. } | Error::Usage(_)))
                if origin == input::Origin::Prompt && attempt < input::PROMPT_TRIES =>
            {
                eprintln!("{}; try again.", without_advice(&e.to_string()));
                attempt += 1;
            }
            opened => return opened,
        }
    }
}

/// An error's message up to its first `;` (without its advice), capitalised.
fn without_advice(text: &str) -> String {
    let head = text.split(';').next().unwrap_or(text);
    let mut chars = head.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub(super) fn rekey(ctx: &Context, args: RekeyArgs) -> Result<()> {
    let (unlocked, passphrase) = ctx.unlock_keeping_passphrase()?;
    let kdf = args
        .kdf
        .resolve(unlocked.passphrase_kdf().unwrap_or(KdfParams::DEFAULT))?;
    let event = Event::new("rekey", Vec::new());
    let code = if args.no_recovery {
        None
    } else {
        Some(RecoveryCode::generate()?)
    };
    // Every slot of an external kind (bao-transit, ...) is re-made for the new key by its kind;
    // when one cannot be, rekey refuses (nothing changed) unless --drop-unreachable.
    let ((dropped, lost, generation), done) =
        transaction::transact_keys(&ctx.path, unlocked, event, |u| {
            let unlock::Rewrap {
                wrappers: external,
                dropped: mut lost,
            } = unlock::rewrappers(u, &ctx.inputs, args.drop_unreachable)?;
            let pass = PassphraseWrapper {
                passphrase: &passphrase,
                kdf,
            };
            let recovery = code.as_ref().map(RecoveryWrapper);
            let mut wrappers: Vec<&dyn Wrapper> = vec![&pass];
            if let Some(r) = &recovery {
                wrappers.push(r);
            }
            wrappers.extend(external.iter().map(Box::as_ref));
            let done = u.rekey(&wrappers)?;
            lost.extend(done.skipped.iter().filter_map(|k| slots::kind_info(*k)));
            Ok((done.unknown_dropped, lost, u.header.key_generation))
        })?;
    super::context::report(&done);
    if done.agent_stopped {
        eprintln!(
            "The agent of this vault held the old key and was stopped; `sesame unlock` again."
        );
    }
    eprintln!(
        "New data key (generation {generation}); every secret is re-encrypted and the old \
         recovery code no longer works."
    );
    for kind in slots::KINDS {
        let count = lost.iter().filter(|k| k.kind == kind.kind).count();
        if let (true, Some(external)) = (count > 0, kind.external) {
            super::warn(format!(
                "{count} {} slot(s) could not be re-made for the new key and were removed; {}",
                kind.name, external.add_again_hint
            ));
        }
    }
    if dropped > 0 {
        super::warn(format!(
            "{dropped} key slot(s) of a kind this build does not know wrapped the old key and were removed"
        ));
    }
    warn_about_old_copies(ctx, "passphrase and recovery code");
    if let Some(code) = code {
        show_recovery_code(&code);
    }
    Ok(())
}

/// After a key change: how many copies still open with what was just replaced.
fn warn_about_old_copies(ctx: &Context, what: &str) {
    let current = store::read(&ctx.path).ok().and_then(|b| {
        crate::container::inspect(&b, &ctx.path)
            .ok()
            .map(|p| p.header)
    });
    let old = crate::backup::list(&ctx.path)
        .iter()
        .filter(|c| {
            matches!(
                super::backup::opens_with(c.header.as_ref(), current.as_ref()),
                "an older passphrase" | "an older key (before rekey)"
            )
        })
        .count();
    if old > 0 {
        eprintln!(
            "{old} cop{} of the vault in {} still open{} with the old {what}; \
             `sesame backups --prune` removes {}.",
            if old == 1 { "y" } else { "ies" },
            crate::printable::path(&crate::backup::folder(&ctx.path)),
            if old == 1 { "s" } else { "" },
            if old == 1 { "it" } else { "them" },
        );
    }
}
