//! Kind 5: the data key wrapped under a key derived from an ssh-agent signature
//! (`docs/FORMAT.md`, "Kind 5"). The agent (`SSH_AUTH_SOCK`) signs a challenge bound to this vault
//! and slot; HKDF of the signature is the key-encryption key. Only keys whose signatures are
//! deterministic can do this: ed25519, and RSA with a fixed hash (rsa-sha2-256). The client below
//! speaks the three messages it needs of the agent protocol (draft-miller-ssh-agent):
//! REQUEST_IDENTITIES (11) -> IDENTITIES_ANSWER (12), SIGN_REQUEST (13) -> SIGN_RESPONSE (14).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use clap::{Arg, ArgMatches};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{BodyReader, External, SlotKind, Unwrapper, Wrapper};
use crate::crypto::{self, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::secret::{DataKey, KEY_LEN};

/// The kind number of an ssh-agent slot (`docs/FORMAT.md`, "Kind 5").
pub const KIND: u16 = 5;
/// The longest public key blob a slot records (an RSA 8192 key is about 1050 bytes).
pub const MAX_KEY_BLOB: usize = 2048;
/// The longest agent message read (a list of many RSA keys stays far below).
const MAX_MESSAGE: usize = 256 * 1024;
const SALT_LEN: usize = 32;
/// What the agent signs: this prefix, the vault id, then the slot's salt.
const CHALLENGE_PREFIX: &[u8] = b"sesame ssh-agent slot v1\0";
/// HKDF info for the key-encryption key.
const KEK_INFO: &[u8] = b"sesame ssh-agent kek v1";
/// SIGN_REQUEST flag: RSA signatures with SHA-256 (rsa-sha2-256), never SHA-1 or a choice.
const SSH_AGENT_RSA_SHA2_256: u32 = 2;

const REQUEST_IDENTITIES: u8 = 11;
const IDENTITIES_ANSWER: u8 = 12;
const SIGN_REQUEST: u8 = 13;
const SIGN_RESPONSE: u8 = 14;

/// The ssh-agent kind in the slot registry.
pub static KIND_INFO: SlotKind = SlotKind {
    kind: KIND,
    name: "ssh-agent",
    check: |body| AgentSlot::parse(body).map(|_| ()),
    details: |body| match AgentSlot::parse(body) {
        Ok(slot) => format!("{} {}", key_type(&slot.key).unwrap_or("?"), fingerprint(&slot.key)),
        Err(e) => e,
    },
    created: |body| AgentSlot::parse(body).ok().map(|slot| slot.created),
    external: Some(&EXTERNAL),
};

/// Tried first of the external kinds, when `SSH_AUTH_SOCK` is set.
static EXTERNAL: External = External {
    order: 10,
    unwrapper: |_| {
        if std::env::var_os("SSH_AUTH_SOCK").is_none() {
            return Ok(None);
        }
        let agent = Agent::connect()?;
        let keys = agent.identities()?;
        Ok(Some(Box::new(AgentUnwrapper { agent, keys })))
    },
    rewrapper: |body, _, optional| {
        let slot = AgentSlot::parse(body).map_err(Error::usage)?;
        let reachable = Agent::connect().and_then(|a| {
            let held = a.identities()?.iter().any(|k| k.blob == slot.key);
            Ok((a, held))
        });
        match reachable {
            Ok((agent, true)) => Ok(Box::new(AgentWrapper {
                agent: Some(agent),
                key: slot.key,
                optional,
            })),
            _ if optional => Ok(Box::new(AgentWrapper {
                agent: None,
                key: slot.key,
                optional,
            })),
            _ => Err(Error::usage(format!(
                "this vault has an ssh-agent slot for {} and rekey must re-wrap the new key with \
                 it: load it into the agent (`ssh-add`, SSH_AUTH_SOCK), or pass \
                 --drop-unreachable to remove that slot; nothing was changed",
                fingerprint(&slot.key)
            ))),
        }
    },
    add_command: || {
        clap::Command::new("ssh-agent")
            .about("The data key wrapped by a key derived from an ssh-agent signature (ed25519, RSA)")
            .arg(
                Arg::new("key")
                    .long("key")
                    .value_name("PUBKEY-FILE|FINGERPRINT")
                    .help("The agent's key to use: a .pub file or SHA256:... [default: the agent's only ed25519 key]"),
            )
    },
    add: |args: &ArgMatches, _| {
        let agent = Agent::connect()?;
        let keys = agent.identities()?;
        let key = choose_key(&keys, args.get_one::<String>("key").map(String::as_str))?;
        check_deterministic_type(&key.blob).map_err(Error::usage)?;
        let said = format!(
            "the data key wrapped by a signature of the agent's key {} {}. That key in \
             SSH_AUTH_SOCK now opens this vault with no passphrase",
            key_type(&key.blob).unwrap_or("?"),
            fingerprint(&key.blob)
        );
        let wrapper = AgentWrapper {
            agent: Some(agent),
            key: key.blob.clone(),
            optional: false,
        };
        Ok((Box::new(wrapper) as Box<dyn Wrapper>, said))
    },
    same_slot: |new, old| match (AgentSlot::parse(new), AgentSlot::parse(old)) {
        (Ok(new), Ok(old)) => new.key == old.key,
        _ => false,
    },
    add_again_hint: "`sesame slot add ssh-agent` adds one again",
};

/// An ssh-agent slot's body. Holds no secret: the wrapped key opens only with the agent's
/// signature.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AgentSlot {
    /// The public key blob (SSH wire format) the agent signs with.
    pub key: Vec<u8>,
    /// When the slot was made (Unix seconds, UTC).
    pub created: i64,
    /// The random salt of the challenge and of the HKDF.
    pub salt: [u8; SALT_LEN],
    /// The wrap nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The data key wrapped under the key derived from the signature, and its tag.
    pub wrapped: [u8; KEY_LEN + TAG_LEN],
}

impl AgentSlot {
    /// Reads an ssh-agent slot's body, checking every bound (`docs/FORMAT.md`, "Kind 5").
    pub fn parse(body: &[u8]) -> std::result::Result<Self, String> {
        let mut r = BodyReader::new(body);
        let len = usize::from(r.u16()?);
        if len == 0 || len > MAX_KEY_BLOB {
            return Err(format!("a public key of {len} bytes, outside 1..={MAX_KEY_BLOB}"));
        }
        let key = r.take(len)?.to_vec();
        check_deterministic_type(&key)?;
        let slot = AgentSlot {
            key,
            created: r.i64()?,
            salt: r.array()?,
            nonce: r.array()?,
            wrapped: r.array()?,
        };
        r.finish()?;
        Ok(slot)
    }

    /// The body's bytes, as `parse` reads them.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.key.len() + 8 + SALT_LEN + NONCE_LEN + 48);
        // The blob is at most MAX_KEY_BLOB bytes (checked when chosen and when parsed).
        out.extend_from_slice(&(self.key.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.key);
        out.extend_from_slice(&self.created.to_le_bytes());
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.wrapped);
        out
    }
}

/// The challenge the agent signs: bound to this vault (its id) and this slot (its salt).
fn challenge(vault_id: &[u8], salt: &[u8; SALT_LEN]) -> Vec<u8> {
    [CHALLENGE_PREFIX, vault_id, salt].concat()
}

/// The vault id inside the slot AAD (`slots::slot_aad`: prefix, id, generation, kind).
fn vault_id_of(aad: &[u8]) -> &[u8] {
    let start = crate::format::SLOT_AAD_PREFIX.len();
    aad.get(start..start + crate::format::VAULT_ID_LEN)
        .unwrap_or_default()
}

/// An SSH string (u32 big-endian length, bytes) from `bytes` at `pos`.
fn ssh_string<'a>(bytes: &'a [u8], pos: &mut usize) -> std::result::Result<&'a [u8], String> {
    let len_end = pos.checked_add(4).filter(|e| *e <= bytes.len());
    let len_end = len_end.ok_or("the agent's answer ends inside a length")?;
    let len = u32::from_be_bytes([bytes[*pos], bytes[*pos + 1], bytes[*pos + 2], bytes[*pos + 3]]);
    let end = len_end
        .checked_add(len as usize)
        .filter(|e| *e <= bytes.len())
        .ok_or("the agent's answer ends inside a field")?;
    *pos = end;
    Ok(&bytes[len_end..end])
}

fn put_ssh_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The key type a public key blob starts with (`ssh-ed25519`).
fn key_type(blob: &[u8]) -> Option<&str> {
    let mut pos = 0;
    std::str::from_utf8(ssh_string(blob, &mut pos).ok()?).ok()
}

/// `SHA256:...`, as `ssh-keygen -l` and `ssh-add -l` print it.
pub fn fingerprint(blob: &[u8]) -> String {
    let digest = Sha256::digest(blob);
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

/// Only key types whose signatures are a function of the key and the message can derive a key.
fn check_deterministic_type(blob: &[u8]) -> std::result::Result<(), String> {
    match key_type(blob) {
        Some("ssh-ed25519" | "ssh-rsa") => Ok(()),
        Some(t) if t.starts_with("ecdsa-") => Err(format!(
            "{t} keys cannot make an ssh-agent slot: ECDSA signatures are randomized, so the \
             same challenge never signs the same way twice and no key can be derived from it; \
             use an ed25519 or RSA key"
        )),
        Some(t) if t.starts_with("sk-") => Err(format!(
            "{t} keys cannot make an ssh-agent slot: a security key's signature carries a \
             counter that changes every time; use age-plugin-fido2-hmac in an age slot"
        )),
        Some(t) => Err(format!(
            "{t} keys cannot make an ssh-agent slot: only ed25519 and RSA are supported"
        )),
        None => Err("the public key is not an SSH key blob".into()),
    }
}

/// One key the agent holds.
pub struct AgentKey {
    /// The public key blob (SSH wire format).
    pub blob: Vec<u8>,
    /// The comment the agent gives for it (often a file name or an e-mail address).
    pub comment: String,
}

/// A connection to the agent at `SSH_AUTH_SOCK`.
pub struct Agent {
    stream: std::cell::RefCell<UnixStream>,
}

fn agent_error(reason: impl Into<String>) -> Error {
    Error::SlotFailed {
        what: "ssh-agent (SSH_AUTH_SOCK)".into(),
        reason: reason.into(),
    }
}

impl Agent {
    /// Connects to the agent at `SSH_AUTH_SOCK`.
    pub fn connect() -> Result<Agent> {
        let path = std::env::var_os("SSH_AUTH_SOCK")
            .ok_or_else(|| agent_error("SSH_AUTH_SOCK is not set: start ssh-agent"))?;
        let stream = UnixStream::connect(&path)
            .map_err(|e| agent_error(format!("cannot connect to {}: {e}", Path::new(&path).display())))?;
        // A hardware agent may wait for a touch; a dead one must not hang sesame for ever.
        let timeout = Some(Duration::from_secs(60));
        let _ = stream.set_read_timeout(timeout);
        let _ = stream.set_write_timeout(timeout);
        Ok(Agent {
            stream: std::cell::RefCell::new(stream),
        })
    }

    /// Sends one message and reads the answer: its type and its contents.
    fn call(&self, kind: u8, contents: &[u8]) -> Result<(u8, Zeroizing<Vec<u8>>)> {
        let mut stream = self.stream.borrow_mut();
        let mut message = Vec::with_capacity(5 + contents.len());
        message.extend_from_slice(&((contents.len() + 1) as u32).to_be_bytes());
        message.push(kind);
        message.extend_from_slice(contents);
        let io = |e: std::io::Error| agent_error(format!("the agent did not answer: {e}"));
        stream.write_all(&message).map_err(io)?;
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).map_err(io)?;
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 || len > MAX_MESSAGE {
            return Err(agent_error(format!("an answer of {len} bytes")));
        }
        let mut answer = Zeroizing::new(vec![0u8; len]);
        stream.read_exact(&mut answer).map_err(io)?;
        let kind = answer[0];
        answer.remove(0);
        Ok((kind, answer))
    }

    /// The keys the agent holds (`SSH_AGENTC_REQUEST_IDENTITIES`).
    pub fn identities(&self) -> Result<Vec<AgentKey>> {
        let (kind, answer) = self.call(REQUEST_IDENTITIES, &[])?;
        if kind != IDENTITIES_ANSWER {
            return Err(agent_error(format!("it refused to list its keys (answer {kind})")));
        }
        let parse = || -> std::result::Result<Vec<AgentKey>, String> {
            let count = answer.get(..4).ok_or("a short key list")?;
            let count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]);
            let mut pos = 4;
            let mut keys = Vec::new();
            for _ in 0..count.min(1024) {
                let blob = ssh_string(&answer, &mut pos)?.to_vec();
                let comment = String::from_utf8_lossy(ssh_string(&answer, &mut pos)?)
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect();
                keys.push(AgentKey { blob, comment });
            }
            Ok(keys)
        };
        parse().map_err(agent_error)
    }

    /// The agent's signature over `data` with `blob`, checked to be of the fixed algorithm.
    fn sign(&self, blob: &[u8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let (flags, algorithm) = match key_type(blob) {
            Some("ssh-rsa") => (SSH_AGENT_RSA_SHA2_256, "rsa-sha2-256"),
            _ => (0, "ssh-ed25519"),
        };
        let mut request = Vec::with_capacity(blob.len() + data.len() + 12);
        put_ssh_string(&mut request, blob);
        put_ssh_string(&mut request, data);
        request.extend_from_slice(&flags.to_be_bytes());
        let (kind, answer) = self.call(SIGN_REQUEST, &request)?;
        if kind != SIGN_RESPONSE {
            return Err(agent_error(format!(
                "it refused to sign with {} (a confirmation denied, or the key was removed)",
                fingerprint(blob)
            )));
        }
        let mut pos = 0;
        let signature = ssh_string(&answer, &mut pos).map_err(agent_error)?;
        let mut inner = 0;
        let used = ssh_string(signature, &mut inner).map_err(agent_error)?;
        if used != algorithm.as_bytes() {
            return Err(agent_error(format!(
                "it signed with {} where {algorithm} was asked",
                String::from_utf8_lossy(used)
            )));
        }
        Ok(Zeroizing::new(signature.to_vec()))
    }

    /// The key-encryption key of a slot: HKDF-SHA256 of the signature over its challenge.
    fn kek(&self, blob: &[u8], vault_id: &[u8], salt: &[u8; SALT_LEN]) -> Result<Zeroizing<[u8; KEY_LEN]>> {
        let signature = self.sign(blob, &challenge(vault_id, salt))?;
        Ok(crypto::hkdf_key_from(&signature, salt, KEK_INFO))
    }
}

/// The key to wrap with: `--key` (a `.pub` file or a `SHA256:` fingerprint), else the agent's
/// only ed25519 key.
fn choose_key<'a>(keys: &'a [AgentKey], wanted: Option<&str>) -> Result<&'a AgentKey> {
    let listing = || {
        let lines: Vec<String> = keys
            .iter()
            .map(|k| format!("{} {} {}", key_type(&k.blob).unwrap_or("?"), fingerprint(&k.blob), k.comment))
            .collect();
        if lines.is_empty() {
            "the agent holds no key (add one with ssh-add)".to_string()
        } else {
            format!("the agent holds: {}", lines.join("; "))
        }
    };
    let Some(wanted) = wanted else {
        let ed25519: Vec<&AgentKey> = keys
            .iter()
            .filter(|k| key_type(&k.blob) == Some("ssh-ed25519"))
            .collect();
        return match ed25519[..] {
            [only] => Ok(only),
            _ => Err(Error::usage(format!(
                "choose the agent's key with --key PUBKEY-FILE or --key SHA256:...: {}",
                listing()
            ))),
        };
    };
    let blob = if wanted.starts_with("SHA256:") {
        None
    } else {
        let text = std::fs::read_to_string(wanted)
            .map_err(|e| Error::io(format!("cannot read the public key {wanted}"), e))?;
        let encoded = text.split_ascii_whitespace().nth(1).unwrap_or_default();
        let blob = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| Error::usage(format!("{wanted} is not an SSH public key (TYPE BASE64 COMMENT)")))?;
        Some(blob)
    };
    keys.iter()
        .find(|k| match &blob {
            Some(b) => &k.blob == b,
            None => fingerprint(&k.blob) == wanted,
        })
        .ok_or_else(|| Error::usage(format!("the agent does not hold {wanted}: {}", listing())))
}

/// Opens ssh-agent slots whose key the agent holds.
pub struct AgentUnwrapper {
    agent: Agent,
    keys: Vec<AgentKey>,
}

impl Unwrapper for AgentUnwrapper {
    fn kind(&self) -> u16 {
        KIND
    }

    fn max_slots(&self) -> usize {
        usize::from(crate::format::MAX_SLOTS)
    }

    fn unwrap(&self, body: &[u8], aad: &[u8], path: &Path) -> Result<DataKey> {
        let slot = AgentSlot::parse(body).map_err(|reason| Error::NotAVault {
            path: path.to_path_buf(),
            reason,
        })?;
        if !self.keys.iter().any(|k| k.blob == slot.key) {
            return Err(agent_error(format!(
                "it does not hold the slot's key {} (add it with ssh-add)",
                fingerprint(&slot.key)
            )));
        }
        let kek = self.agent.kek(&slot.key, vault_id_of(aad), &slot.salt)?;
        super::unwrap_key(&kek, &slot.nonce, aad, &slot.wrapped).ok_or_else(|| Error::KeyRefused {
            what: format!(
                "the agent's key {} does not open its ssh-agent slot of {}",
                fingerprint(&slot.key),
                path.display()
            ),
            hint: "the slot was copied from another vault, or the agent signs differently \
                   than when the slot was made; remove it with `sesame slot rm N` and add it again",
        })
    }

    fn no_slot_hint(&self) -> &'static str {
        "add one with `sesame slot add ssh-agent`"
    }
}

/// Wraps the data key under a new salt's signature.
pub struct AgentWrapper {
    agent: Option<Agent>,
    key: Vec<u8>,
    optional: bool,
}

impl AgentWrapper {
    fn make(&self, data_key: &DataKey, aad: &[u8]) -> Result<Vec<u8>> {
        let agent = self.agent.as_ref().ok_or_else(|| agent_error("not reachable"))?;
        let salt: [u8; SALT_LEN] = crypto::random_array()?;
        let kek = agent.kek(&self.key, vault_id_of(aad), &salt)?;
        // The key is derived again from a second signature: an agent whose signatures are not
        // repeatable would make a slot that never opens.
        let again = agent.kek(&self.key, vault_id_of(aad), &salt)?;
        if kek[..] != again[..] {
            return Err(agent_error(format!(
                "it signed the same challenge differently twice with {}, so no slot can be made \
                 with that key",
                fingerprint(&self.key)
            )));
        }
        let nonce: [u8; NONCE_LEN] = crypto::random_array()?;
        let slot = AgentSlot {
            key: self.key.clone(),
            created: crate::units::now(),
            salt,
            nonce,
            wrapped: super::wrap_key(&kek, &nonce, aad, data_key),
        };
        Ok(slot.encode())
    }
}

impl Wrapper for AgentWrapper {
    fn kind(&self) -> u16 {
        KIND
    }

    fn wrap(&self, data_key: &DataKey, aad: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.make(data_key, aad) {
            Ok(body) => Ok(Some(body)),
            Err(_) if self.optional => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
