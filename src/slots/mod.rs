//! Key slot kinds as plug-ins, in the manner of age's identities and recipients. The format
//! (`crate::format`) carries every slot as a generic record (kind, body); each kind lives in one
//! module here that knows its body's layout and can wrap the data key into a slot ([`Wrapper`]) and
//! unwrap it from one ([`Unwrapper`]). A kind that opens the vault from something the user carries
//! (an OpenBao token, an age identity, an ssh-agent key) also says, in its [`External`], how it
//! finds that in the environment, how `slot add` makes one and how `rekey` re-wraps one; the
//! unlock chain (`crate::unlock`), `rekey` and the `slot add` command are driven by this registry
//! and name no kind. Adding a kind is one new module and one word in the `kinds!` line below.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::crypto::{self, NONCE_LEN, TAG_LEN};
use crate::error::Result;
use crate::format::read::FormatError;
use crate::format::{Header, SLOT_AAD_PREFIX, Slot, VAULT_ID_LEN};
use crate::secret::{DataKey, KEY_LEN};

/// What the format and the command line need to know about one slot kind.
pub struct SlotKind {
    /// The number in the slot record (`docs/FORMAT.md`, "Key slots").
    pub kind: u16,
    /// The name users see (`slot list`, `status`).
    pub name: &'static str,
    /// Checks a body read from a file: its length and every bound, before any work.
    pub check: fn(&[u8]) -> std::result::Result<(), String>,
    /// One line of details for `slot list` (KDF parameters, Transit key): never a secret.
    pub details: fn(&[u8]) -> String,
    /// When the slot was made, for the kinds whose body records it.
    pub created: fn(&[u8]) -> Option<i64>,
    /// How a kind opened by something the user carries takes part in unlocking, `rekey` and
    /// `slot add`; `None` for the passphrase and recovery kinds, which the passphrase sources and
    /// `recover` open and which `rekey` makes anew itself.
    pub external: Option<&'static External>,
}

/// What the command line adds to the environment for the external kinds (a kind reads its own
/// variables, such as `SSH_AUTH_SOCK` or `BAO_TOKEN`, itself).
#[derive(Default, Clone)]
pub struct Inputs {
    /// Age identity files: `--identity` (repeatable), else `SESAME_AGE_IDENTITY`.
    pub identities: Vec<PathBuf>,
}

/// A kind's unwrapper for the inputs at hand (see [`External::unwrapper`]).
pub type UnwrapperFor = fn(&Inputs) -> Result<Option<Box<dyn Unwrapper>>>;
/// A kind's wrapper re-making slot `body` for a new key (see [`External::rewrapper`]).
pub type RewrapperFor =
    fn(body: &[u8], inputs: &Inputs, optional: bool) -> Result<Box<dyn Wrapper>>;
/// A kind's wrapper for `slot add` and what it says the new slot does (see [`External::add`]).
pub type AddFrom = fn(&clap::ArgMatches, &Inputs) -> Result<(Box<dyn Wrapper>, String)>;

/// The part of a slot kind that opens the vault from something the user carries.
pub struct External {
    /// Its place in the unlock order (lower first), after `--passphrase-fd` and the agent and
    /// before the passphrase sources (`docs/CLI.md`, "Passphrase order").
    pub order: u8,
    /// An unwrapper when this kind's inputs are at hand (a token, an identity, an agent socket):
    /// `Ok(None)` when they are absent (the kind is not tried and nothing is said), `Err` when
    /// they are present but cannot be used (said on one line; the next source is tried).
    pub unwrapper: UnwrapperFor,
    /// For `rekey`: a wrapper that writes a slot like `body` (same server, recipients or key)
    /// for the new data key, or why it cannot (then `rekey` refuses, or drops the slot with
    /// `--drop-unreachable`).
    pub rewrapper: RewrapperFor,
    /// `slot add KIND`: the arguments it takes.
    pub add_command: fn() -> clap::Command,
    /// `slot add KIND ARGS`: the wrapper for the parsed arguments, and one sentence saying what
    /// now opens the vault.
    pub add: AddFrom,
    /// Whether a new slot body takes the place of an existing one (`age --name`: one slot per
    /// name); `slot add` then refuses, naming the slot to remove first.
    pub same_slot: fn(new: &[u8], old: &[u8]) -> bool,
    /// What to suggest when no slot of this kind can be re-made (`rekey --drop-unreachable`).
    pub add_again_hint: &'static str,
}

/// Declares the slot kind modules and registers them, in one line.
macro_rules! kinds {
    ($($module:ident),* $(,)?) => {
        $(pub mod $module;)*
        /// Every slot kind this build knows.
        pub static KINDS: &[&SlotKind] = &[$(&$module::KIND_INFO),*];
    };
}

kinds!(passphrase, recovery, bao_transit, age, ssh_agent);

/// The registered kinds that open the vault from something the user carries, in unlock order.
pub fn externals() -> Vec<(&'static SlotKind, &'static External)> {
    let mut list: Vec<_> = KINDS
        .iter()
        .filter_map(|k| k.external.map(|e| (*k, e)))
        .collect();
    list.sort_by_key(|(_, e)| e.order);
    list
}

/// The registered kind named `name` (`bao-transit`).
pub fn kind_named(name: &str) -> Option<&'static SlotKind> {
    KINDS.iter().copied().find(|k| k.name == name)
}

/// The registered kind with number `kind`.
pub fn kind_info(kind: u16) -> Option<&'static SlotKind> {
    KINDS.iter().copied().find(|k| k.kind == kind)
}

/// The user-facing name of a kind: `passphrase`, or `kind 9` for one this build does not know.
pub fn kind_name(kind: u16) -> String {
    kind_info(kind).map_or_else(|| format!("kind {kind}"), |k| k.name.to_string())
}

/// Checks slot `index` as its kind's rules say; unknown kinds are only length-capped (by the
/// record parser) and pass.
pub fn check(index: u16, slot: &Slot) -> std::result::Result<(), FormatError> {
    match kind_info(slot.kind) {
        Some(info) => (info.check)(&slot.body)
            .map_err(|e| FormatError::Invalid(format!("{} slot {index}: {e}", info.name))),
        None => Ok(()),
    }
}

/// The associated data of a slot's wrapped key: binds it to one vault and one key generation.
pub fn slot_aad(vault_id: &[u8; VAULT_ID_LEN], key_generation: u32, kind: u16) -> Vec<u8> {
    let mut aad = Vec::with_capacity(SLOT_AAD_PREFIX.len() + VAULT_ID_LEN + 6);
    aad.extend_from_slice(SLOT_AAD_PREFIX);
    aad.extend_from_slice(vault_id);
    aad.extend_from_slice(&key_generation.to_le_bytes());
    aad.extend_from_slice(&kind.to_le_bytes());
    aad
}

/// Something that can take the data key out of a slot of one kind: a passphrase, a recovery
/// code, an OpenBao Transit client.
pub trait Unwrapper {
    /// The slot kind it opens.
    fn kind(&self) -> u16;
    /// How many slots of its kind it tries, first to last. One for the kinds whose every try costs
    /// Argon2 work, so a hostile file cannot multiply it by its slot count.
    fn max_slots(&self) -> usize {
        1
    }
    /// The data key from one slot `body`, whose wrapped key is bound to `aad` (from [`slot_aad`]).
    /// `path` is only for messages.
    fn unwrap(&self, body: &[u8], aad: &[u8], path: &Path) -> Result<DataKey>;
    /// What to suggest when the file has no slot of this kind.
    fn no_slot_hint(&self) -> &'static str;
}

/// Something that can wrap the data key into a new slot body of one kind.
pub trait Wrapper {
    /// The slot kind it writes.
    fn kind(&self) -> u16;
    /// A new slot body for `data_key`, bound to `aad`. `None` when this wrapper is allowed to be
    /// skipped and could not do its work (`rekey --drop-unreachable`): the slot is then dropped.
    fn wrap(&self, data_key: &DataKey, aad: &[u8]) -> Result<Option<Vec<u8>>>;
}

/// The bodies of the slots of `kind`, in file order.
pub fn bodies(header: &Header, kind: u16) -> impl Iterator<Item = &[u8]> {
    header
        .slots
        .iter()
        .filter(move |s| s.kind == kind)
        .map(|s| s.body.as_slice())
}

/// "1, 2, 3": the slot kinds of a header, for messages.
pub fn kinds_of(header: &Header) -> String {
    let kinds: Vec<String> = header.slots.iter().map(|s| s.kind.to_string()).collect();
    kinds.join(", ")
}

/// A cursor over a slot body for the kind modules: every read checks the remaining length.
pub(crate) struct BodyReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> BodyReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        BodyReader { bytes, pos: 0 }
    }

    pub(crate) fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or_else(|| "the body ends inside a field".to_string())?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> std::result::Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u16(&mut self) -> std::result::Result<u16, String> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> std::result::Result<i64, String> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// Fails unless every byte was read: a body with trailing bytes is damage.
    pub(crate) fn finish(&self) -> std::result::Result<(), String> {
        match self.bytes.len() - self.pos {
            0 => Ok(()),
            extra => Err(format!("{extra} unexpected bytes after the last field")),
        }
    }
}

/// AES-256-GCM wrapping of the data key under a key-encryption key (the local slot kinds).
pub(crate) fn wrap_key(
    kek: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    data_key: &DataKey,
) -> [u8; KEY_LEN + TAG_LEN] {
    let sealed = crypto::seal(kek, nonce, aad, data_key.expose());
    let mut wrapped = [0u8; KEY_LEN + TAG_LEN];
    wrapped.copy_from_slice(&sealed);
    wrapped
}

/// The data key from a wrapped key; `None` when authentication fails (a wrong secret).
pub(crate) fn unwrap_key(
    kek: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    wrapped: &[u8],
) -> Option<DataKey> {
    let key = crypto::open(kek, nonce, aad, wrapped)?;
    DataKey::from_slice(&key)
}

/// The plaintext a kind that cannot take associated data (age, Transit) encrypts: the slot AAD,
/// then the data key. *The binding travels inside the ciphertext, so a slot copied from another
/// vault or key generation opens to a plaintext [`bound_key`] refuses.*
pub(crate) fn bound_plaintext(data_key: &DataKey, aad: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut plaintext = Zeroizing::new(Vec::with_capacity(aad.len() + KEY_LEN));
    plaintext.extend_from_slice(aad);
    plaintext.extend_from_slice(data_key.expose());
    plaintext
}

/// The data key from a [`bound_plaintext`]; `None` unless it starts with `aad` and holds
/// exactly one key after it.
pub(crate) fn bound_key(plaintext: &[u8], aad: &[u8]) -> Option<DataKey> {
    DataKey::from_slice(plaintext.strip_prefix(aad)?)
}

/// The bytes of a hex string (the test vectors of `docs/FORMAT.md`, "Key slots"); whitespace and
/// a malformed pair are skipped, as the vectors are written across lines.
#[cfg(test)]
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .filter_map(|i| s.get(i..i + 2))
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}
