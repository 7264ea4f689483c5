//! The key hierarchy applied to a file: unwrapping the data key through the slot kinds
//! (`crate::slots`), opening and sealing the payload, making a new vault. Pure functions over
//! bytes: `store` does the file I/O, and a slot kind that needs the network (OpenBao) does it in
//! its own [`Unwrapper`]/[`Wrapper`], never here.

use std::path::Path;

use zeroize::Zeroizing;

use crate::crypto::{self, KdfParams};
use crate::error::{Error, Result};
use crate::format::read::{FormatError, ParsedFile, parse_file};
use crate::format::write::encode_header;
use crate::format::{
    FORMAT_VERSION, Header, MAX_FILE_LEN, MAX_HEADER_LEN, MAX_SLOTS, Purpose, Slot, codec,
};
use crate::recovery::RecoveryCode;
use crate::secret::{DataKey, KEY_LEN, Passphrase};
use crate::slots::passphrase::{PassphraseSlot, PassphraseUnwrapper};
use crate::slots::recovery::{RecoveryUnwrapper, RecoveryWrapper};
use crate::slots::{self, Unwrapper, Wrapper, slot_aad};

use crate::format::{CONFIRMED_VALUE_INFO, VALUE_SALT_LEN};
pub use crate::slots::passphrase::first as passphrase_slot;
use crate::vault::Vault;
use crate::vault::identity::file_hash;

/// Something that can derive keys from a vault's data key: the key itself, in this process, or
/// the agent, which derives them without ever handing the key out (`docs/AGENT.md`).
pub trait KeyHolder: Send + Sync {
    /// HKDF-SHA256 of the data key with `salt` and the purpose's `info`.
    fn subkey(&self, salt: &[u8], purpose: Purpose) -> Result<Zeroizing<[u8; KEY_LEN]>>;
    /// The data key itself, when this process holds it.
    fn data_key(&self) -> Option<&DataKey>;

    /// The keys of sealed values of one confirmed secret (`docs/AGENT.md`, "Approvals"), in
    /// the order of `salts`. Derived here when this process holds the data key (whoever gave the
    /// passphrase is the approval); the agent releases them only after its console says yes.
    fn confirmed_keys(
        &self,
        salts: &[[u8; VALUE_SALT_LEN]],
    ) -> Result<Vec<Zeroizing<[u8; KEY_LEN]>>> {
        let key = self.data_key().ok_or_else(|| {
            Error::AgentUnavailable("no key to open a confirmed secret with".into())
        })?;
        Ok(salts
            .iter()
            .map(|salt| crypto::hkdf_key(key.expose(), salt, CONFIRMED_VALUE_INFO))
            .collect())
    }

    /// A fresh salt and its key, to seal a new value of a confirmed secret.
    fn new_confirmed_key(&self) -> Result<([u8; VALUE_SALT_LEN], Zeroizing<[u8; KEY_LEN]>)> {
        let salt = crypto::random_array::<VALUE_SALT_LEN>()?;
        let key = self.data_key().ok_or_else(|| {
            Error::AgentUnavailable("no key to seal a confirmed secret with".into())
        })?;
        Ok((
            salt,
            crypto::hkdf_key(key.expose(), &salt, CONFIRMED_VALUE_INFO),
        ))
    }
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
    /// The header it was read with, or will be written with.
    pub header: Header,
    key: Box<dyn KeyHolder>,
    /// Its secrets and profiles, decrypted.
    pub vault: Vault,
    /// The file this was opened from (ciphertext only), so [`UnlockedVault::reopen`] of the same
    /// bytes skips the second decrypt; `None` once sealed or made anew.
    opened_from: Option<Vec<u8>>,
    /// What [`UnlockedVault::prepare_seal`] drew for the next seal.
    next_seal: Option<NextSeal>,
    /// The number of the slot that opened the vault this time (`status`, `slot list`); `None`
    /// when it was opened through the agent or made anew.
    pub opened_by: Option<usize>,
}

/// A payload salt and nonce drawn, and the payload key derived from them, before a seal.
struct NextSeal {
    salt: [u8; crypto::SALT_LEN],
    nonce: [u8; crypto::NONCE_LEN],
    key: Zeroizing<[u8; KEY_LEN]>,
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

/// Parses a file's structure without any key: what `verify` and `status` can say unlocked. Every
/// slot of a known kind is checked by its kind ("a known kind with the wrong body length is
/// damage"; its bounds before any derivation).
pub fn inspect<'a>(bytes: &'a [u8], path: &Path) -> Result<ParsedFile<'a>> {
    let parsed = parse_file(bytes).map_err(|e| format_error(path, e))?;
    for (index, slot) in parsed.header.slots.iter().enumerate() {
        let index = u16::try_from(index).unwrap_or(u16::MAX);
        slots::check(index, slot).map_err(|e| format_error(path, e))?;
    }
    Ok(parsed)
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
        let aad = slot_aad(
            &header.vault_id,
            header.key_generation,
            slots::passphrase::KIND,
        );
        header
            .slots
            .push(PassphraseSlot::wrap(&data_key, &aad, passphrase, kdf)?.to_slot());
        let mut unlocked = UnlockedVault {
            header,
            key: Box::new(LocalKey(data_key)),
            vault: Vault::default(),
            opened_from: None,
            next_seal: None,
            opened_by: None,
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
        Self::open_with_unwrappers(bytes, &[&RecoveryUnwrapper(code)], path)
    }

    /// Opens a vault file with a passphrase: parse, unwrap the data key from the first
    /// passphrase slot, authenticate and decrypt the payload (AAD = the whole header), decode it.
    ///
    /// This spends whatever Argon2 work the slot asks for, up to the format caps; a caller that
    /// did not choose the vault checks [`KdfParams::exceeds_budget`] on [`passphrase_slot`]
    /// first and asks its user (the command line does, before the passphrase prompt).
    pub fn open(bytes: &[u8], passphrase: &Passphrase, path: &Path) -> Result<Self> {
        Self::open_with_unwrappers(bytes, &[&PassphraseUnwrapper(passphrase)], path)
    }

    /// Opens a vault file through the first of `unwrappers` that unwraps the data key from a slot
    /// of its kind (each tries at most [`Unwrapper::max_slots`] slots, in file order). With none
    /// that has a slot, the error names the first one's kind; otherwise it is the last failure.
    pub fn open_with_unwrappers(
        bytes: &[u8],
        unwrappers: &[&dyn Unwrapper],
        path: &Path,
    ) -> Result<Self> {
        Self::open_parsed(bytes, inspect(bytes, path)?, unwrappers, path)
    }

    /// [`UnlockedVault::open_with_unwrappers`] on a file already parsed (no second parse).
    pub fn open_parsed(
        bytes: &[u8],
        parsed: ParsedFile<'_>,
        unwrappers: &[&dyn Unwrapper],
        path: &Path,
    ) -> Result<Self> {
        let mut opened_by = None;
        let data_key = unwrap_data_key(&parsed.header, unwrappers, path, &mut opened_by)?;
        let mut unlocked = Self::open_with_key(bytes, parsed, data_key, path)?;
        unlocked.opened_by = opened_by;
        Ok(unlocked)
    }

    /// Opens a parsed file's payload with a data key already unwrapped: it must authenticate
    /// the whole header and payload (a wrong key or a changed byte is [`Error::Tampered`]).
    pub fn open_with_key(
        bytes: &[u8],
        parsed: ParsedFile<'_>,
        data_key: DataKey,
        path: &Path,
    ) -> Result<Self> {
        Self::open_payload(bytes, parsed, Box::new(LocalKey(data_key)), path)
    }

    /// The data key from the first slot one of `unwrappers` opens (see
    /// [`UnlockedVault::open_with_unwrappers`]), without opening the payload; `opened_by` is set
    /// to the number of that slot.
    pub fn unwrap_key(
        header: &Header,
        unwrappers: &[&dyn Unwrapper],
        path: &Path,
        opened_by: &mut Option<usize>,
    ) -> Result<DataKey> {
        unwrap_data_key(header, unwrappers, path, opened_by)
    }

    /// Opens a vault file with keys from `holder` (the agent).
    pub fn open_with(bytes: &[u8], holder: Box<dyn KeyHolder>, path: &Path) -> Result<Self> {
        Self::open_payload(bytes, inspect(bytes, path)?, holder, path)
    }

    /// [`UnlockedVault::open_with`] on a file already parsed.
    pub fn open_parsed_with(
        bytes: &[u8],
        parsed: ParsedFile<'_>,
        holder: Box<dyn KeyHolder>,
        path: &Path,
    ) -> Result<Self> {
        Self::open_payload(bytes, parsed, holder, path)
    }

    /// Opens a newer copy of the same vault with the data key already known (no Argon2): the
    /// payload still has to authenticate under this key and the new header.
    ///
    /// When `bytes` are exactly the file this was opened from (nobody wrote in between, the
    /// usual case), nothing is decrypted again: this is returned as it is. So `self` must not
    /// have been changed since it was opened; changes go through `transaction::transact`.
    pub fn reopen(self, bytes: &[u8], path: &Path) -> Result<Self> {
        // The header is compared too: a slot changed since (`passwd`) is dropped, as a decrypt
        // of the file would drop it.
        if self.opened_from.as_deref() == Some(bytes)
            && bytes.starts_with(&encode_header(&self.header))
        {
            return Ok(self);
        }
        let parsed = inspect(bytes, path)?;
        if parsed.header.vault_id != self.header.vault_id
            || parsed.header.key_generation != self.header.key_generation
        {
            return Err(Error::VaultChanged {
                path: path.to_path_buf(),
            });
        }
        // The same data key derives the payload key, so a prepared seal stays valid.
        let mut reopened = Self::open_payload(bytes, parsed, self.key, path)?;
        reopened.next_seal = self.next_seal;
        reopened.opened_by = self.opened_by;
        Ok(reopened)
    }

    fn open_payload(
        bytes: &[u8],
        parsed: ParsedFile<'_>,
        key_holder: Box<dyn KeyHolder>,
        path: &Path,
    ) -> Result<Self> {
        let vault = decrypt_payload(&parsed, key_holder.as_ref(), path)?;
        Ok(UnlockedVault {
            header: parsed.header,
            key: key_holder,
            vault,
            opened_from: Some(bytes.to_vec()),
            next_seal: None,
            opened_by: None,
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
        // Ids for what was added since the vault was opened; the replaced file's hash as the
        // newest ancestor; format 2 from now on (a format 1 file is upgraded by its first write).
        self.vault.assign_ids()?;
        if let Some(replaced) = &self.opened_from {
            self.vault.record_ancestor(file_hash(replaced));
        }
        self.header.version = FORMAT_VERSION;
        let plaintext = codec::encode(&self.vault).map_err(Error::Usage)?;
        let sealed_len = plaintext.len() as u64 + crypto::TAG_LEN as u64;
        if sealed_len > MAX_FILE_LEN - MAX_HEADER_LEN {
            return Err(Error::usage(
                "the vault would grow past 256 MiB; remove secrets or history before adding more",
            ));
        }
        self.opened_from = None;
        let next = match self.next_seal.take() {
            Some(next) => next,
            None => self.draw_seal()?,
        };
        self.header.payload_salt = next.salt;
        self.header.payload_nonce = next.nonce;
        self.header.payload_len = sealed_len as u32;
        let key = next.key;
        let mut file = encode_header(&self.header);
        let ciphertext = crypto::seal(&key, &self.header.payload_nonce, &file, &plaintext);
        file.extend_from_slice(&ciphertext);
        Ok(file)
    }

    /// Draws the next seal's fresh payload salt and nonce and derives its key now: a seal under
    /// the write lock then asks the agent for nothing (`transaction::transact`). Each drawn salt
    /// and nonce seals at most once.
    pub fn prepare_seal(&mut self) -> Result<()> {
        self.next_seal = Some(self.draw_seal()?);
        Ok(())
    }

    /// The keys of confirmed values of one secret ([`KeyHolder::confirmed_keys`]): through the
    /// agent, only after its console approves.
    pub fn confirmed_keys(
        &self,
        salts: &[[u8; VALUE_SALT_LEN]],
    ) -> Result<Vec<Zeroizing<[u8; KEY_LEN]>>> {
        self.key.confirmed_keys(salts)
    }

    /// A fresh salt and its key, to seal a confirmed value ([`KeyHolder::new_confirmed_key`]).
    pub fn new_confirmed_key(&self) -> Result<([u8; VALUE_SALT_LEN], Zeroizing<[u8; KEY_LEN]>)> {
        self.key.new_confirmed_key()
    }

    fn draw_seal(&self) -> Result<NextSeal> {
        let salt = crypto::random_array()?;
        Ok(NextSeal {
            salt,
            nonce: crypto::random_array()?,
            key: self.key.subkey(&salt, Purpose::Payload)?,
        })
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

    /// The associated data a new slot of `kind` binds its wrapped key to.
    fn aad(&self, kind: u16) -> Vec<u8> {
        slot_aad(&self.header.vault_id, self.header.key_generation, kind)
    }

    /// A new slot for this vault's data key, made by `wrapper` (its work — Argon2, a request to
    /// OpenBao — happens here, so callers can do it before taking the write lock). `None` when
    /// the wrapper was allowed to skip.
    pub fn wrap_slot(&self, wrapper: &dyn Wrapper) -> Result<Option<Slot>> {
        let aad = self.aad(wrapper.kind());
        Ok(wrapper.wrap(self.data_key()?, &aad)?.map(|body| Slot {
            kind: wrapper.kind(),
            body,
        }))
    }

    /// A new passphrase slot for this vault's data key (the Argon2 run happens here, so callers
    /// can do it before taking the write lock).
    pub fn wrap_passphrase(
        &self,
        passphrase: &Passphrase,
        kdf: KdfParams,
    ) -> Result<PassphraseSlot> {
        PassphraseSlot::wrap(
            self.data_key()?,
            &self.aad(slots::passphrase::KIND),
            passphrase,
            kdf,
        )
    }

    /// Replaces every slot of `new`'s kind with `new`, where the first one was. Other slots stay.
    pub fn replace_slot(&mut self, new: Slot) {
        let kind = new.kind;
        replace_slots(&mut self.header.slots, new, |s| s.kind == kind);
    }

    /// Replaces every passphrase slot with `slot`, where the first one was. Other slots stay.
    pub fn replace_passphrase_slot(&mut self, slot: PassphraseSlot) {
        self.replace_slot(slot.to_slot());
    }

    /// Appends a slot (`slot add`); a file holds at most 16.
    pub fn add_slot(&mut self, slot: Slot) -> Result<()> {
        if self.header.slots.len() >= usize::from(MAX_SLOTS) {
            return Err(Error::usage(format!(
                "the vault already has {MAX_SLOTS} key slots, the most a file may hold; remove one \
                 with `sesame slot rm N`"
            )));
        }
        self.header.slots.push(slot);
        Ok(())
    }

    /// Removes slot `index` (`slot rm`), returning it.
    pub fn remove_slot(&mut self, index: usize) -> Result<Slot> {
        if index >= self.header.slots.len() {
            return Err(Error::usage(format!(
                "there is no slot {index}; `sesame slot list` shows the {} slots",
                self.header.slots.len()
            )));
        }
        Ok(self.header.slots.remove(index))
    }

    /// Makes a new recovery code and replaces the recovery slot with one for it: the old code
    /// stops working.
    pub fn new_recovery_code(&mut self) -> Result<RecoveryCode> {
        let code = RecoveryCode::generate()?;
        if let Some(slot) = self.wrap_slot(&RecoveryWrapper(&code))? {
            self.replace_slot(slot);
        }
        Ok(code)
    }

    /// A new data key and key generation: every slot is rebuilt by `wrappers`, in their order;
    /// the slots they do not rebuild (unknown kinds, anything else) wrap the old key and are
    /// dropped. Returns how many old slots were of unknown kinds, and how many wrappers
    /// skipped (`rekey --drop-unreachable`).
    ///
    /// A wrapper that fails fails the whole rekey: the caller is in a transaction, so nothing is
    /// written.
    pub fn rekey(&mut self, wrappers: &[&dyn Wrapper]) -> Result<Rekeyed> {
        let unknown = self
            .header
            .slots
            .iter()
            .filter(|s| slots::kind_info(s.kind).is_none())
            .count();
        let data_key = DataKey::from_bytes(crypto::random_key()?);
        let key_generation = self.header.key_generation.wrapping_add(1).max(1);
        let mut new_slots = Vec::with_capacity(wrappers.len());
        let mut skipped = Vec::new();
        for wrapper in wrappers {
            let aad = slot_aad(&self.header.vault_id, key_generation, wrapper.kind());
            match wrapper.wrap(&data_key, &aad)? {
                Some(body) => new_slots.push(Slot {
                    kind: wrapper.kind(),
                    body,
                }),
                None => skipped.push(wrapper.kind()),
            }
        }
        if new_slots.is_empty() {
            return Err(Error::usage(
                "rekey would leave no key slot; nothing was changed",
            ));
        }
        self.header.key_generation = key_generation;
        self.header.slots = new_slots;
        self.key = Box::new(LocalKey(data_key));
        // A prepared seal's key came from the old data key.
        self.next_seal = None;
        Ok(Rekeyed {
            unknown_dropped: unknown,
            skipped,
        })
    }
}

/// What [`UnlockedVault::rekey`] did besides the new key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rekeyed {
    /// Old slots of kinds this build does not know: they wrapped the old key and are gone.
    pub unknown_dropped: usize,
    /// The kinds of the wrappers that skipped (`rekey --drop-unreachable`): their slots are gone.
    pub skipped: Vec<u16>,
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
    codec::decode(&plaintext, header.version).map_err(|reason| Error::NotAVault {
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

/// The data key from the header's slots, through the first of `unwrappers` that succeeds.
/// The number of the slot that opened is set in `opened_by`.
fn unwrap_data_key(
    header: &Header,
    unwrappers: &[&dyn Unwrapper],
    path: &Path,
    opened_by: &mut Option<usize>,
) -> Result<DataKey> {
    let mut last = None;
    for unwrapper in unwrappers {
        let aad = slot_aad(&header.vault_id, header.key_generation, unwrapper.kind());
        let of_kind = header
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == unwrapper.kind());
        for (number, slot) in of_kind.take(unwrapper.max_slots()) {
            match unwrapper.unwrap(&slot.body, &aad, path) {
                Ok(key) => {
                    *opened_by = Some(number);
                    return Ok(key);
                }
                Err(e) => last = Some(e),
            }
        }
    }
    Err(last.unwrap_or_else(|| {
        let (kind, hint) = unwrappers
            .first()
            .map_or((0, ""), |u| (u.kind(), u.no_slot_hint()));
        Error::NoSlot {
            path: path.to_path_buf(),
            kind: slots::kind_info(kind).map_or("usable", |k| k.name),
            kinds: slots::kinds_of(header),
            hint,
        }
    }))
}

/// A new vault with the passphrase `pass` and the tests' small Argon2 cost, for unit tests.
#[cfg(test)]
pub(crate) fn test_vault() -> Result<UnlockedVault> {
    let pass = Passphrase::new(zeroize::Zeroizing::new(b"pass".to_vec()));
    Ok(UnlockedVault::create(&pass, crate::crypto::TEST_KDF, false)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = crate::crypto::TEST_KDF;

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
