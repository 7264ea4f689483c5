//! Reaching a vault's agent: status, subkeys (as a [`KeyHolder`]), renew and lock. Every failure
//! to reach it is "no agent": the caller falls back to the passphrase.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use zeroize::Zeroizing;

use super::protocol::{
    AgentStatus, MAX_SALTS, Purpose, Request, VALUE_SALT_LEN, read_frame, split_response,
    write_frame,
};
use super::{checked_folder, peer_is_us, socket_path};
use crate::container::KeyHolder;
use crate::error::{Error, Result};
use crate::format::{Header, VAULT_ID_LEN};
use crate::secret::{DataKey, KEY_LEN};

const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an open-confirmed request may wait: the longest wait for the person an agent can
/// have (an hour), and a margin.
const APPROVAL_TIMEOUT: Duration = Duration::from_secs(3600 + 10);

/// Connects to the agent of `vault`, if one is listening in a folder that is safely ours.
fn connect(vault: &Path) -> Option<UnixStream> {
    checked_folder(false).ok()?;
    connect_socket(&socket_path(vault))
}

fn connect_socket(socket: &Path) -> Option<UnixStream> {
    let stream = UnixStream::connect(socket).ok()?;
    if !peer_is_us(&stream) {
        return None; // not our agent: never send it a request, fall back to the passphrase
    }
    stream.set_read_timeout(Some(CLIENT_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT)).ok()?;
    Some(stream)
}

fn ask(stream: &mut UnixStream, request: &Request) -> Result<Vec<u8>> {
    let unavailable = |e: std::io::Error| Error::AgentUnavailable(e.to_string());
    write_frame(stream, &request.encode()).map_err(unavailable)?;
    read_frame(stream)
        .map_err(unavailable)?
        .ok_or_else(|| Error::AgentUnavailable("the agent closed the connection".into()))
}

/// The status of the agent for `vault`, if one answers.
pub fn status(vault: &Path) -> Option<AgentStatus> {
    let mut stream = connect(vault)?;
    let body = ask(&mut stream, &Request::Status).ok()?;
    AgentStatus::decode(&body)
}

/// Extends the agent's lifetime to `timeout_secs` from now. False if no agent answered.
pub fn renew(vault: &Path, timeout_secs: u64) -> bool {
    let Some(mut stream) = connect(vault) else {
        return false;
    };
    ask(&mut stream, &Request::Renew { timeout_secs })
        .map(|body| split_response(&body).is_ok())
        .unwrap_or(false)
}

fn lock_socket(socket: &Path) -> bool {
    let Some(mut stream) = connect_socket(socket) else {
        return false;
    };
    ask(&mut stream, &Request::Lock)
        .map(|body| split_response(&body).is_ok())
        .unwrap_or(false)
}

/// Asks the agent of `vault` to wipe its key and end. False if none was running.
///
/// Unlike every other request, this one is sent even when the socket folder fails
/// [`checked_folder`] (its mode was changed, say): a lock request carries nothing and gets
/// nothing back, the peer must still run as this user (`SO_PEERCRED`), and an agent has to stay
/// stoppable whatever happened to its folder (`lock` used to say "not unlocked" while it ran).
pub fn lock(vault: &Path) -> bool {
    lock_socket(&socket_path(vault))
}

/// Ends every agent of this user; returns how many answered. Stale sockets are removed, but
/// only from a folder that passes [`checked_folder`]; agents are found (and, being ours, told to
/// lock, as [`lock`] says) in one that does not.
pub fn lock_all() -> Result<usize> {
    let folder = super::socket_folder();
    let private = checked_folder(false).is_ok();
    if !fs_is_dir(&folder) {
        return Ok(0);
    }
    let mut count = 0;
    let entries = std::fs::read_dir(&folder)
        .map_err(|e| Error::io(format!("cannot read {}", folder.display()), e))?;
    for entry in entries.flatten() {
        let path: PathBuf = entry.path();
        if !is_agent_socket(&path) {
            continue;
        }
        if lock_socket(&path) {
            count += 1;
        } else if private {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(count)
}

/// Whether `path` is named as an agent's socket (`agent-HEX.sock`).
fn is_agent_socket(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("agent-") && n.ends_with(".sock"))
}

/// A folder, and not a link to one.
fn fs_is_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Subkeys from the agent, for one vault identity. Never holds the data key.
pub struct AgentKey {
    stream: Mutex<UnixStream>,
    vault_id: [u8; VAULT_ID_LEN],
    key_generation: u32,
}

impl AgentKey {
    /// A connection to the agent of `vault`, to open the file whose header is `header`.
    pub fn connect(vault: &Path, header: &Header) -> Option<AgentKey> {
        Some(AgentKey {
            stream: Mutex::new(connect(vault)?),
            vault_id: header.vault_id,
            key_generation: header.key_generation,
        })
    }

    /// A connection to every agent of this user, to open a copy of a vault whose path is not
    /// known (git's temporary files for `merge-driver` and `textconv`). An agent of another
    /// vault or key generation refuses every request, so the caller tries each in turn.
    pub fn connect_all(header: &Header) -> Vec<AgentKey> {
        let Ok(folder) = checked_folder(false) else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir(&folder) else {
            return Vec::new();
        };
        entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| is_agent_socket(path))
            .filter_map(|path| connect_socket(&path))
            .map(|stream| AgentKey {
                stream: Mutex::new(stream),
                vault_id: header.vault_id,
                key_generation: header.key_generation,
            })
            .collect()
    }
}

impl KeyHolder for AgentKey {
    fn subkey(&self, salt: &[u8], purpose: Purpose) -> Result<Zeroizing<[u8; KEY_LEN]>> {
        let salt: [u8; 32] = salt
            .try_into()
            .map_err(|_| Error::AgentUnavailable("salt of the wrong length".into()))?;
        let request = Request::Derive {
            vault_id: self.vault_id,
            key_generation: self.key_generation,
            purpose,
            salt,
        };
        let mut stream = self.stream.lock().unwrap_or_else(|p| p.into_inner());
        let body = Zeroizing::new(ask(&mut stream, &request)?);
        let rest = split_response(&body).map_err(Error::AgentUnavailable)?;
        key_of(rest)
    }

    fn data_key(&self) -> Option<&DataKey> {
        None
    }

    /// open-confirmed: waits for the person on the console, up to the longest wait an agent
    /// can have (`SESAME_CONFIRM_WAIT`, at most an hour) and a margin. A refusal (denied, not
    /// answered, no console) is exit 3 with the agent's words.
    fn confirmed_keys(
        &self,
        salts: &[[u8; VALUE_SALT_LEN]],
    ) -> Result<Vec<Zeroizing<[u8; KEY_LEN]>>> {
        if salts.is_empty() || salts.len() > MAX_SALTS {
            return Err(Error::AgentUnavailable("too many values at once".into()));
        }
        let request = Request::OpenConfirmed {
            vault_id: self.vault_id,
            key_generation: self.key_generation,
            salts: salts.to_vec(),
        };
        let mut stream = self.stream.lock().unwrap_or_else(|p| p.into_inner());
        let _ = stream.set_read_timeout(Some(APPROVAL_TIMEOUT));
        let body = ask(&mut stream, &request);
        let _ = stream.set_read_timeout(Some(CLIENT_TIMEOUT));
        let body = Zeroizing::new(body?);
        let rest = split_response(&body).map_err(Error::NotApproved)?;
        if rest.len() != salts.len() * KEY_LEN {
            return Err(Error::AgentUnavailable("malformed answer".into()));
        }
        rest.chunks_exact(KEY_LEN).map(key_of).collect()
    }

    fn new_confirmed_key(&self) -> Result<([u8; VALUE_SALT_LEN], Zeroizing<[u8; KEY_LEN]>)> {
        let request = Request::NewConfirmedKey {
            vault_id: self.vault_id,
            key_generation: self.key_generation,
        };
        let mut stream = self.stream.lock().unwrap_or_else(|p| p.into_inner());
        let body = Zeroizing::new(ask(&mut stream, &request)?);
        let rest = split_response(&body).map_err(Error::AgentUnavailable)?;
        let (salt, key) = rest
            .split_at_checked(VALUE_SALT_LEN)
            .ok_or_else(|| Error::AgentUnavailable("malformed answer".into()))?;
        let mut own = [0u8; VALUE_SALT_LEN];
        own.copy_from_slice(salt);
        Ok((own, key_of(key)?))
    }
}

/// A 32-byte key from an answer, into a buffer wiped when dropped.
fn key_of(bytes: &[u8]) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    if bytes.len() != KEY_LEN {
        return Err(Error::AgentUnavailable("malformed answer".into()));
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    key.copy_from_slice(bytes);
    Ok(key)
}
