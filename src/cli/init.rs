//! `sesame init`: create a vault.

use clap::Args;

use super::{Context, warn};
use crate::container::UnlockedVault;
use crate::crypto::KdfParams;
use crate::error::{Error, Result};
use crate::{input, store, units};

#[derive(Args)]
pub struct InitArgs {
    /// Argon2id memory, e.g. 64MiB, 256MiB, 1GiB (at least 8MiB)
    #[arg(long, value_name = "SIZE", default_value = "64MiB")]
    kdf_memory: String,
    /// Argon2id passes over memory (1-100)
    #[arg(long, value_name = "N", default_value_t = KdfParams::DEFAULT.iterations)]
    kdf_iterations: u32,
    /// Argon2id lanes (1-64)
    #[arg(long, value_name = "N", default_value_t = KdfParams::DEFAULT.parallelism)]
    kdf_parallelism: u32,
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
    let kdf = KdfParams {
        memory_kib: units::parse_size_kib(&args.kdf_memory)?,
        iterations: args.kdf_iterations,
        parallelism: args.kdf_parallelism,
    };
    kdf.check_for_new_slot()?;
    if kdf.is_below_default() {
        warn(format!(
            "Argon2id parameters below the defaults (m={}, t={}, p={}; defaults 64MiB, 3, 4) make \
             a stolen vault cheaper to attack",
            units::format_size_kib(kdf.memory_kib),
            kdf.iterations,
            kdf.parallelism
        ));
    }
    let passphrase = input::passphrase(ctx.passphrase_fd, path, true)?;
    if passphrase.is_empty() {
        return Err(Error::usage(
            "the passphrase is empty; choose a long passphrase",
        ));
    }
    store::ensure_folder(path)?;
    let _lock = store::lock(path)?;
    // Checked again under the lock: another `init` may have won the race.
    if store::exists(path) && !args.force {
        return Err(Error::VaultExists { path: path.clone() });
    }
    let mut vault = UnlockedVault::create(&passphrase, kdf)?;
    store::write_atomic(path, &vault.seal()?)?;
    eprintln!(
        "Created {} (Argon2id m={}, t={}, p={}).",
        path.display(),
        units::format_size_kib(kdf.memory_kib),
        kdf.iterations,
        kdf.parallelism
    );
    if !args.no_recovery {
        warn(
            "this build does not make recovery codes yet: if you forget the passphrase, the vault cannot be opened",
        );
    }
    Ok(())
}
