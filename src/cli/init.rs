//! `sesame init`, and the pieces `passwd` and `rekey` share with it: the Argon2 flags and the
//! one-time display of a recovery code.

use clap::Args;

use super::{Context, warn};
use crate::container::UnlockedVault;
use crate::crypto::KdfParams;
use crate::error::{Error, Result};
use crate::recovery::RecoveryCode;
use crate::{input, store, transaction, units};

/// `--kdf-memory`, `--kdf-iterations`, `--kdf-parallelism`.
#[derive(Args)]
pub struct KdfArgs {
    /// Argon2id memory, e.g. 64MiB, 256MiB, 1GiB (at least 8MiB) [default: 64MiB]
    #[arg(long, value_name = "SIZE")]
    kdf_memory: Option<String>,
    /// Argon2id passes over memory, 1-100 [default: 3]
    #[arg(long, value_name = "N")]
    kdf_iterations: Option<u32>,
    /// Argon2id lanes, 1-64 [default: 4]
    #[arg(long, value_name = "N")]
    kdf_parallelism: Option<u32>,
}

impl KdfArgs {
    /// The parameters asked for, each flag not given taken from `base`; checked, with a warning
    /// when the flags given ask for less than the documented defaults.
    pub fn resolve(&self, base: KdfParams) -> Result<KdfParams> {
        let kdf = KdfParams {
            memory_kib: match &self.kdf_memory {
                Some(text) => units::parse_size_kib(text)?,
                None => base.memory_kib,
            },
            iterations: self.kdf_iterations.unwrap_or(base.iterations),
            parallelism: self.kdf_parallelism.unwrap_or(base.parallelism),
        };
        kdf.check_for_new_slot()?;
        let asked = self.kdf_memory.is_some()
            || self.kdf_iterations.is_some()
            || self.kdf_parallelism.is_some();
        if asked && kdf.is_below_default() {
            warn(format!(
                "Argon2id parameters below the defaults ({}; defaults 64MiB, t=3, p=4) make a \
                 stolen vault cheaper to attack",
                describe_kdf(kdf)
            ));
        }
        if asked && kdf.exceeds_budget() {
            warn(format!(
                "Argon2id {} is more work than sesame spends unasked (over 1GiB, over 10 passes \
                 or over 1GiB x 4 passes): every open will ask you to confirm, unless you pass \
                 --accept-kdf-cost or set SESAME_ACCEPT_KDF_COST=1",
                describe_kdf(kdf)
            ));
        }
        Ok(kdf)
    }
}

pub fn describe_kdf(kdf: KdfParams) -> String {
    format!(
        "m={}, t={}, p={}",
        units::format_size_kib(kdf.memory_kib),
        kdf.iterations,
        kdf.parallelism
    )
}

/// Prints a new recovery code alone on one stdout line; the explanation goes to stderr.
pub fn show_recovery_code(code: &RecoveryCode) {
    eprintln!(
        "Recovery code below: it is shown only this once. Write it down and keep it offline; with \
         it, `sesame recover` sets a new passphrase if you forget yours."
    );
    println!("{}", code.display().as_str());
}

#[derive(Args)]
pub struct InitArgs {
    #[command(flatten)]
    kdf: KdfArgs,
    /// Do not create a recovery code
    #[arg(long)]
    no_recovery: bool,
    /// Replace an existing vault (its secrets are lost)
    #[arg(long)]
    force: bool,
}

pub fn run(ctx: &Context, args: InitArgs) -> Result<()> {
    let path = &ctx.path;
    if store::exists(path) && !args.force {
        return Err(Error::VaultExists { path: path.clone() });
    }
    let kdf = args.kdf.resolve(KdfParams::DEFAULT)?;
    let passphrase = input::passphrase(&ctx.fds, path, true)?;
    if passphrase.is_empty() {
        return Err(Error::usage(
            "the passphrase is empty; choose a long passphrase",
        ));
    }
    let (mut vault, code) = UnlockedVault::create(&passphrase, kdf, !args.no_recovery)?;
    let done = transaction::create(path, &mut vault, args.force)?;
    super::context::report(&done);
    if let Some(kept) = &done.generation {
        eprintln!("The replaced vault is kept as {}.", kept.display());
    }
    eprintln!(
        "Created {} (Argon2id {}).",
        path.display(),
        describe_kdf(kdf)
    );
    if let Some(code) = code {
        show_recovery_code(&code);
    }
    Ok(())
}
