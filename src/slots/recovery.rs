//! Kind 2: the data key wrapped under an HKDF key derived from the recovery code
//! (`docs/FORMAT.md`, "Kind 2"). Only the first recovery slot of a file is tried.

use std::path::Path;

use super::{BodyReader, SlotKind, Unwrapper, Wrapper};
use crate::crypto::{self, NONCE_LEN, SALT_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::format::RECOVERY_INFO;
use crate::recovery::RecoveryCode;
use crate::secret::{DataKey, KEY_LEN};

/// The kind number of a recovery slot.
pub const KIND: u16 = 2;
/// A recovery slot's body length, in bytes: salt, nonce, wrapped key.
pub(crate) const BODY_LEN: usize = SALT_LEN + NONCE_LEN + KEY_LEN + TAG_LEN;

/// Kind 2 in the slot registry (`crate::slots::KINDS`).
pub static KIND_INFO: SlotKind = SlotKind {
    kind: KIND,
    name: "recovery",
    check: |body| RecoverySlot::parse(body).map(|_| ()),
    details: |_| "recovery code".to_string(),
    created: |_| None,
    external: None,
};

/// A recovery slot's body.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecoverySlot {
    /// The HKDF salt of the key derived from the recovery code.
    pub salt: [u8; SALT_LEN],
    /// The AES-GCM nonce of the wrapped key.
    pub nonce: [u8; NONCE_LEN],
    /// The data key sealed under the recovery code's key, tag included.
    pub wrapped_key: [u8; KEY_LEN + TAG_LEN],
}

impl RecoverySlot {
    /// Reads a recovery slot body; the error says what is wrong with it.
    pub fn parse(body: &[u8]) -> std::result::Result<Self, String> {
        if body.len() != BODY_LEN {
            return Err(format!("{} bytes, not {BODY_LEN}", body.len()));
        }
        let mut r = BodyReader::new(body);
        Ok(RecoverySlot {
            salt: r.array()?,
            nonce: r.array()?,
            wrapped_key: r.array()?,
        })
    }

    /// The slot body, as [`RecoverySlot::parse`] reads it.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BODY_LEN);
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.wrapped_key);
        out
    }
}

/// Opens the first recovery slot with a recovery code.
pub struct RecoveryUnwrapper<'a>(pub &'a RecoveryCode);

impl Unwrapper for RecoveryUnwrapper<'_> {
    fn kind(&self) -> u16 {
        KIND
    }

    fn unwrap(&self, body: &[u8], aad: &[u8], path: &Path) -> Result<DataKey> {
        let slot = RecoverySlot::parse(body).map_err(|reason| Error::NotAVault {
            path: path.to_path_buf(),
            reason,
        })?;
        let kek = crypto::hkdf_key_from(self.0.key_material(), &slot.salt, RECOVERY_INFO);
        super::unwrap_key(&kek, &slot.nonce, aad, &slot.wrapped_key).ok_or_else(|| {
            Error::WrongRecoveryCode {
                path: path.to_path_buf(),
            }
        })
    }

    fn no_slot_hint(&self) -> &'static str {
        "a vault made with --no-recovery opens with its passphrase only"
    }
}

/// Writes a recovery slot for a code made by the caller (who shows it once).
pub struct RecoveryWrapper<'a>(pub &'a RecoveryCode);

impl Wrapper for RecoveryWrapper<'_> {
    fn kind(&self) -> u16 {
        KIND
    }

    fn wrap(&self, data_key: &DataKey, aad: &[u8]) -> Result<Option<Vec<u8>>> {
        let salt = crypto::random_array()?;
        let nonce = crypto::random_array()?;
        let kek = crypto::hkdf_key_from(self.0.key_material(), &salt, RECOVERY_INFO);
        let slot = RecoverySlot {
            salt,
            nonce,
            wrapped_key: super::wrap_key(&kek, &nonce, aad, data_key),
        };
        Ok(Some(slot.encode()))
    }
}
