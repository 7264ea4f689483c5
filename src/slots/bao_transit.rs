//! Kind 3: the data key wrapped by OpenBao's Transit engine (`MOUNT/encrypt/KEY`), for teams and
//! CI (`docs/TEAM.md`, `docs/FORMAT.md` "Kind 3"). The body records where the key lives and the
//! Transit ciphertext; unwrapping asks `MOUNT/decrypt/KEY` with the user's token, so revoking the
//! token's policy in OpenBao revokes its access. The requests are made by `crate::openbao`.

use std::cell::RefCell;
use std::path::Path;

use clap::{Arg, ArgMatches};

use super::{BodyReader, External, SlotKind, Unwrapper, Wrapper};
use crate::error::{Error, Result};
use crate::openbao::{Connection, check_path};
use crate::secret::DataKey;

/// The kind number of an OpenBao Transit slot.
pub const KIND: u16 = 3;
/// The variable naming the mounts a Transit slot may use (comma-separated).
pub const MOUNTS_ENV: &str = "SESAME_BAO_TRANSIT_MOUNTS";
/// The one mount allowed when [`MOUNTS_ENV`] is not set: OpenBao's default Transit path.
pub const DEFAULT_MOUNT: &str = "transit";
/// The longest address, mount or key name a slot records.
pub const MAX_NAME_LEN: usize = 512;
/// The longest Transit ciphertext a slot holds (`vault:vN:` and base64 of 68 bytes is ~110).
pub const MAX_CIPHERTEXT_LEN: usize = 2048;

/// Kind 3 in the slot registry (`crate::slots::KINDS`).
pub static KIND_INFO: SlotKind = SlotKind {
    kind: KIND,
    name: "bao-transit",
    check: |body| TransitSlot::parse(body).map(|_| ()),
    details: |body| match TransitSlot::parse(body) {
        Ok(slot) => format!("{} mount={} key={}", slot.addr, slot.mount, slot.key),
        Err(e) => e,
    },
    created: |body| TransitSlot::parse(body).ok().map(|slot| slot.created),
    external: Some(&EXTERNAL),
};

/// Tried after the ssh-agent and age kinds, when an OpenBao token is available.
static EXTERNAL: External = External {
    order: 30,
    unwrapper: |_| {
        let conn = Connection::from_env()?;
        Ok(conn
            .has_token()
            .then(|| Box::new(TransitUnwrapper::new(conn)) as Box<dyn Unwrapper>))
    },
    rewrapper: |body, _, optional| {
        let slot = TransitSlot::parse(body).map_err(Error::usage)?;
        let conn = Connection::from_env()?;
        if !conn.has_token() && !optional {
            return Err(Error::usage(
                "this vault has bao-transit slots and rekey must re-wrap the new key through \
                 OpenBao: set BAO_TOKEN (or VAULT_TOKEN) or BAO_AUTH, or pass --drop-unreachable to remove \
                 those slots; nothing was changed",
            ));
        }
        Ok(Box::new(TransitWrapper {
            conn,
            mount: slot.mount,
            key: slot.key,
            optional,
        }))
    },
    add_command: || {
        clap::Command::new("bao-transit")
            .about("The data key wrapped by OpenBao's Transit engine (a token opens the vault)")
            .arg(
                Arg::new("key")
                    .long("key")
                    .value_name("NAME")
                    .required(true)
                    .help("The Transit key's name"),
            )
            .arg(
                Arg::new("mount")
                    .long("mount")
                    .value_name("MOUNT")
                    .default_value(DEFAULT_MOUNT)
                    .help("The Transit engine's mount (listed in SESAME_BAO_TRANSIT_MOUNTS)"),
            )
    },
    add: |args: &ArgMatches, _| {
        let text = |name: &str| args.get_one::<String>(name).cloned().unwrap_or_default();
        let (mount, key) = (text("mount"), text("key"));
        check_path(&mount, "mount")?;
        check_path(&key, "key name")?;
        let conn = Connection::from_env()?;
        if !conn.has_token() {
            return Err(Error::usage(
                "no OpenBao token: set BAO_TOKEN (or VAULT_TOKEN), log in with `bao login`, or set \
                 BAO_AUTH for sesame to log in (docs/TEAM.md)",
            ));
        }
        let said = format!(
            "the data key wrapped by {}/{mount}/encrypt/{key}. A token whose policy allows \
             {mount}/decrypt/{key} now opens this vault with no passphrase",
            conn.addr()
        );
        let wrapper = TransitWrapper {
            conn,
            mount,
            key,
            optional: false,
        };
        Ok((Box::new(wrapper) as Box<dyn Wrapper>, said))
    },
    same_slot: |_, _| false,
    add_again_hint: "`sesame slot add bao-transit --key NAME` adds one again",
};

/// A Transit slot's body. Holds no secret: the ciphertext opens only through OpenBao.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TransitSlot {
    /// The OpenBao address the slot was made with (shown to users; requests go to `BAO_ADDR`).
    pub addr: String,
    /// The Transit mount that holds the key, e.g. `transit`.
    pub mount: String,
    /// The Transit key's name.
    pub key: String,
    /// When the slot was made (Unix seconds, UTC).
    pub created: i64,
    /// `vault:vN:BASE64`, the Transit ciphertext of slot AAD ‖ data key.
    pub ciphertext: String,
}

fn text(r: &mut BodyReader<'_>, max: usize, what: &str) -> std::result::Result<String, String> {
    let len = usize::from(r.u16()?);
    if len == 0 || len > max {
        return Err(format!("the {what} is {len} bytes, outside 1..={max}"));
    }
    let bytes = r.take(len)?;
    let s = std::str::from_utf8(bytes).map_err(|_| format!("the {what} is not UTF-8"))?;
    if s.chars().any(char::is_control) {
        return Err(format!("the {what} holds control characters"));
    }
    Ok(s.to_string())
}

fn put_text(out: &mut Vec<u8>, s: &str) {
    // Lengths are checked when the slot is built (`TransitSlot::check`), so they fit a u16.
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

impl TransitSlot {
    /// Reads a Transit slot body, checking every length and name; the error says what is wrong.
    pub(crate) fn parse(body: &[u8]) -> std::result::Result<Self, String> {
        let mut r = BodyReader::new(body);
        let slot = TransitSlot {
            addr: text(&mut r, MAX_NAME_LEN, "address")?,
            mount: text(&mut r, MAX_NAME_LEN, "mount")?,
            key: text(&mut r, MAX_NAME_LEN, "key name")?,
            created: r.i64()?,
            ciphertext: text(&mut r, MAX_CIPHERTEXT_LEN, "ciphertext")?,
        };
        r.finish()?;
        slot.check()?;
        Ok(slot)
    }

    /// The rules a reader enforces, checked by the writer too.
    fn check(&self) -> std::result::Result<(), String> {
        check_path(&self.mount, "mount").map_err(|e| e.to_string())?;
        check_path(&self.key, "key name").map_err(|e| e.to_string())?;
        if self.addr.is_empty() || self.addr.len() > MAX_NAME_LEN {
            return Err("the address is empty or too long".into());
        }
        if !self.ciphertext.starts_with("vault:v")
            || self.ciphertext.len() > MAX_CIPHERTEXT_LEN
            || !self.ciphertext.is_ascii()
        {
            return Err("the ciphertext is not a Transit ciphertext (vault:vN:...)".into());
        }
        Ok(())
    }

    /// The slot body, as [`TransitSlot::parse`] reads it.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.ciphertext.len());
        put_text(&mut out, &self.addr);
        put_text(&mut out, &self.mount);
        put_text(&mut out, &self.key);
        out.extend_from_slice(&self.created.to_le_bytes());
        put_text(&mut out, &self.ciphertext);
        out
    }
}

/// The mounts a Transit slot may name: [`MOUNTS_ENV`], else `transit`. A slot is read from the
/// vault file, which may be someone else's copy: without this list, opening it would POST to
/// `MOUNT/decrypt/KEY` for any mount the file names (a KV v1 mount takes that as a write), and
/// `rekey` would send the data key to `MOUNT/encrypt/KEY`.
pub fn allowed_mounts() -> Vec<String> {
    let listed: Vec<String> = std::env::var(MOUNTS_ENV)
        .unwrap_or_default()
        .split(',')
        .map(|m| m.trim().trim_matches('/').to_string())
        .filter(|m| !m.is_empty())
        .collect();
    if listed.is_empty() {
        vec![DEFAULT_MOUNT.to_string()]
    } else {
        listed
    }
}

/// Fails unless `mount` is one of [`allowed_mounts`].
pub fn check_mount_allowed(mount: &str) -> Result<()> {
    let allowed = allowed_mounts();
    if allowed.iter().any(|m| m == mount) {
        return Ok(());
    }
    let listed = if std::env::var_os(MOUNTS_ENV).is_some() {
        format!("{MOUNTS_ENV} lists {}", allowed.join(", "))
    } else {
        format!("{MOUNTS_ENV} is not set, so only {DEFAULT_MOUNT:?}")
    };
    Err(Error::BaoMountNotAllowed {
        mount: mount.to_string(),
        allowed: listed,
    })
}

/// Proves that `MOUNT/encrypt/KEY` is a Transit key before the data key is sent there: 32 random
/// bytes are encrypted, the answer must be a Transit ciphertext (`vault:vN:`), and it must decrypt
/// to the same bytes. Needs only the `encrypt` and `decrypt` rights a least-privilege policy
/// grants. Another engine mounted there (KV v1 takes the POST as a write) fails this with only
/// the random bytes exposed, and the message says where they may now sit.
fn prove_transit(conn: &Connection, mount: &str, key: &str) -> Result<()> {
    // Random, and of no use to anyone: the value that may end up written elsewhere is this one.
    let probe = crate::crypto::random_key()?;
    let not_transit = |reason: String| Error::Bao {
        addr: conn.addr().to_string(),
        what: format!("Transit key {mount}/keys/{key}"),
        status: 200,
        reason: format!(
            "{reason}: {mount:?} does not behave as a Transit mount, so the vault's key was not \
             sent. A throwaway random value (not a secret) may now sit at {mount}/encrypt/{key}; \
             check with `bao secrets list` which engine is mounted at {mount}/"
        ),
    };
    let ciphertext = conn
        .transit_encrypt(mount, key, &probe[..])
        .map_err(|e| match e {
            Error::Bao { reason, .. } => not_transit(reason),
            other => other,
        })?;
    let back = conn.transit_decrypt(mount, key, &ciphertext)?;
    if back.as_slice() != &probe[..] {
        return Err(not_transit(
            "a test value did not decrypt to what was encrypted".to_string(),
        ));
    }
    Ok(())
}

/// Opens Transit slots through an OpenBao connection: every Transit slot in turn (no Argon2 cost
/// to multiply), but after the server was unreachable once, the others are not tried.
pub struct TransitUnwrapper {
    conn: Connection,
    unreachable: RefCell<Option<String>>,
}

impl TransitUnwrapper {
    /// An unwrapper that asks the server behind `conn`.
    pub(crate) fn new(conn: Connection) -> Self {
        TransitUnwrapper {
            conn,
            unreachable: RefCell::new(None),
        }
    }
}

impl Unwrapper for TransitUnwrapper {
    fn kind(&self) -> u16 {
        KIND
    }

    fn max_slots(&self) -> usize {
        usize::from(crate::format::MAX_SLOTS)
    }

    fn unwrap(&self, body: &[u8], aad: &[u8], path: &Path) -> Result<DataKey> {
        if let Some(reason) = self.unreachable.borrow().as_ref() {
            return Err(Error::BaoUnreachable {
                addr: self.conn.addr().to_string(),
                reason: reason.clone(),
            });
        }
        let slot = TransitSlot::parse(body).map_err(|reason| Error::NotAVault {
            path: path.to_path_buf(),
            reason,
        })?;
        check_mount_allowed(&slot.mount)?;
        let plaintext = self
            .conn
            .transit_decrypt(&slot.mount, &slot.key, &slot.ciphertext)
            .inspect_err(|e| {
                if let Error::BaoUnreachable { reason, .. } = e {
                    *self.unreachable.borrow_mut() = Some(reason.clone());
                }
            })?;
        // The plaintext starts with the slot AAD: a ciphertext of another vault or another key
        // generation, pasted into this slot, is refused here rather than tried as a key. Either
        // that or a plaintext of the wrong length is a bad answer for this slot, not damage to
        // the file (the payload is authenticated by whatever key opens it): the next Transit
        // slot is tried, then the passphrase.
        super::bound_key(&plaintext, aad).ok_or_else(|| Error::Bao {
            addr: self.conn.addr().to_string(),
            what: format!("Transit key {}/keys/{}", slot.mount, slot.key),
            status: 200,
            reason: format!(
                "the plaintext ({} bytes) is not this vault's key for this slot (32 bytes \
                 after the slot's {}-byte binding)",
                plaintext.len(),
                aad.len()
            ),
        })
    }

    fn no_slot_hint(&self) -> &'static str {
        "add one with `sesame slot add bao-transit --key NAME`"
    }
}

/// Wraps the data key through `MOUNT/encrypt/KEY`.
pub struct TransitWrapper {
    /// The server to ask, with its token.
    pub conn: Connection,
    /// The Transit mount, e.g. `transit`.
    pub mount: String,
    /// The Transit key's name.
    pub key: String,
    /// `rekey --drop-unreachable`: a failure drops the slot instead of failing the rekey.
    pub optional: bool,
}

impl Wrapper for TransitWrapper {
    fn kind(&self) -> u16 {
        KIND
    }

    fn wrap(&self, data_key: &DataKey, aad: &[u8]) -> Result<Option<Vec<u8>>> {
        // The mount comes from the command line (`slot add`) or from the file (`rekey`): either
        // way it must be allowed, and prove to be Transit, before the data key goes to it.
        let proven = check_mount_allowed(&self.mount)
            .and_then(|()| prove_transit(&self.conn, &self.mount, &self.key));
        match proven {
            Ok(()) => {}
            Err(_) if self.optional => return Ok(None),
            Err(e) => return Err(e),
        }
        let plaintext = super::bound_plaintext(data_key, aad);
        let ciphertext = match self.conn.transit_encrypt(&self.mount, &self.key, &plaintext) {
            Ok(c) => c,
            Err(_) if self.optional => return Ok(None),
            Err(e) => return Err(e),
        };
        let slot = TransitSlot {
            addr: self.conn.addr().to_string(),
            mount: self.mount.clone(),
            key: self.key.clone(),
            created: crate::units::now(),
            ciphertext,
        };
        slot.check().map_err(|reason| Error::Bao {
            addr: self.conn.addr().to_string(),
            what: format!("Transit key {}/keys/{}", self.mount, self.key),
            status: 200,
            reason,
        })?;
        Ok(Some(slot.encode()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector in `docs/FORMAT.md`, "Kind 3".
    const VECTOR: &str = "1c0068747470733a2f2f62616f2e6578616d706c652e636f6d3a383230300700747261\
        6e7369740600736573616d6500b95569000000004d007661756c743a76313a6332567a\
        5957316c4948526c63335167646d566a644739794f69427562335167595342795a5746\
        73494652795957357a6158516759326c77614756796447563464413d3d";

    use crate::slots::unhex;

    #[test]
    fn the_format_test_vector_parses_and_round_trips() -> std::result::Result<(), String> {
        let body = unhex(VECTOR);
        assert_eq!(body.len(), 134);
        let slot = TransitSlot::parse(&body)?;
        assert_eq!(slot.addr, "https://bao.example.com:8200");
        assert_eq!(slot.mount, "transit");
        assert_eq!(slot.key, "sesame");
        assert_eq!(crate::units::format_time(slot.created), "2026-01-01T00:00:00Z");
        assert!(slot.ciphertext.starts_with("vault:v1:"));
        assert_eq!(slot.encode(), body);
        let aad = super::super::slot_aad(&core::array::from_fn(|i| i as u8), 1, KIND);
        assert_eq!(
            aad,
            unhex("736573616d6520763120736c6f74000102030405060708090a0b0c0d0e0f010000000300")
        );
        Ok(())
    }

    #[test]
    fn a_damaged_transit_body_is_refused() {
        let body = unhex(VECTOR);
        let mut trailing = body.clone();
        trailing.push(0);
        let mut escaping = body.clone();
        escaping[32..39].copy_from_slice(b"../sys/");
        for bad in [&body[..body.len() - 1], &trailing[..], &escaping[..], &[][..]] {
            assert!(TransitSlot::parse(bad).is_err());
        }
    }
}
