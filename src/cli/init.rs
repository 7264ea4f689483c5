//! `sesame init`, and the pieces `passwd` and `rekey` share with it: the Argon2 flags and the
//! one-time display of a recovery code.

use std::time::Duration;

use clap::Args;

use super::{Context, warn};
use crate::container::UnlockedVault;
use crate::crypto::{self, KdfParams};
use crate::error::{Error, Result};
use crate::recovery::RecoveryCode;
use crate::{input, store, transaction, units};

/// `--kdf-memory`, `--kdf-iterations`, `--kdf-parallelism`, `--kdf-target`.
#[derive(Args)]
pub(super) struct KdfArgs {
    /// Measure this machine and pick the most Argon2id memory (then passes) that opens the vault
    /// within TIME, e.g. 1s or 500ms; never below the defaults, at most 1GiB
    #[arg(long, value_name = "TIME", conflicts_with_all = ["kdf_memory", "kdf_iterations"])]
    kdf_target: Option<String>,
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
    pub(super) fn resolve(&self, base: KdfParams) -> Result<KdfParams> {
        if let Some(target) = &self.kdf_target {
            return self.tuned(target, base);
        }
        let kdf = KdfParams {
            memory_kib: match &self.kdf_memory {
                Some(text) => memory_flag(text)?,
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
                kdf.describe()
            ));
        }
        if asked && kdf.exceeds_budget() {
            warn(format!(
                "Argon2id {} is more work than sesame spends unasked (over 1GiB, over 10 passes \
                 or over 1GiB x 4 passes): every open will ask you to confirm, unless you pass \
                 --accept-kdf-cost or set SESAME_ACCEPT_KDF_COST=1",
                kdf.describe()
            ));
        }
        Ok(kdf)
    }
}

impl KdfArgs {
    /// `--kdf-target`: times Argon2 here (a second or two) and says what it chose and why.
    fn tuned(&self, target: &str, base: KdfParams) -> Result<KdfParams> {
        let target = humantime::parse_duration(target.trim())
            .ok()
            .filter(|t| (MIN_TARGET..=MAX_TARGET).contains(t))
            .ok_or_else(|| {
                Error::usage(format!(
                    "invalid --kdf-target {target:?}: give a time from 10ms to 60s, e.g. 1s or 500ms"
                ))
            })?;
        let parallelism = self.kdf_parallelism.unwrap_or(base.parallelism);
        eprintln!("Measuring Argon2id on this machine...");
        let tuned = crypto::tune(target, parallelism, crypto::time_derivation)?;
        let kdf = tuned.params;
        eprintln!(
            "Argon2id {} takes {} ms here (target {} ms).",
            kdf.describe(),
            tuned.measured.as_millis(),
            target.as_millis()
        );
        if tuned.defaults_too_slow {
            warn(format!(
                "even the defaults take longer than {} ms on this machine; keeping them (sesame \
                 never chooses less)",
                target.as_millis()
            ));
        }
        if tuned.capped {
            warn(
                "the target allows more than 1GiB of memory; capped at 1GiB (more would make \
                 every open ask for consent), with more passes instead",
            );
        }
        if kdf.memory_kib > KdfParams::DEFAULT.memory_kib {
            warn(format!(
                "these parameters are tuned to this machine: every device that must open this \
                 vault needs {} of free memory, and a slower one takes longer than {} ms; \
                 check on the slowest before you rely on it",
                units::format_size_kib(kdf.memory_kib),
                target.as_millis()
            ));
        }
        Ok(kdf)
    }
}

/// `--kdf-memory SIZE`, bounded with the message in the unit the user typed ("5GiB is over the
/// 4GiB limit", not "5242880 KiB is outside 32..=4194304 KiB").
fn memory_flag(text: &str) -> Result<u32> {
    let kib = units::parse_size_kib(text)?;
    let typed = text.trim();
    let unit = units::size_unit(typed);
    if kib > KdfParams::MAX_MEMORY_KIB {
        return Err(Error::usage(format!(
            "--kdf-memory {typed} is over the {} limit",
            units::format_size_in(KdfParams::MAX_MEMORY_KIB, unit)
        )));
    }
    if kib < KdfParams::MIN_MEMORY_KIB {
        return Err(Error::usage(format!(
            "--kdf-memory {typed} is under the {} minimum",
            units::format_size_in(KdfParams::MIN_MEMORY_KIB, unit)
        )));
    }
    Ok(kib)
}

/// `--kdf-target` bounds: below 10 ms nothing but the defaults fits; above a minute is a typo.
const MIN_TARGET: Duration = Duration::from_millis(10);
const MAX_TARGET: Duration = Duration::from_secs(60);

/// Prints a new recovery code alone on one stdout line; the explanation goes to stderr.
pub(super) fn show_recovery_code(code: &RecoveryCode) {
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
    /// Accept a passphrase that sesame's estimate (zxcvbn's model) rates easy to guess (below 3
    /// of 4)
    #[arg(long)]
    allow_weak: bool,
}

/// Refuses an easily guessed new passphrase unless `allow_weak` (see [`crate::strength`]).
pub(super) fn check_strength(
    passphrase: &crate::secret::Passphrase,
    path: &std::path::Path,
    allow_weak: bool,
) -> Result<()> {
    if allow_weak {
        return Ok(());
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    crate::strength::check(passphrase, &["sesame", "vault", &stem], "passphrase")
}

pub(super) fn run(ctx: &Context, args: InitArgs) -> Result<()> {
    let path = &ctx.path;
    if store::exists(path) && !args.force {
        return Err(Error::VaultExists { path: path.clone() });
    }
    let kdf = args.kdf.resolve(KdfParams::DEFAULT)?;
    let passphrase = input::init_passphrase(&ctx.fds, path, &|pass| {
        if pass.is_empty() {
            return Err(Error::usage(
                "the passphrase is empty; choose a long passphrase",
            ));
        }
        check_strength(pass, path, args.allow_weak)
    })?;
    let (mut vault, code) = super::with_kdf_status("creating", path, Some(kdf), || {
        UnlockedVault::create(&passphrase, kdf, !args.no_recovery)
    })?;
    let done = transaction::create(path, &mut vault, args.force)?;
    super::context::report(&done);
    if let Some(kept) = &done.generation {
        eprintln!("The replaced vault is kept as {}.", kept.display());
    }
    eprintln!("Created {} (Argon2id {}).", path.display(), kdf.describe());
    if let Some(code) = code {
        show_recovery_code(&code);
    }
    Ok(())
}
