//! Confirmed secrets (`docs/AGENT.md`, "Approvals"): their values are sealed under keys of their
//! own, which the agent releases only when the approval console says yes. This module seals and
//! opens them, and is the one path every command that needs a value (`get`, `run`, `inject`,
//! `export`, `push`, the credential helpers) goes through to open a sealed one; the agent uses it
//! to learn which secret a salt belongs to.

use std::collections::{BTreeMap, HashMap, HashSet};

use zeroize::Zeroizing;

use crate::container::UnlockedVault;
use crate::crypto::{self, NONCE_LEN};
use crate::error::{Error, Result};
use crate::format::{VALUE_SALT_LEN, VAULT_ID_LEN};
use crate::names::Label;
use crate::secret::{KEY_LEN, SecretValue};
use crate::vault::{Id, SealedValue, Secret, StoredValue, Version};

/// The length of a secret or version id.
const ID_LEN: usize = std::mem::size_of::<Id>();

pub use crate::format::CONFIRMED_VALUE_INFO;

/// The salt of a sealed value: its first 16 bytes (`docs/FORMAT.md`).
fn salt_of(sealed: &SealedValue) -> Option<[u8; VALUE_SALT_LEN]> {
    sealed.0.get(..VALUE_SALT_LEN)?.try_into().ok()
}

/// Every version of `secret`, current first.
fn versions(secret: &Secret) -> impl Iterator<Item = &Version> {
    std::iter::once(&secret.current).chain(&secret.history)
}

/// The secret of the vault that every one of `salts` was sealed for: each salt is a sealed value
/// of one secret, and each of those values opens under `key_of(salt)` with that secret's and
/// version's ids as its AAD (the opened bytes are wiped at once). A salt copied into another
/// secret of a crafted file does not open there, so the secret found is the one the value was
/// sealed for, whatever its label says. `None` otherwise.
pub fn secret_of_sealed<'v>(
    unlocked: &'v UnlockedVault,
    salts: &[[u8; VALUE_SALT_LEN]],
    key_of: impl Fn(&[u8; VALUE_SALT_LEN]) -> Zeroizing<[u8; KEY_LEN]>,
) -> Option<&'v Secret> {
    let first = salts.first()?;
    let secret = unlocked
        .vault
        .secrets
        .iter()
        .find(|s| sealed_salts(s).any(|x| x == *first))?;
    let wanted: HashSet<[u8; VALUE_SALT_LEN]> = salts.iter().copied().collect();
    let mut found = HashSet::new();
    for version in versions(secret) {
        let StoredValue::Sealed(sealed) = &version.value else {
            continue;
        };
        let Some(salt) = salt_of(sealed).filter(|s| wanted.contains(s)) else {
            continue;
        };
        let nonce: [u8; NONCE_LEN] = sealed
            .0
            .get(VALUE_SALT_LEN..VALUE_SALT_LEN + NONCE_LEN)
            .and_then(|n| n.try_into().ok())?;
        let body = sealed.0.get(VALUE_SALT_LEN + NONCE_LEN..)?;
        let aad = aad(&unlocked.header.vault_id, secret.id, version.id);
        // Opened only to prove where it belongs; dropped (and wiped) here.
        drop(crypto::open(&key_of(&salt), &nonce, &aad, body)?);
        found.insert(salt);
    }
    (found == wanted).then_some(secret)
}

fn sealed_salts(secret: &Secret) -> impl Iterator<Item = [u8; VALUE_SALT_LEN]> + '_ {
    versions(secret).filter_map(|v| match &v.value {
        StoredValue::Sealed(sealed) => salt_of(sealed),
        StoredValue::Plain(_) => None,
    })
}

/// What a sealed value is bound to: the vault, the secret and the version (`docs/FORMAT.md`).
fn aad(vault_id: &[u8; VAULT_ID_LEN], secret: Id, version: Id) -> Vec<u8> {
    let mut aad = Vec::with_capacity(VAULT_ID_LEN + 2 * ID_LEN);
    aad.extend_from_slice(vault_id);
    aad.extend_from_slice(&secret.0);
    aad.extend_from_slice(&version.0);
    aad
}

/// The values of `wanted` versions of `secret` (by number, in that order), opened: plain ones as
/// they are, sealed ones with one request for all of them (one approval through the agent). The
/// one path by which every command that uses a value (`get`, `run`, `inject`, the credential
/// helpers, `edit --no-confirm`) reads a confirmed secret.
pub fn open_values(
    unlocked: &UnlockedVault,
    secret: &Secret,
    wanted: &[&Version],
) -> Result<Vec<SecretValue>> {
    let sealed: Vec<(&Version, &SealedValue)> = wanted
        .iter()
        .filter_map(|v| match &v.value {
            StoredValue::Sealed(s) => Some((*v, s)),
            StoredValue::Plain(_) => None,
        })
        .collect();
    let tampered = || {
        Error::Failed(format!(
            "a sealed value of {} does not open: the vault was changed or damaged; restore it \
             from a backup (`sesame backups`)",
            secret.label
        ))
    };
    let salts = sealed
        .iter()
        .map(|(_, s)| salt_of(s).ok_or_else(tampered))
        .collect::<Result<Vec<_>>>()?;
    let keys = if salts.is_empty() {
        Vec::new()
    } else {
        unlocked.confirmed_keys(&salts)?
    };
    let mut opened = HashMap::new();
    for ((version, value), key) in sealed.iter().zip(&keys) {
        let nonce: [u8; NONCE_LEN] = value
            .0
            .get(VALUE_SALT_LEN..VALUE_SALT_LEN + NONCE_LEN)
            .and_then(|n| n.try_into().ok())
            .ok_or_else(tampered)?;
        let body = value
            .0
            .get(VALUE_SALT_LEN + NONCE_LEN..)
            .ok_or_else(tampered)?;
        let aad = aad(&unlocked.header.vault_id, secret.id, version.id);
        let plain = crypto::open(key, &nonce, &aad, body).ok_or_else(tampered)?;
        opened.insert(version.number, SecretValue::new(plain));
    }
    wanted
        .iter()
        .map(|v| match &v.value {
            StoredValue::Plain(value) => Ok(value.duplicate()),
            StoredValue::Sealed(_) => opened.remove(&v.number).ok_or_else(tampered),
        })
        .collect()
}

/// [`open_values`] of one version.
pub fn open_value(
    unlocked: &UnlockedVault,
    secret: &Secret,
    version: &Version,
) -> Result<SecretValue> {
    open_values(unlocked, secret, &[version])?
        .pop()
        .ok_or_else(|| Error::Failed("no value was opened".into()))
}

/// The current values of the confirmed secrets among `labels` (each label once), opened with one
/// request per secret: what `run` and `inject` deliver. Unconfirmed secrets are not in the map
/// (their values are read where they are).
pub fn open_current<'a>(
    unlocked: &UnlockedVault,
    labels: impl IntoIterator<Item = &'a Label>,
) -> Result<BTreeMap<Label, SecretValue>> {
    let mut opened = BTreeMap::new();
    for label in labels {
        let secret = unlocked.vault.get(label)?;
        if matches!(secret.current.value, StoredValue::Sealed(_)) && !opened.contains_key(label) {
            opened.insert(
                label.clone(),
                open_value(unlocked, secret, &secret.current)?,
            );
        }
    }
    Ok(opened)
}

/// Every sealed value of the secret `label`, opened (one approval through the agent), by
/// version id: what `edit --no-confirm` puts back in the clear.
pub fn open_all(unlocked: &UnlockedVault, secret: &Secret) -> Result<HashMap<Id, SecretValue>> {
    let sealed: Vec<&Version> = versions(secret)
        .filter(|v| matches!(v.value, StoredValue::Sealed(_)))
        .collect();
    let values = open_values(unlocked, secret, &sealed)?;
    Ok(sealed.iter().map(|v| v.id).zip(values).collect())
}

/// Puts `opened` (from [`open_all`]) back in the clear in `secret`; a sealed value not among them
/// (another process changed the secret meanwhile) fails, and nothing is saved.
pub fn unseal(secret: &mut Secret, mut opened: HashMap<Id, SecretValue>) -> Result<()> {
    let label = secret.label.to_string();
    for version in std::iter::once(&mut secret.current).chain(&mut secret.history) {
        if matches!(version.value, StoredValue::Sealed(_)) {
            let value = opened.remove(&version.id).ok_or_else(|| {
                Error::Failed(format!(
                    "{label} was changed by another command meanwhile; run this again"
                ))
            })?;
            version.value = StoredValue::Plain(value);
        }
    }
    Ok(())
}

/// Opens every sealed value in the vault, in this process (`rekey`, which holds the data key:
/// the values are sealed again under the new key by [`seal_confirmed`]).
pub fn unseal_everything(unlocked: &mut UnlockedVault) -> Result<()> {
    let mut opened = Vec::new();
    for (index, secret) in unlocked.vault.secrets.iter().enumerate() {
        if versions(secret).any(|v| matches!(v.value, StoredValue::Sealed(_))) {
            opened.push((index, open_all(unlocked, secret)?));
        }
    }
    for (index, values) in opened {
        unseal(&mut unlocked.vault.secrets[index], values)?;
    }
    Ok(())
}

/// Seals every plain value of every confirmed secret (ids drawn first where missing): run on
/// every change before it is saved, so a value a command added to a confirmed secret (`rotate`,
/// `import`, `pull`, a merge) is never stored in the clear. Needs no approval.
pub fn seal_confirmed(unlocked: &mut UnlockedVault) -> Result<()> {
    let vault_id = unlocked.header.vault_id;
    let mut todo = Vec::new();
    for (s, secret) in unlocked.vault.secrets.iter().enumerate() {
        if !secret.confirm {
            continue;
        }
        for (v, version) in versions(secret).enumerate() {
            if matches!(version.value, StoredValue::Plain(_)) {
                todo.push((s, v));
            }
        }
    }
    for (s, v) in todo {
        let (salt, key) = unlocked.new_confirmed_key()?;
        let nonce: [u8; NONCE_LEN] = crypto::random_array()?;
        let secret = &mut unlocked.vault.secrets[s];
        if secret.id.is_unassigned() {
            secret.id = Id::random()?;
        }
        let secret_id = secret.id;
        let version = if v == 0 {
            &mut secret.current
        } else {
            &mut secret.history[v - 1]
        };
        if version.id.is_unassigned() {
            version.id = Id::random()?;
        }
        let StoredValue::Plain(value) = &version.value else {
            continue;
        };
        let mut sealed = Vec::with_capacity(VALUE_SALT_LEN + NONCE_LEN + value.len() + 16);
        sealed.extend_from_slice(&salt);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&crypto::seal(
            &key,
            &nonce,
            &aad(&vault_id, secret_id, version.id),
            value.expose(),
        ));
        version.value = StoredValue::Sealed(SealedValue(sealed));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The payload key alone (what any client of the agent gets) must not read a confirmed
    /// secret: its values are sealed under keys of their own, and without the data key or the
    /// agent's approval they do not open.
    #[test]
    fn the_payload_key_alone_does_not_open_a_confirmed_value() -> Result<()> {
        use crate::container::{KeyHolder, LocalKey};
        use crate::format::Purpose;
        use crate::secret::{DataKey, KEY_LEN};
        use zeroize::Zeroizing;

        /// Serves payload subkeys, as the agent does, and nothing else.
        struct PayloadOnly(LocalKey);
        impl KeyHolder for PayloadOnly {
            fn subkey(&self, salt: &[u8], purpose: Purpose) -> Result<Zeroizing<[u8; KEY_LEN]>> {
                self.0.subkey(salt, purpose)
            }
            fn data_key(&self) -> Option<&DataKey> {
                None
            }
        }

        let path = std::path::Path::new("vault.sesame");
        let mut made = crate::container::test_vault()?;
        let label = Label::parse("api")?;
        let value = SecretValue::new(Zeroizing::new(b"sk-confirmed".to_vec()));
        let mut secret = Secret::first(
            label.clone(),
            crate::names::EnvName::parse("API")?,
            value,
            1,
        );
        secret.confirm = true;
        made.vault.insert(secret)?;
        seal_confirmed(&mut made)?;
        let file = made.seal()?;
        let raw = Zeroizing::new(*made.data_key()?.expose());

        let client = UnlockedVault::open_with(
            &file,
            Box::new(PayloadOnly(LocalKey(DataKey::from_bytes(raw.clone())))),
            path,
        )?;
        let secret = client.vault.get(&label)?;
        let StoredValue::Sealed(sealed) = &secret.current.value else {
            panic!("a confirmed value was stored in the clear");
        };
        assert!(!sealed.0.windows(12).any(|w| w == b"sk-confirmed"));
        assert!(open_value(&client, secret, &secret.current).is_err());
        // With the data key in this process (the passphrase was given) it opens.
        let owner =
            UnlockedVault::open_with(&file, Box::new(LocalKey(DataKey::from_bytes(raw))), path)?;
        let secret = owner.vault.get(&label)?;
        let opened = open_value(&owner, secret, &secret.current)?;
        assert_eq!(opened.expose(), b"sk-confirmed");
        Ok(())
    }

    /// A crafted file that copies one secret's sealed value into another (whose label looks
    /// harmless) must not make the agent name the harmless one: the value does not open there.
    #[test]
    fn a_sealed_value_copied_into_another_secret_is_not_taken_for_that_secret() -> Result<()> {
        let mut made = crate::container::test_vault()?;
        for (label, value) in [("api", "sk-prod"), ("dev", "sk-dev")] {
            let value = SecretValue::new(Zeroizing::new(value.as_bytes().to_vec()));
            let mut secret = Secret::first(
                Label::parse(label)?,
                crate::names::EnvName::parse("K")?,
                value,
                1,
            );
            secret.confirm = true;
            made.vault.insert(secret)?;
        }
        seal_confirmed(&mut made)?;
        let raw = Zeroizing::new(*made.data_key()?.expose());
        let key_of =
            |salt: &[u8; VALUE_SALT_LEN]| crypto::hkdf_key(&raw, salt, CONFIRMED_VALUE_INFO);
        let api = made.vault.get(&Label::parse("api")?)?;
        let StoredValue::Sealed(stolen) = &api.current.value else {
            panic!("a confirmed value was stored in the clear");
        };
        let salt = salt_of(stolen).ok_or_else(|| Error::Failed("no salt".into()))?;
        let found = secret_of_sealed(&made, &[salt], key_of).map(|s| s.label.to_string());
        assert_eq!(found.as_deref(), Some("api"));

        let stolen = SealedValue(stolen.0.clone());
        let dev = made
            .vault
            .secrets
            .iter_mut()
            .find(|s| s.label.as_str() == "dev")
            .ok_or_else(|| Error::Failed("no dev".into()))?;
        dev.current.value = StoredValue::Sealed(stolen);
        made.vault.secrets.retain(|s| s.label.as_str() != "api");
        assert!(secret_of_sealed(&made, &[salt], key_of).is_none());
        Ok(())
    }
}
