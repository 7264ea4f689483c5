//! The cryptographic operations sesame uses, each a thin call into a published crate: Argon2id
//! with bounded parameters (`argon2-rust`, or RustCrypto `argon2` without the `fast-argon2`
//! feature), AES-256-GCM sealing, HKDF-SHA256 key derivation, and the OS random number generator.
//! No primitive is implemented here; this module only fixes the inputs that `docs/FORMAT.md`
//! specifies and makes sure the temporaries are wiped.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce, Tag};
use hkdf::Hkdf;
use std::time::{Duration, Instant};

use rand::TryRng;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::secret::KEY_LEN;

/// Length of every salt (Argon2id and HKDF), in bytes.
pub const SALT_LEN: usize = 32;
/// Length of an AES-256-GCM nonce, in bytes.
pub const NONCE_LEN: usize = 12;
/// Length of an AES-256-GCM tag, in bytes; every ciphertext is this much longer than its plaintext.
pub const TAG_LEN: usize = 16;

/// The small Argon2id cost the unit tests use (8 MiB, one pass), as the end-to-end tests do.
#[cfg(test)]
pub(crate) const TEST_KDF: KdfParams = KdfParams {
    memory_kib: 8 * 1024,
    iterations: 1,
    parallelism: 1,
};

/// Argon2id cost parameters of one key slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB (Argon2 `m`).
    pub memory_kib: u32,
    /// Passes over memory (Argon2 `t`).
    pub iterations: u32,
    /// Lanes (Argon2 `p`).
    pub parallelism: u32,
}

impl KdfParams {
    /// `m=64MiB, t=3, p=4`: how messages and `status` show the parameters.
    pub fn describe(&self) -> String {
        format!(
            "m={}, t={}, p={}",
            crate::units::format_size_kib(self.memory_kib),
            self.iterations,
            self.parallelism
        )
    }

    /// RFC 9106's second recommended option: 64 MiB, 3 passes, 4 lanes.
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 4,
    };
    /// The least `init` accepts (tests use it).
    pub const MIN_MEMORY_KIB: u32 = 8 * 1024;
    /// The fewest passes a file may ask for.
    pub const MIN_ITERATIONS: u32 = 1;
    /// Caps a file may not exceed: checked before any memory is allocated.
    pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
    /// The most passes a file may ask for.
    pub const MAX_ITERATIONS: u32 = 100;
    /// The most lanes a file may ask for.
    pub const MAX_PARALLELISM: u32 = 64;

    /// Checks the bounds of `docs/FORMAT.md` (for parameters read from a file).
    pub fn check_bounds(&self) -> std::result::Result<(), String> {
        if self.parallelism < 1 || self.parallelism > Self::MAX_PARALLELISM {
            return Err(format!(
                "Argon2 parallelism {} is outside 1..={}",
                self.parallelism,
                Self::MAX_PARALLELISM
            ));
        }
        if self.iterations < 1 || self.iterations > Self::MAX_ITERATIONS {
            return Err(format!(
                "Argon2 iterations {} is outside 1..={}",
                self.iterations,
                Self::MAX_ITERATIONS
            ));
        }
        let min_memory = 8 * self.parallelism;
        if self.memory_kib < min_memory || self.memory_kib > Self::MAX_MEMORY_KIB {
            return Err(format!(
                "Argon2 memory {} KiB is outside {}..={} KiB",
                self.memory_kib,
                min_memory,
                Self::MAX_MEMORY_KIB
            ));
        }
        Ok(())
    }

    /// Checks what `init` and `passwd` accept from the user: the file bounds plus the floor.
    pub fn check_for_new_slot(&self) -> Result<()> {
        self.check_bounds().map_err(Error::Usage)?;
        if self.memory_kib < Self::MIN_MEMORY_KIB {
            return Err(Error::usage(format!(
                "--kdf-memory must be at least 8MiB (got {} KiB)",
                self.memory_kib
            )));
        }
        Ok(())
    }

    /// The most memory a passphrase slot may ask for before sesame asks the user first: 1 GiB,
    /// so a vault made with `init --kdf-memory 1GiB` never asks.
    pub const BUDGET_MEMORY_KIB: u32 = 1024 * 1024;
    /// The most passes a passphrase slot may ask for before sesame asks the user first: more
    /// than three times the default, and more than any RFC 9106 or OWASP recommendation.
    pub const BUDGET_ITERATIONS: u32 = 10;
    /// The most work (memory in KiB times passes) before sesame asks: 1 GiB over 4 passes, about
    /// 21 times the default (64 MiB over 3 passes).
    pub const BUDGET_WORK: u64 = 4 * 1024 * 1024;

    /// Argon2's work for these parameters: memory in KiB times passes. Lanes share the memory,
    /// so parallelism changes the wall time, not the work.
    pub fn work(&self) -> u64 {
        u64::from(self.memory_kib) * u64::from(self.iterations)
    }

    /// True when deriving a key with these parameters costs more than sesame spends without the
    /// user's consent (`docs/FORMAT.md`, "Cost of a passphrase slot"): more than 1 GiB, more than
    /// 10 passes, or more than 1 GiB × 4 passes of work. The format caps (4 GiB, 100 passes)
    /// still bound what the user can consent to.
    pub fn exceeds_budget(&self) -> bool {
        self.memory_kib > Self::BUDGET_MEMORY_KIB
            || self.iterations > Self::BUDGET_ITERATIONS
            || self.work() > Self::BUDGET_WORK
    }

    /// How many times the work of the default parameters these ask for, rounded up.
    pub fn times_default_work(&self) -> u64 {
        self.work().div_ceil(Self::DEFAULT.work())
    }

    /// True when any parameter is below the documented defaults.
    pub fn is_below_default(&self) -> bool {
        self.memory_kib < Self::DEFAULT.memory_kib || self.iterations < Self::DEFAULT.iterations
    }
}

/// What [`tune`] chose for a time target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuned {
    /// The parameters chosen.
    pub params: KdfParams,
    /// The measured time of one derivation with `params`.
    pub measured: Duration,
    /// The target allowed more than the memory cap ([`KdfParams::BUDGET_MEMORY_KIB`], 1 GiB).
    pub capped: bool,
    /// Even the defaults take longer than the target; the defaults were kept.
    pub defaults_too_slow: bool,
}

/// Picks the Argon2id parameters for `init --kdf-target`: the most memory (then passes) whose
/// derivation, timed by `measure`, fits in `target`; never below [`KdfParams::DEFAULT`], and
/// never past the cost budget (1 GiB, 10 passes, 4 GiB·passes), so the vault never triggers the
/// cost question. Memory first: it is what makes an attacker's hardware expensive; passes only
/// once memory reaches the 1 GiB cap.
///
/// Argon2's time is close to linear in memory × passes, so each step extrapolates from the last
/// measurement, then measures the candidate and steps down while it overshoots.
pub fn tune(
    target: Duration,
    parallelism: u32,
    mut measure: impl FnMut(KdfParams) -> Result<Duration>,
) -> Result<Tuned> {
    const MIB: u32 = 1024;
    let base = KdfParams {
        parallelism,
        ..KdfParams::DEFAULT
    };
    base.check_for_new_slot()?;
    // Twice, keeping the faster: the first run also pays for page faults and thread start-up.
    let base_time = measure(base)?.min(measure(base)?);
    let mut best = Tuned {
        params: base,
        measured: base_time,
        capped: false,
        defaults_too_slow: base_time > target,
    };
    if best.defaults_too_slow {
        return Ok(best);
    }
    // Memory at the default passes: extrapolate from the last measurement, then narrow the
    // interval between the largest memory that fits and the smallest that does not. Large
    // memory costs more than linear (page faults), so the first guesses overshoot.
    let mut rate = base_time.as_secs_f64() / base.work() as f64;
    let mut fits = base.memory_kib;
    let mut too_slow: Option<u32> = None;
    for _ in 0..MAX_MEASUREMENTS {
        let guess = target.as_secs_f64() / rate / f64::from(base.iterations) * 0.97;
        let upper = too_slow.unwrap_or(KdfParams::BUDGET_MEMORY_KIB + MIB);
        let mut memory_kib =
            (guess.min(f64::from(u32::MAX)) as u32 / MIB * MIB).min(KdfParams::BUDGET_MEMORY_KIB);
        if memory_kib <= fits || memory_kib >= upper {
            // The guess left the interval: halve it instead.
            memory_kib = (fits + (upper - fits) / 2) / MIB * MIB;
        }
        if memory_kib <= fits || upper - fits <= 8 * MIB {
            break;
        }
        let candidate = KdfParams { memory_kib, ..base };
        let mut took = measure(candidate)?;
        if took > target {
            // Noise on a shared machine only ever adds time: a second try settles an overshoot.
            took = took.min(measure(candidate)?);
        }
        rate = took.as_secs_f64() / candidate.work() as f64;
        if took > target {
            too_slow = Some(memory_kib);
            continue;
        }
        fits = memory_kib;
        best.params = candidate;
        best.measured = took;
        if memory_kib == KdfParams::BUDGET_MEMORY_KIB
            || took.as_secs_f64() >= target.as_secs_f64() * 0.9
        {
            break;
        }
    }
    best.capped = best.params.memory_kib == KdfParams::BUDGET_MEMORY_KIB && too_slow.is_none();
    if !best.capped {
        return Ok(best);
    }
    // At the memory cap with time to spare: more passes while they fit the target and the budget.
    let per_pass = best.measured.as_secs_f64() / f64::from(best.params.iterations);
    let mut at_cap = best.params;
    at_cap.iterations = ((target.as_secs_f64() / per_pass) as u32)
        .clamp(base.iterations, KdfParams::BUDGET_ITERATIONS);
    while at_cap.exceeds_budget() && at_cap.iterations > base.iterations {
        at_cap.iterations -= 1;
    }
    while at_cap.iterations > best.params.iterations {
        let took = measure(at_cap)?;
        if took <= target {
            best.params = at_cap;
            best.measured = took;
            break;
        }
        at_cap.iterations -= 1;
    }
    Ok(best)
}

/// At most this many trial sizes after the defaults (each measured once, twice if too slow).
const MAX_MEASUREMENTS: usize = 6;

/// Times one derivation with `params` (a random passphrase and salt), for [`tune`].
pub fn time_derivation(params: KdfParams) -> Result<Duration> {
    let passphrase: [u8; 16] = random_array()?;
    let salt: [u8; SALT_LEN] = random_array()?;
    let start = Instant::now();
    derive_kek(&passphrase, &salt, params)?;
    Ok(start.elapsed())
}

/// Derives a 32-byte key-encryption key from a passphrase with Argon2id (version 0x13).
///
/// The parameters are checked against the format's bounds before any memory is allocated; the
/// working memory is allocated fallibly (a large but allowed cost is an error, not an abort) and
/// wiped before it is freed, whichever backend derives the key (see [`argon2_fast`]).
pub fn derive_kek(
    passphrase: &[u8],
    salt: &[u8; SALT_LEN],
    params: KdfParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    params.check_bounds().map_err(Error::Kdf)?;
    #[cfg(feature = "fast-argon2")]
    return argon2_fast(passphrase, salt, params);
    #[cfg(not(feature = "fast-argon2"))]
    return argon2_rustcrypto(passphrase, salt, params);
}

/// Argon2 backends.
///
/// `argon2-rust` (the default, feature `fast-argon2`) is a port of the C reference with SIMD
/// fill loops chosen at run time (AVX-512, AVX2, SSE2, NEON, scalar); it derives the same tags as
/// RustCrypto `argon2`, which a differential test checks on every CI run. Its working memory is an
/// arena (an anonymous mapping on Linux) that its `zeroize-memory` feature, enabled here, wipes
/// with volatile writes before unmapping, on success, error and unwind alike; its BLAKE2b states
/// and the pre-hash H0 are wiped too. What neither backend can wipe: copies the kernel may have
/// made (swap; sesame does not lock 64 MiB of Argon2 memory), and registers.
#[cfg(feature = "fast-argon2")]
pub fn argon2_fast(
    passphrase: &[u8],
    salt: &[u8; SALT_LEN],
    params: KdfParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    use argon2_rust::{Algorithm, Argon2, Params, Version, params::Memory};
    let argon_params = Params::builder()
        .memory(Memory::kib(u64::from(params.memory_kib)))
        .passes(params.iterations)
        .lanes(params.parallelism)
        .build()
        .map_err(|e| Error::Kdf(e.to_string()))?;
    let mut kek = Zeroizing::new([0u8; KEY_LEN]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params)
        .hash_into(passphrase, salt, kek.as_mut_slice())
        .map_err(|e| match e {
            argon2_rust::Error::MemoryAllocationError => Error::Kdf(format!(
                "cannot allocate {} MiB for Argon2",
                params.memory_kib / 1024
            )),
            other => Error::Kdf(other.to_string()),
        })?;
    Ok(kek)
}

/// Argon2id through RustCrypto `argon2` (the reference of the differential test, and the KDF of
/// a build without `fast-argon2`). That crate does not wipe its working memory, so the blocks are
/// allocated here and zeroized before they are freed.
pub fn argon2_rustcrypto(
    passphrase: &[u8],
    salt: &[u8; SALT_LEN],
    params: KdfParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    use argon2::{Algorithm, Argon2, Block, Params, Version};
    let argon_params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(KEY_LEN),
    )
    .map_err(|e| Error::Kdf(e.to_string()))?;
    let block_count = argon_params.block_count();
    let mut blocks: Vec<Block> = Vec::new();
    blocks.try_reserve_exact(block_count).map_err(|_| {
        Error::Kdf(format!(
            "cannot allocate {} MiB for Argon2",
            block_count / 1024
        ))
    })?;
    blocks.resize(block_count, Block::default());
    let mut kek = Zeroizing::new([0u8; KEY_LEN]);
    let result = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params)
        .hash_password_into_with_memory(passphrase, salt, kek.as_mut_slice(), &mut blocks[..]);
    blocks.zeroize();
    result.map_err(|e| Error::Kdf(e.to_string()))?;
    Ok(kek)
}

/// HKDF-SHA256 of a 32-byte key with `salt` and `info` into a 32-byte key.
pub fn hkdf_key(ikm: &[u8; KEY_LEN], salt: &[u8], info: &[u8]) -> Zeroizing<[u8; KEY_LEN]> {
    hkdf_key_from(ikm, salt, info)
}

/// HKDF-SHA256 (extract with `salt`, expand with `info`) of any input key material.
pub fn hkdf_key_from(ikm: &[u8], salt: &[u8], info: &[u8]) -> Zeroizing<[u8; KEY_LEN]> {
    let mut okm = Zeroizing::new([0u8; KEY_LEN]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte output limit, so expand cannot fail.
    if Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, okm.as_mut_slice())
        .is_err()
    {
        unreachable!("HKDF-SHA256 can always produce 32 bytes");
    }
    okm
}

/// AES-256-GCM encryption: returns ciphertext ‖ tag.
pub fn seal(key: &[u8; KEY_LEN], nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    Aead::new(key).seal(nonce, aad, plaintext)
}

/// AES-256-GCM decryption of ciphertext ‖ tag. `None` when authentication fails.
pub fn open(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    Aead::new(key).open(nonce, aad, sealed)
}

/// AES-256-GCM under one key, for many messages (the usage log's records): the key schedule is
/// computed once, not once per record.
pub(crate) struct Aead(Aes256Gcm);

impl Aead {
    /// The cipher under `key`, its key schedule computed once.
    pub(crate) fn new(key: &[u8; KEY_LEN]) -> Aead {
        Aead(Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)))
    }

    /// Returns ciphertext ‖ tag.
    pub(crate) fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut buffer = Vec::with_capacity(plaintext.len() + TAG_LEN);
        buffer.extend_from_slice(plaintext);
        let tag = match self.0.encrypt_inout_detached(
            &Nonce::from(*nonce),
            aad,
            buffer.as_mut_slice().into(),
        ) {
            Ok(tag) => tag,
            // Only inputs longer than 64 GiB fail, and sesame never seals more than 256 MiB.
            Err(_) => unreachable!("AES-GCM plaintext within its length limit"),
        };
        buffer.extend_from_slice(&tag);
        buffer
    }

    /// Opens ciphertext ‖ tag; `None` when authentication fails.
    pub(crate) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        let split = sealed.len().checked_sub(TAG_LEN)?;
        let (ciphertext, tag) = sealed.split_at(split);
        let tag: Tag = Tag::try_from(tag).ok()?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        self.0
            .decrypt_inout_detached(
                &Nonce::from(*nonce),
                aad,
                buffer.as_mut_slice().into(),
                &tag,
            )
            .ok()?;
        Some(buffer)
    }
}

/// Fills an array from the operating system's CSPRNG.
pub fn random_array<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|_| Error::Random)?;
    Ok(bytes)
}

/// A new random key in a zeroizing buffer.
pub fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    rand::rngs::SysRng
        .try_fill_bytes(key.as_mut_slice())
        .map_err(|_| Error::Random)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(memory_mib: u32, iterations: u32, parallelism: u32) -> KdfParams {
        KdfParams {
            memory_kib: memory_mib * 1024,
            iterations,
            parallelism,
        }
    }

    #[test]
    fn what_init_suggests_is_within_the_budget() {
        // The defaults, the test parameters, and a user who chose 1 GiB (at the default passes
        // or RFC 9106's first option, 2 GiB aside) are never asked about.
        for ok in [
            KdfParams::DEFAULT,
            params(8, 1, 1),
            params(1024, 3, 4),
            params(1024, 4, 4),
            params(256, 10, 4),
            params(64, 10, 64),
        ] {
            assert!(!ok.exceeds_budget(), "{ok:?}");
        }
    }

    #[test]
    fn costs_above_the_budget_are_flagged() {
        for costly in [
            params(1025, 1, 1),    // more than 1 GiB
            params(4096, 100, 64), // the format caps
            params(8, 11, 1),      // more than 10 passes, however little memory
            params(1024, 5, 4),    // 1 GiB over 5 passes: more than 4 GiB·passes
            params(512, 9, 4),     // 4.5 GiB·passes
        ] {
            assert!(costly.exceeds_budget(), "{costly:?}");
        }
    }

    /// The fast backend must derive exactly what RustCrypto `argon2` derives: a vault sealed by
    /// one build opens with the other, and a differing tag would lock users out. Random
    /// passphrases (0–64 bytes), salts and parameters within the format's bounds, kept small
    /// (8–256 KiB, 1–4 passes, 1–8 lanes) so the whole test takes well under a second.
    #[cfg(feature = "fast-argon2")]
    #[test]
    fn fast_argon2_derives_the_same_keys_as_rustcrypto_argon2() -> Result<()> {
        use rand::{Rng, RngExt};
        let mut rng = rand::rng();
        for case in 0..48 {
            let mut passphrase = vec![0u8; rng.random_range(0..=64)];
            rng.fill_bytes(&mut passphrase);
            let salt: [u8; SALT_LEN] = random_array()?;
            let parallelism = rng.random_range(1..=8);
            let params = KdfParams {
                memory_kib: rng.random_range(8 * parallelism..=256),
                iterations: rng.random_range(1..=4),
                parallelism,
            };
            params.check_bounds().map_err(Error::Kdf)?;
            let fast = argon2_fast(&passphrase, &salt, params)?;
            let reference = argon2_rustcrypto(&passphrase, &salt, params)?;
            assert_eq!(*fast, *reference, "case {case}: {params:?}");
        }
        // One case at the defaults, the parameters nearly every vault has.
        let salt = [7u8; SALT_LEN];
        assert_eq!(
            *argon2_fast(b"correct horse", &salt, KdfParams::DEFAULT)?,
            *argon2_rustcrypto(b"correct horse", &salt, KdfParams::DEFAULT)?
        );
        Ok(())
    }

    /// A machine whose Argon2 takes `ns_per_kib_pass` nanoseconds per KiB per pass.
    fn linear(ns_per_kib_pass: u64) -> impl FnMut(KdfParams) -> Result<Duration> {
        move |p| Ok(Duration::from_nanos(p.work() * ns_per_kib_pass))
    }

    #[test]
    fn kdf_target_picks_the_most_memory_that_fits_at_the_default_passes() {
        // 3 µs per KiB·pass: 64 MiB t=3 takes 0.59 s, and 1 s fits about 108 MiB at 3 passes.
        let tuned = tune(Duration::from_secs(1), 4, linear(3000)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tuned.params.iterations, 3);
        assert_eq!(tuned.params.parallelism, 4);
        assert!(tuned.measured <= Duration::from_secs(1), "{tuned:?}");
        assert!(tuned.params.memory_kib >= 100 * 1024, "{tuned:?}");
        assert!(tuned.params.memory_kib.is_multiple_of(1024) && !tuned.capped);
        assert!(!tuned.params.exceeds_budget());
    }

    #[test]
    fn kdf_target_caps_memory_at_1_gib_then_adds_passes_within_the_budget() {
        // A fast machine: 1 GiB × 3 passes takes 0.3 s, so 1 s would allow far more than the
        // budget; it stops at 1 GiB and 4 passes (4 GiB·passes), and says it was capped.
        let tuned = tune(Duration::from_secs(1), 4, linear(100)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tuned.params.memory_kib, KdfParams::BUDGET_MEMORY_KIB);
        assert_eq!(tuned.params.iterations, 4);
        assert!(tuned.capped);
        assert!(!tuned.params.exceeds_budget(), "{tuned:?}");
        // Slower still per pass, the passes stop at the budget too.
        let tuned = tune(Duration::from_secs(100), 1, linear(1)).unwrap_or_else(|e| panic!("{e}"));
        assert!(!tuned.params.exceeds_budget(), "{tuned:?}");
    }

    #[test]
    fn kdf_target_steps_back_when_large_memory_is_slower_than_linear() {
        // Page faults make large memory cost more than linear: the first extrapolation
        // overshoots, and the search must still end on a fit close to the target.
        let mut calls = 0;
        let model = |p: KdfParams| {
            calls += 1;
            let mib = f64::from(p.memory_kib) / 1024.0;
            let ms = p.work() as f64 * 0.0005 * (1.0 + mib / 128.0);
            Ok(Duration::from_secs_f64(ms / 1000.0))
        };
        let target = Duration::from_secs(1);
        let tuned = tune(target, 4, model).unwrap_or_else(|e| panic!("{e}"));
        assert!(tuned.measured <= target, "{tuned:?}");
        assert!(tuned.measured >= target.mul_f64(0.8), "{tuned:?}");
        assert!(calls <= 2 + 2 * MAX_MEASUREMENTS);
    }

    #[test]
    fn kdf_target_never_goes_below_the_defaults() {
        // 64 MiB × 3 passes takes 2 s here: the target cannot be met, the defaults stay.
        let tuned =
            tune(Duration::from_secs(1), 4, linear(10_000)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tuned.params, KdfParams::DEFAULT);
        assert!(tuned.defaults_too_slow);
    }

    #[test]
    fn the_cost_is_told_as_a_multiple_of_the_default() {
        assert_eq!(KdfParams::DEFAULT.times_default_work(), 1);
        assert_eq!(params(4096, 100, 1).times_default_work(), 2134);
        assert_eq!(params(8, 1, 1).times_default_work(), 1);
    }
}
