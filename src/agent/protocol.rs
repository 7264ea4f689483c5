//! The agent's wire format (`docs/AGENT.md`, "Protocol"): length-prefixed frames of at most 4096
//! bytes, parsed by hand. Nothing here allocates by a length from the peer beyond that limit.

use std::io::{self, Read, Write};

use crate::format::VAULT_ID_LEN;

/// The largest frame body, in bytes, either way; a longer length prefix is refused unread.
pub const MAX_FRAME: usize = 4096;

/// Request opcode: report the agent's vault, key generation and time left.
pub(crate) const OP_STATUS: u8 = 1;
/// Request opcode: derive a subkey for a purpose and salt.
pub(crate) const OP_DERIVE: u8 = 2;
/// Request opcode: renew the timeout.
pub(crate) const OP_RENEW: u8 = 3;
/// Request opcode: forget the key and end.
pub(crate) const OP_LOCK: u8 = 4;
/// Request opcode: the key of one confirmed secret's sealed value, after the console approves.
pub(crate) const OP_OPEN_CONFIRMED: u8 = 5;
/// Request opcode: a fresh salt and its key, to seal a new value of a confirmed secret.
pub(crate) const OP_NEW_CONFIRMED_KEY: u8 = 6;

pub use crate::format::VALUE_SALT_LEN;
/// The most salts one open-confirmed request may name: every version a secret can keep (the
/// current one and up to 100 older ones), so unsealing a whole secret is one approval.
pub const MAX_SALTS: usize = 101;

/// First byte of an answer that succeeded.
pub const OK: u8 = 0;
/// First byte of a refusal, followed by its message.
pub(crate) const REFUSED: u8 = 1;

pub use crate::format::Purpose;

fn purpose_byte(p: Purpose) -> u8 {
    match p {
        Purpose::Payload => 1,
        Purpose::UsageLog => 2,
    }
}

fn purpose_from_byte(b: u8) -> Option<Purpose> {
    match b {
        1 => Some(Purpose::Payload),
        2 => Some(Purpose::UsageLog),
        _ => None,
    }
}

/// A request, as the agent parses it.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// Which vault the agent holds and how long it has left; never extends the timeout.
    Status,
    /// A 32-byte subkey of the data key, for one purpose and salt.
    Derive {
        /// The vault the client read; the agent refuses if it holds another.
        vault_id: [u8; VAULT_ID_LEN],
        /// The key generation in the client's header; refused after a `rekey`.
        key_generation: u32,
        /// What the subkey is for (the payload or the usage log).
        purpose: Purpose,
        /// The salt from the header the client read.
        salt: [u8; 32],
    },
    /// Restart the timeout.
    Renew {
        /// The new timeout, in seconds from now.
        timeout_secs: u64,
    },
    /// Forget the data key and end the agent.
    Lock,
    /// The keys of sealed values of one secret, released only after the approval console says
    /// yes (`docs/AGENT.md`, "Approvals").
    OpenConfirmed {
        /// The vault the client read.
        vault_id: [u8; VAULT_ID_LEN],
        /// The key generation in the client's header.
        key_generation: u32,
        /// The sealed values' own salts (1 to [`MAX_SALTS`], all of one secret); the agent finds
        /// their secret in the vault file itself.
        salts: Vec<[u8; VALUE_SALT_LEN]>,
    },
    /// A salt drawn by the agent and its key, to seal a new confirmed value. Needs no approval.
    NewConfirmedKey {
        /// The vault the client read.
        vault_id: [u8; VAULT_ID_LEN],
        /// The key generation in the client's header.
        key_generation: u32,
    },
}

/// Writes `body` as one frame (u32 LE length, then the body); refuses an empty or oversized body.
pub fn write_frame(out: &mut impl Write, body: &[u8]) -> io::Result<()> {
    if body.is_empty() || body.len() > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "frame size"));
    }
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(body);
    out.write_all(&frame)?;
    out.flush()
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub fn read_frame(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len == 0 || len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes (limit {MAX_FRAME})"),
        ));
    }
    let mut body = vec![0u8; len];
    input.read_exact(&mut body)?;
    Ok(Some(body))
}

impl Request {
    /// The request's frame body: opcode, then its fields (`docs/AGENT.md`).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Request::Status => vec![OP_STATUS],
            Request::Derive {
                vault_id,
                key_generation,
                purpose,
                salt,
            } => {
                let mut b = vec![OP_DERIVE];
                b.extend_from_slice(vault_id);
                b.extend_from_slice(&key_generation.to_le_bytes());
                b.push(purpose_byte(*purpose));
                b.extend_from_slice(salt);
                b
            }
            Request::Renew { timeout_secs } => {
                let mut b = vec![OP_RENEW];
                b.extend_from_slice(&timeout_secs.to_le_bytes());
                b
            }
            Request::Lock => vec![OP_LOCK],
            Request::OpenConfirmed {
                vault_id,
                key_generation,
                salts,
            } => {
                let salts = &salts[..salts.len().min(MAX_SALTS)];
                let mut b = vec![OP_OPEN_CONFIRMED];
                b.extend_from_slice(vault_id);
                b.extend_from_slice(&key_generation.to_le_bytes());
                b.push(salts.len() as u8);
                for salt in salts {
                    b.extend_from_slice(salt);
                }
                b
            }
            Request::NewConfirmedKey {
                vault_id,
                key_generation,
            } => {
                let mut b = vec![OP_NEW_CONFIRMED_KEY];
                b.extend_from_slice(vault_id);
                b.extend_from_slice(&key_generation.to_le_bytes());
                b
            }
        }
    }

    /// Parses a request body; `None` for anything malformed (the agent then drops the connection).
    pub fn decode(body: &[u8]) -> Option<Request> {
        let (&op, rest) = body.split_first()?;
        match (op, rest.len()) {
            (OP_STATUS, 0) => Some(Request::Status),
            (OP_LOCK, 0) => Some(Request::Lock),
            (OP_RENEW, 8) => Some(Request::Renew {
                timeout_secs: u64::from_le_bytes(rest.try_into().ok()?),
            }),
            (OP_DERIVE, 53) => Some(Request::Derive {
                vault_id: rest[..16].try_into().ok()?,
                key_generation: u32::from_le_bytes(rest[16..20].try_into().ok()?),
                purpose: purpose_from_byte(rest[20])?,
                salt: rest[21..53].try_into().ok()?,
            }),
            (OP_OPEN_CONFIRMED, len) if len > 21 => {
                let count = rest[20] as usize;
                let salts = &rest[21..];
                if count == 0 || count > MAX_SALTS || salts.len() != count * VALUE_SALT_LEN {
                    return None;
                }
                Some(Request::OpenConfirmed {
                    vault_id: rest[..16].try_into().ok()?,
                    key_generation: u32::from_le_bytes(rest[16..20].try_into().ok()?),
                    salts: salts
                        .chunks_exact(VALUE_SALT_LEN)
                        .map(|c| c.try_into().ok())
                        .collect::<Option<Vec<_>>>()?,
                })
            }
            (OP_NEW_CONFIRMED_KEY, 20) => Some(Request::NewConfirmedKey {
                vault_id: rest[..16].try_into().ok()?,
                key_generation: u32::from_le_bytes(rest[16..20].try_into().ok()?),
            }),
            _ => None,
        }
    }
}

/// The agent's answer to `status`.
#[derive(Debug, PartialEq, Eq)]
pub struct AgentStatus {
    /// The id of the vault whose key the agent holds.
    pub vault_id: [u8; VAULT_ID_LEN],
    /// That vault's key generation when it was unlocked.
    pub key_generation: u32,
    /// Seconds until the agent locks itself.
    pub seconds_left: u64,
    /// The agent's process id.
    pub pid: u32,
    /// The vault file the agent was started for (at most 2048 bytes on the wire).
    pub vault_path: String,
    /// The agent's own timeout (what a plain `unlock` renews it by). Appended after the path;
    /// `None` from an agent older than this field.
    pub timeout_secs: Option<u64>,
}

impl AgentStatus {
    /// The OK answer to `status`, as the agent sends it.
    pub fn encode(&self) -> Vec<u8> {
        let path = self.vault_path.as_bytes();
        let path = &path[..path.len().min(2048)];
        let mut b = vec![OK];
        b.extend_from_slice(&self.vault_id);
        b.extend_from_slice(&self.key_generation.to_le_bytes());
        b.extend_from_slice(&self.seconds_left.to_le_bytes());
        b.extend_from_slice(&self.pid.to_le_bytes());
        b.extend_from_slice(&(path.len() as u16).to_le_bytes());
        b.extend_from_slice(path);
        if let Some(timeout) = self.timeout_secs {
            b.extend_from_slice(&timeout.to_le_bytes());
        }
        b
    }

    /// Reads an answer to `status`; `None` unless it is a canonical OK answer.
    pub fn decode(body: &[u8]) -> Option<AgentStatus> {
        let rest = body.strip_prefix(&[OK])?;
        if rest.len() < 34 {
            return None;
        }
        let path_len = u16::from_le_bytes(rest[32..34].try_into().ok()?) as usize;
        // Canonical answers only: after the path comes the agent's timeout (8 bytes) or nothing
        // (an older agent); any other length is not what an agent sends.
        if rest.len() != 34 + path_len && rest.len() != 34 + path_len + 8 {
            return None;
        }
        let path = rest.get(34..)?;
        Some(AgentStatus {
            vault_id: rest[..16].try_into().ok()?,
            key_generation: u32::from_le_bytes(rest[16..20].try_into().ok()?),
            seconds_left: u64::from_le_bytes(rest[20..28].try_into().ok()?),
            pid: u32::from_le_bytes(rest[28..32].try_into().ok()?),
            vault_path: String::from_utf8_lossy(path).into_owned(),
            timeout_secs: rest
                .get(34 + path_len..34 + path_len + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes),
        })
    }
}

/// A refusal answer carrying `message`, cut to 1024 bytes.
pub fn refused(message: &str) -> Vec<u8> {
    let m = message.as_bytes();
    let m = &m[..m.len().min(1024)];
    let mut b = vec![REFUSED];
    b.extend_from_slice(&(m.len() as u16).to_le_bytes());
    b.extend_from_slice(m);
    b
}

/// A response body: `Ok(rest)` after an OK byte, `Err(message)` for a refusal.
///
/// The message comes from whatever answered on the socket and may reach the user's terminal, so
/// control characters (escape sequences that could rewrite the screen) become `?`.
pub fn split_response(body: &[u8]) -> Result<&[u8], String> {
    match body.split_first() {
        Some((&OK, rest)) => Ok(rest),
        Some((&REFUSED, rest)) if rest.len() >= 2 => {
            let len = u16::from_le_bytes([rest[0], rest[1]]) as usize;
            let msg = rest.get(2..2 + len).unwrap_or_default();
            Err(String::from_utf8_lossy(msg)
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect())
        }
        _ => Err("malformed answer".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for r in [
            Request::Status,
            Request::Lock,
            Request::Renew { timeout_secs: 900 },
            Request::Derive {
                vault_id: [3; 16],
                key_generation: 7,
                purpose: Purpose::UsageLog,
                salt: [9; 32],
            },
            Request::OpenConfirmed {
                vault_id: [4; 16],
                key_generation: 2,
                salts: vec![[5; 16], [6; 16]],
            },
            Request::NewConfirmedKey {
                vault_id: [6; 16],
                key_generation: 1,
            },
        ] {
            assert_eq!(Request::decode(&r.encode()), Some(r));
        }
    }

    #[test]
    fn malformed_requests_are_rejected() {
        for body in [
            &[][..],
            &[0],
            &[9],
            &[OP_STATUS, 1],
            &[OP_RENEW, 1, 2],
            &[OP_DERIVE; 55],
            &[OP_OPEN_CONFIRMED; 36],
            &[OP_OPEN_CONFIRMED; 21],
            &[OP_NEW_CONFIRMED_KEY; 22],
        ] {
            assert_eq!(Request::decode(body), None, "{body:?}");
        }
    }

    #[test]
    fn status_round_trips() {
        let s = AgentStatus {
            vault_id: [1; 16],
            key_generation: 2,
            seconds_left: 3,
            pid: 4,
            vault_path: "/home/a/v.sesame".into(),
            timeout_secs: Some(8 * 3600),
        };
        let bytes = s.encode();
        // An older agent sends no timeout: still understood.
        let old = AgentStatus {
            timeout_secs: None,
            vault_path: s.vault_path.clone(),
            ..s
        };
        assert_eq!(
            AgentStatus::decode(&bytes).map(|d| d.timeout_secs),
            Some(Some(8 * 3600))
        );
        assert_eq!(AgentStatus::decode(&old.encode()), Some(old));
    }

    /// Found by the `agent_protocol` fuzz target: a refusal's message went to the user's terminal
    /// as the peer sent it, escape sequences included.
    #[test]
    fn a_hostile_agents_refusal_reaches_the_terminal_without_control_characters() {
        let mut body = vec![REFUSED, 11, 0];
        body.extend_from_slice(b"\x1b[2Jgone\0\x07\n");
        let message = split_response(&body).err().unwrap_or_default();
        assert_eq!(message, "?[2Jgone???");
        assert_eq!(split_response(&refused("no key")), Err("no key".into()));
    }

    /// Found by the `agent_protocol` fuzz target: a status answer with bytes after the path was
    /// accepted, so two different answers decoded to the same status.
    #[test]
    fn a_status_answer_with_trailing_bytes_is_refused() {
        let s = AgentStatus {
            vault_id: [1; 16],
            key_generation: 2,
            seconds_left: 3,
            pid: 4,
            vault_path: "/v".into(),
            timeout_secs: None,
        };
        let mut body = s.encode();
        assert!(AgentStatus::decode(&body).is_some());
        body.push(0);
        assert_eq!(AgentStatus::decode(&body), None);
    }

    #[test]
    fn oversized_frames_are_refused_before_allocation() {
        let mut input: &[u8] = &[0xFF, 0xFF, 0xFF, 0x7F];
        assert!(read_frame(&mut input).is_err());
    }
}
