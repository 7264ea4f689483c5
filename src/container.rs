//! The key hierarchy applied to a file: unwrapping the data key from a slot, opening and sealing
//! the payload, making a new vault. Pure functions over bytes; `store` does the file I/O.

use std::path::Path;

use zeroize::Zeroizing;

use crate::crypto::{self, KdfParams};
use crate::error::{Error, Result};
use crate::format::read::{FormatError, ParsedFile, parse_file};
use crate::format::write::encode_header;
use crate::format::{
    FORMAT_VERSION, Header, MAX_FILE_LEN, MAX_HEADER_LEN, PassphraseSlot, Purpose, RECOVERY_INFO,
    RecoverySlot, SLOT_KIND_PASSPHRASE, SLOT_KIND_RECOVERY, Slot, codec, slot_aad,
};
use crate::recovery::RecoveryCode;
use crate::secret::{DataKey, KEY_LEN, Passphrase};
use crate::vault::Vault;

/// Something that can derive keys from a vault's data key: the key itself, in this process, or
/// the agent, which derives them without ever handing the key out (`docs/AGENT.md`).
pub trait KeyHolder: Send + Sync {
    /// HKDF-SHA256 of the data key with `salt` and the purpose's `info`.
    fn subkey(&self, salt: &[u8], purpose: Purpose) -> Result<Zeroizing<[u8; KEY_LEN]>>;
    /// The data key itself, when this process holds it.
    fn data_key(&self) -> Option<&DataKey>;
}

/// The data key held in this process.
pub struct LocalKey(pub DataKey);

impl KeyHolder for LocalKey {
    fn subkey(&self, salt: &[u8], purpose: Purpose) -> Result<Zeroizing<[u8; KEY_LEN]>> {
        Ok(crypto::hkdf_key(self.0.expose(), salt, purpose.info()))
    }

    fn data_key(&self) -> Option<&DataKey> {
        Some(&self.0)
    }
}

/// A vault whose data key is available: its header, its key and its decoded contents.
pub struct UnlockedVault {
    pub header: Header,
    key: Box<dyn KeyHolder>,
    pub vault: Vault,
}

/// Maps a parse failure of the file at `path` to the user-facing error.
pub fn format_error(path: &Path, e: FormatError) -> Error {
    match e {
        FormatError::NewerVersion(version) => Error::NewerFormat {
            path: path.to_path_buf(),
            version,
        },
        other => Error::NotAVault {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    }
}

/// Parses a file's structure without any key: what `verify` and `status` can say unlocked.
pub fn inspect<'a>(bytes: &'a [u8], path: &Path) -> Result<ParsedFile<'a>> {
    parse_file(bytes).map_err(|e| format_error(path, e))
}

impl UnlockedVault {
    /// A new, empty vault: random vault id and data key, one passphrase slot, and a recovery
    /// slot whose code is returned (to be shown once) when `with_recovery`.
    pub fn create(
        passphrase: &Passphrase,
        kdf: KdfParams,
        with_recovery: bool,
    ) -> Result<(Self, Option<RecoveryCode>)> {
        let mut header = Header {
            version: FORMAT_VERSION,
            vault_id: crypto::random_array()?,
            key_generation: 1,
            payload_salt: [0; crypto::SALT_LEN],
            payload_nonce: [0; crypto::NONCE_LEN],
            payload_len: 0,
            slots: Vec::new(),
        };
        let data_key = DataKey::from_bytes(crypto::random_key()?);
        header.slots.push(Slot::Passphrase(wrap_for_passphrase(
            &header, &data_key, passphrase, kdf,
        )?));
        let mut unlocked = UnlockedVault {
            header,
            key: Box::new(LocalKey(data_key)),
            vault: Vault::default(),
        };
        let code = if with_recovery {
            Some(unlocked.new_recovery_code()?)
        } else {
            None
        };
        Ok((unlocked, code))
    }

    /// Opens a vault file with its recovery code, through its first recovery slot (kind 2).
    pub fn open_with_recovery(bytes: &[u8], code: &RecoveryCode, path: &Path) -> Result<Self> {
        let parsed = inspect(bytes, path)?;
        let h = &parsed.header;
        let slot = recovery_slot(h).ok_or_else(|| Error::NoSlot {
            path: path.to_path_buf(),
            kind: "recovery",
            kinds: slot_kinds(h),
            hint: "a vault made with --no-recovery opens with its passphrase only",
        })?;
        let aad = slot_aad(&h.vault_id, h.key_generation, SLOT_KIND_RECOVERY);
        let kek = crypto::hkdf_key_from(code.key_material(), &slot.salt, RECOVERY_INFO);
        let key = unwrap_key(&kek, &slot.nonce, &aad, &slot.wrapped_key).ok_or_else(|| {
            Error::WrongRecoveryCode {
                path: path.to_path_buf(),
            }
        })?;
        Self::open_payload(parsed, Box::new(LocalKey(key)), path)
    }

    /// Opens a vault file with a passphrase: parse, unwrap the data key from the first
    /// passphrase slot, authenticate and decrypt the payload (AAD = the whole header), decode it.
    ///
    /// This spends whatever Argon2 work the slot asks for, up to the format caps; a caller that
    /// did not choose the vault checks [`KdfParams::exceeds_budget`] on [`passphrase_slot`]
    /// first and asks its user (the command line does, before the passphrase prompt).
    pub fn open(bytes: &[u8], passphrase: &Passphrase, path: &Path) -> Result<Self> {
        let parsed = inspect(bytes, path)?;
        let data_key = unwrap_with_passphrase(&parsed.header, passphrase, path)?;
        Self::open_payload(parsed, Box::new(LocalKey(data_key)), path)
    }

    /// Opens a vault file with keys from `holder` (the agent).
    pub fn open_with(bytes: &[u8], holder: Box<dyn KeyHolder>, path: &Path) -> Result<Self> {
        let parsed = inspect(bytes, path)?;
        Self::open_payload(parsed, holder, path)
    }

    /// Opens a newer copy of the same vault with the data key already known (no Argon2): the
    /// payload still has to authenticate under this key and the new header.
    pub fn reopen(self, bytes: &[u8], path: &Path) -> Result<Self> {
        let parsed = inspect(bytes, path)?;
        if parsed.header.vault_id != self.header.vault_id
            || parsed.header.key_generation != self.header.key_generation
        {
            return Err(Error::VaultChanged {
                path: path.to_path_buf(),
            });
        }
        Self::open_payload(parsed, self.key, path)
    }

    fn open_payload(
        parsed: ParsedFile<'_>,
        key_holder: Box<dyn KeyHolder>,
        path: &Path,
    ) -> Result<Self> {
        let vault = decrypt_payload(&parsed, key_holder.as_ref(), path)?;
        Ok(UnlockedVault {
            header: parsed.header,
            key: key_holder,
            vault,
        })
    }

    /// Opens another file of this vault with the same key generation (a backup, an automatic
    /// generation) with the key already held: no Argon2. `None` when `bytes` belong to another
    /// vault or key generation, which this key cannot open.
    pub fn open_copy(&self, bytes: &[u8], path: &Path) -> Result<Option<Vault>> {
        let parsed = inspect(bytes, path)?;
        if parsed.header.vault_id != self.header.vault_id
            || parsed.header.key_generation != self.header.key_generation
        {
            return Ok(None);
        }
        decrypt_payload(&parsed, self.key.as_ref(), path).map(Some)
    }

    /// Seals the current contents into the bytes of a complete file, under a fresh payload salt
    /// and nonce (`docs/FORMAT.md`, "Writing").
    pub fn seal(&mut self) -> Result<Vec<u8>> {
        let plaintext = codec::encode(&self.vault).map_err(Error::Usage)?;
        let sealed_len = plaintext.len() as u64 + crypto::TAG_LEN as u64;
        if sealed_len > MAX_FILE_LEN - MAX_HEADER_LEN {
            return Err(Error::usage(
                "the vault would grow past 256 MiB; remove secrets or history before adding more",
            ));
        }
        self.header.payload_salt = crypto::random_array()?;
        self.header.payload_nonce = crypto::random_array()?;
        self.header.payload_len = sealed_len as u32;
        let key = self
            .key
            .subkey(&self.header.payload_salt, Purpose::Payload)?;
        let mut file = encode_header(&self.header);
        let ciphertext = crypto::seal(&key, &self.header.payload_nonce, &file, &plaintext);
        file.extend_from_slice(&ciphertext);
        Ok(file)
    }

    /// A key derived from the data key for another purpose (the usage log): HKDF-SHA256 with a
    /// fresh salt per use and a purpose-specific `info`. The data key itself never leaves.
    pub fn subkey(&self, salt: &[u8], purpose: Purpose) -> Result<Zeroizing<[u8; KEY_LEN]>> {
        self.key.subkey(salt, purpose)
    }

    /// The data key, when this process holds it (not when the agent opened the vault).
    pub fn data_key(&self) -> Result<&DataKey> {
        self.key.data_key().ok_or_else(|| {
            Error::usage("this needs the passphrase: the agent never hands out the vault's key")
        })
    }

    /// Argon2 parameters of the passphrase slot (the first one).
    pub fn passphrase_kdf(&self) -> Option<KdfParams> {
        passphrase_slot(&self.header).map(|s| s.kdf)
    }

    pub fn has_recovery(&self) -> bool {
        self.header
            .slots
            .iter()
            .any(|s| matches!(s, Slot::Recovery(_)))
    }

    /// A new passphrase slot for this vault's data key (the Argon2 run happens here, so callers
    /// can do it before taking the write lock).
    pub fn wrap_passphrase(
        &self,
        passphrase: &Passphrase,
        kdf: KdfParams,
    ) -> Result<PassphraseSlot> {
        wrap_for_passphrase(&self.header, self.data_key()?, passphrase, kdf)
    }

    /// Replaces every passphrase slot with `slot`, where the first one was. Other slots stay.
    pub fn replace_passphrase_slot(&mut self, slot: PassphraseSlot) {
        replace_slots(&mut self.header.slots, Slot::Passphrase(slot), |s| {
            matches!(s, Slot::Passphrase(_))
        });
    }

    /// Makes a new recovery code and replaces the recovery slot with one for it: the old code
    /// stops working.
    pub fn new_recovery_code(&mut self) -> Result<RecoveryCode> {
        let code = RecoveryCode::generate()?;
        let salt = crypto::random_array()?;
        let nonce = crypto::random_array()?;
        let kek = crypto::hkdf_key_from(code.key_material(), &salt, RECOVERY_INFO);
        let aad = slot_aad(
            &self.header.vault_id,
            self.header.key_generation,
            SLOT_KIND_RECOVERY,
        );
        let wrapped_key = wrap_key(&kek, &nonce, &aad, self.data_key()?);
        replace_slots(
            &mut self.header.slots,
            Slot::Recovery(RecoverySlot {
                salt,
                nonce,
                wrapped_key,
            }),
            |s| matches!(s, Slot::Recovery(_)),
        );
        Ok(code)
    }

    /// A new data key and key generation: every slot is rebuilt (one passphrase slot, and a new
    /// recovery slot when `with_recovery`); unknown slots wrap the old key and are dropped.
    /// Returns the new recovery code and how many unknown slots were dropped.
    pub fn rekey(
        &mut self,
        passphrase: &Passphrase,
        kdf: KdfParams,
        with_recovery: bool,
    ) -> Result<(Option<RecoveryCode>, usize)> {
        let dropped = self
            .header
            .slots
            .iter()
            .filter(|s| matches!(s, Slot::Unknown { .. }))
            .count();
        let data_key = DataKey::from_bytes(crypto::random_key()?);
        self.header.key_generation = self.header.key_generation.wrapping_add(1).max(1);
        self.header.slots.clear();
        let slot = wrap_for_passphrase(&self.header, &data_key, passphrase, kdf)?;
        self.key = Box::new(LocalKey(data_key));
        self.header.slots.push(Slot::Passphrase(slot));
        let code = if with_recovery {
            Some(self.new_recovery_code()?)
        } else {
            None
        };
        Ok((code, dropped))
    }
}

/// Authenticates and decrypts a parsed file's payload (AAD = the whole header) and decodes it.
fn decrypt_payload(parsed: &ParsedFile<'_>, holder: &dyn KeyHolder, path: &Path) -> Result<Vault> {
    let header = &parsed.header;
    let key = holder.subkey(&header.payload_salt, Purpose::Payload)?;
    let plaintext = crypto::open(
        &key,
        &header.payload_nonce,
        parsed.header_bytes,
        parsed.ciphertext,
    )
    .ok_or_else(|| Error::Tampered {
        path: path.to_path_buf(),
    })?;
    codec::decode(&plaintext).map_err(|reason| Error::NotAVault {
        path: path.to_path_buf(),
        reason,
    })
}

/// Puts `new` where the first slot matching `is_old` was (or at the end), removing the others.
fn replace_slots(slots: &mut Vec<Slot>, new: Slot, is_old: impl Fn(&Slot) -> bool) {
    let at = slots.iter().position(&is_old).unwrap_or(slots.len());
    slots.retain(|s| !is_old(s));
    slots.insert(at.min(slots.len()), new);
}

fn wrap_key(
    kek: &[u8; KEY_LEN],
    nonce: &[u8; crypto::NONCE_LEN],
    aad: &[u8],
    data_key: &DataKey,
) -> [u8; KEY_LEN + crypto::TAG_LEN] {
    let sealed = crypto::seal(kek, nonce, aad, data_key.expose());
    let mut wrapped = [0u8; KEY_LEN + crypto::TAG_LEN];
    wrapped.copy_from_slice(&sealed);
    wrapped
}

fn unwrap_key(
    kek: &[u8; KEY_LEN],
    nonce: &[u8; crypto::NONCE_LEN],
    aad: &[u8],
    wrapped: &[u8],
) -> Option<DataKey> {
    let key = crypto::open(kek, nonce, aad, wrapped)?;
    let bytes: [u8; KEY_LEN] = key[..].try_into().ok()?;
    Some(DataKey::from_bytes(Zeroizing::new(bytes)))
}

fn passphrase_slots(header: &Header) -> impl Iterator<Item = &PassphraseSlot> {
    header.slots.iter().filter_map(|slot| match slot {
        Slot::Passphrase(s) => Some(s),
        _ => None,
    })
}

/// The passphrase slot a passphrase opens: the first one. Later passphrase slots are never
/// tried, so a hostile file cannot multiply the Argon2 cost by its slot count (16 slots at the
/// caps would be hours of work); sesame itself writes exactly one.
pub fn passphrase_slot(header: &Header) -> Option<&PassphraseSlot> {
    passphrase_slots(header).next()
}

/// The recovery slot a recovery code opens: the first one, by the same rule.
fn recovery_slot(header: &Header) -> Option<&RecoverySlot> {
    header.slots.iter().find_map(|slot| match slot {
        Slot::Recovery(s) => Some(s),
        _ => None,
    })
}

/// "1, 2, 3": the slot kinds of a header, for messages.
fn slot_kinds(header: &Header) -> String {
    let kinds: Vec<String> = header.slots.iter().map(|s| s.kind().to_string()).collect();
    kinds.join(", ")
}

/// Unwraps the data key from the first passphrase slot (the only one tried).
fn unwrap_with_passphrase(
    header: &Header,
    passphrase: &Passphrase,
    path: &Path,
) -> Result<DataKey> {
    let slot = passphrase_slot(header).ok_or_else(|| Error::NoSlot {
        path: path.to_path_buf(),
        kind: "passphrase",
        kinds: slot_kinds(header),
        hint: "open it with its recovery code (`sesame recover`) or restore it from a backup",
    })?;
    let aad = slot_aad(
        &header.vault_id,
        header.key_generation,
        SLOT_KIND_PASSPHRASE,
    );
    let kek = crypto::derive_kek(passphrase.expose(), &slot.salt, slot.kdf)?;
    unwrap_key(&kek, &slot.nonce, &aad, &slot.wrapped_key).ok_or_else(|| Error::WrongPassphrase {
        path: path.to_path_buf(),
    })
}

/// Wraps the data key under a new Argon2id key from `passphrase` (fresh salt and nonce).
fn wrap_for_passphrase(
    header: &Header,
    data_key: &DataKey,
    passphrase: &Passphrase,
    kdf: KdfParams,
) -> Result<PassphraseSlot> {
    let salt = crypto::random_array()?;
    let nonce = crypto::random_array()?;
    let kek = crypto::derive_kek(passphrase.expose(), &salt, kdf)?;
    let aad = slot_aad(
        &header.vault_id,
        header.key_generation,
        SLOT_KIND_PASSPHRASE,
    );
    Ok(PassphraseSlot {
        kdf,
        salt,
        nonce,
        wrapped_key: wrap_key(&kek, &nonce, &aad, data_key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams {
        memory_kib: 8 * 1024,
        iterations: 1,
        parallelism: 1,
    };

    fn pass(s: &str) -> Passphrase {
        Passphrase::from_string(s.to_string())
    }

    #[test]
    #[cfg_attr(miri, ignore = "an 8 MiB Argon2 derivation is too slow under Miri")]
    fn a_new_vault_opens_with_its_passphrase_only() -> Result<()> {
        let path = Path::new("v.sesame");
        let (mut v, _) = UnlockedVault::create(&pass("correct horse"), FAST, false)?;
        let bytes = v.seal()?;
        let opened = UnlockedVault::open(&bytes, &pass("correct horse"), path)?;
        assert_eq!(opened.header.vault_id, v.header.vault_id);
        let wrong = UnlockedVault::open(&bytes, &pass("wrong"), path);
        assert!(matches!(wrong, Err(Error::WrongPassphrase { .. })));
        Ok(())
    }

    #[test]
    #[cfg_attr(miri, ignore = "an 8 MiB Argon2 derivation is too slow under Miri")]
    fn every_write_uses_a_fresh_salt_and_nonce() -> Result<()> {
        let (mut v, _) = UnlockedVault::create(&pass("p"), FAST, false)?;
        let a = v.seal()?;
        let b = v.seal()?;
        assert_ne!(a, b);
        Ok(())
    }
}
