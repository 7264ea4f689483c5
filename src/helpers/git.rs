//! git's credential helper protocol (`git help credential`, "IO FORMAT"): git writes
//! `key=value` lines, ended by a blank line or the end of input, and a helper's `get` answers
//! with lines of the same form. sesame answers from the secret labelled `git/HOST`, or
//! `git/HOST/PATH` when git sends a path (`credential.useHttpPath`), falling back to
//! `git/HOST`; the user name is the secret's note when it reads `username=NAME`. A secret
//! answers `protocol=https` only, unless its note reads `protocol=NAME` (`store` writes
//! `protocol=http` for a server on this machine): a token never goes out in clear to whoever
//! answers on plain http for the same host. `store` writes only the request's own label.
//!
//! Requests are bounded ([`MAX_REQUEST_LEN`]) and read into one zeroizing buffer; a line that is
//! not `key=value` or holds a NUL is refused, naming its number and never its text.

use std::io::BufRead;

use zeroize::Zeroizing;

use super::{host_segment, protocol_in_note, username_in_note};
use crate::error::{Error, Result};
use crate::names::{EnvName, Label};
use crate::secret::SecretValue;
use crate::vault::{Secret, Vault};

/// The largest request read: git's own attributes are short; a token (a JWT) is a few KiB.
pub(crate) const MAX_REQUEST_LEN: usize = 64 * 1024;

/// A request from git. No `Debug`: it may hold a password.
#[derive(Default)]
pub(crate) struct Request {
    /// `protocol=https`.
    pub(crate) protocol: Option<String>,
    /// `host=github.com` (with `:PORT` when there is one).
    pub(crate) host: Option<String>,
    /// `path=org/repo.git`, only with `credential.useHttpPath`.
    pub(crate) path: Option<String>,
    /// `username=`.
    pub(crate) username: Option<String>,
    /// `password=`.
    pub(crate) password: Option<SecretValue>,
    /// Whether git sent `password_expiry_utc=`: the password is a short-lived token (OAuth),
    /// which `store` does not keep.
    pub(crate) expires: bool,
}

fn bad(message: impl Into<String>) -> Error {
    Error::usage(format!(
        "git's credential request: {}; sesame reads key=value lines (`git help credential`)",
        message.into()
    ))
}

impl Request {
    /// Reads a request from `input` up to its blank line or end, at most
    /// [`MAX_REQUEST_LEN`] bytes; a request that does not fit is refused, not cut short.
    pub(crate) fn read(input: &mut impl BufRead) -> Result<Request> {
        // Sized once: `read_until` then never reallocates, so no copy of a password is left.
        let mut buf = Zeroizing::new(Vec::with_capacity(MAX_REQUEST_LEN + 1));
        let mut lines = Vec::new();
        loop {
            let start = buf.len();
            let room = (MAX_REQUEST_LEN + 1 - start) as u64;
            let n = std::io::Read::take(&mut *input, room)
                .read_until(b'\n', &mut buf)
                .map_err(|e| Error::io("cannot read git's credential request", e))?;
            if buf.len() > MAX_REQUEST_LEN {
                return Err(bad(format!("larger than {} KiB", MAX_REQUEST_LEN / 1024)));
            }
            let line = &buf[start..];
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            if n == 0 || line.is_empty() {
                break;
            }
            lines.push(start..start + line.len());
        }
        let mut request = Request::default();
        for (number, range) in lines.into_iter().enumerate() {
            request.take_line(&buf[range], number + 1)?;
        }
        Ok(request)
    }

    fn take_line(&mut self, line: &[u8], number: usize) -> Result<()> {
        let eq = memchr::memchr(b'=', line)
            .ok_or_else(|| bad(format!("line {number} is not key=value")))?;
        let (key, value) = (&line[..eq], &line[eq + 1..]);
        if key.is_empty() || value.contains(&0) {
            return Err(bad(format!("line {number} has an empty key or a NUL byte")));
        }
        if key == b"password" {
            self.password = Some(SecretValue::new(Zeroizing::new(value.to_vec())));
            return Ok(());
        }
        if key == b"password_expiry_utc" {
            self.expires = !value.is_empty();
            return Ok(());
        }
        let slot = match key {
            b"protocol" => &mut self.protocol,
            b"host" => &mut self.host,
            b"path" => &mut self.path,
            b"username" => &mut self.username,
            // url, wwwauth[], capability[], oauth_refresh_token, …: not
            // needed to find a secret; git's rule is that a helper ignores what it does not use.
            _ => return Ok(()),
        };
        let text = std::str::from_utf8(value)
            .map_err(|_| bad(format!("line {number} is not UTF-8 text")))?;
        *slot = Some(text.to_string());
        Ok(())
    }

    /// The labels that may hold this credential, the most specific first: `git/HOST/PATH`
    /// (when git sent a path that a label can carry), then `git/HOST`. Empty when git sent no
    /// host, or one no label can carry.
    pub(crate) fn labels(&self) -> Vec<Label> {
        let Some(host) = self.host.as_deref().and_then(host_segment) else {
            return Vec::new();
        };
        let mut labels = Vec::new();
        if let Some(path) = self.path.as_deref().map(|p| p.trim_matches('/'))
            && !path.is_empty()
            && let Ok(label) = Label::parse(&format!("git/{host}/{path}"))
        {
            labels.push(label);
        }
        if let Ok(label) = Label::parse(&format!("git/{host}")) {
            labels.push(label);
        }
        labels
    }

    /// The label a new secret is stored under: `git/HOST/PATH` when git sent a path, else
    /// `git/HOST`. An error when the host or path cannot be part of a label.
    pub(crate) fn new_label(&self) -> Result<Label> {
        let host = self.host.as_deref().unwrap_or_default();
        let segment = host_segment(host).ok_or_else(|| {
            Error::usage(format!(
                "the host {:?} cannot be part of a label (A-Z a-z 0-9 . - and a :PORT)",
                crate::printable::printable(host)
            ))
        })?;
        match self.path.as_deref().map(|p| p.trim_matches('/')) {
            Some(path) if !path.is_empty() => Label::parse(&format!("git/{segment}/{path}")),
            _ => Label::parse(&format!("git/{segment}")),
        }
    }

    /// The protocol a credential git confirmed is saved for: `Ok(None)` for https (the
    /// default, no note line), `Ok(Some("http"))` for plain http to this machine (a local test
    /// server); anything else is not saved, and the error says why.
    pub(crate) fn store_protocol(&self) -> std::result::Result<Option<String>, &'static str> {
        match self.protocol.as_deref() {
            Some("https") => Ok(None),
            Some("http") if self.host.as_deref().is_some_and(is_loopback) => {
                Ok(Some("http".to_string()))
            }
            Some("http") => Err("plain http to a host that is not this machine"),
            _ => Err("a protocol other than https (or http to this machine)"),
        }
    }

    /// The secret that answers this request: the first of [`Request::labels`] in `vault` whose
    /// note names no other user than the one git sent, and whose protocol (`https` unless its
    /// note says otherwise) is the request's. A request with no protocol is answered by none.
    pub(crate) fn find<'v>(&self, vault: &'v Vault) -> Option<&'v Secret> {
        let protocol = self.protocol.as_deref()?;
        self.labels().iter().find_map(|label| {
            let secret = vault.get(label).ok()?;
            if protocol_in_note(secret.note.as_deref()) != protocol {
                return None;
            }
            let noted = username_in_note(secret.note.as_deref());
            match (self.username.as_deref(), noted) {
                (Some(asked), Some(noted)) if asked != noted => None,
                _ => Some(secret),
            }
        })
    }
}

/// Whether git's `host` (with its `:PORT`) names this machine.
fn is_loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    crate::openbao::is_loopback_host(name)
}

/// The env name of a secret `store` creates: `GIT_TOKEN_` and the label's default env name
/// without its `GIT_` (`git/github.com` → `GIT_TOKEN_GITHUB_COM`), so `run --all` does not hand
/// it over as a bare `GIT_…` setting.
pub(crate) fn env_name_for(label: &Label) -> Result<EnvName> {
    token_env_name("GIT", label)
}

/// `KIND_TOKEN_REST` from a label `kind/rest`'s default env name, at most 128 characters.
pub(crate) fn token_env_name(kind: &str, label: &Label) -> Result<EnvName> {
    let default = label.default_env_name();
    let rest = default
        .as_str()
        .strip_prefix(&format!("{kind}_"))
        .unwrap_or(default.as_str());
    let mut name = format!("{kind}_TOKEN_{rest}");
    name.truncate(crate::names::MAX_ENV_NAME_LEN);
    EnvName::parse(&name)
}

/// `get`'s answer: `username=` (when known) and `password=` lines. A value git's line format
/// cannot carry (a newline or NUL) is refused, naming the label only.
pub(crate) fn answer(
    label: &Label,
    username: Option<&str>,
    password: &SecretValue,
) -> Result<Zeroizing<Vec<u8>>> {
    let value = password.expose();
    if value.contains(&b'\n') || value.contains(&0) {
        return Err(Error::usage(format!(
            "the value of {label} holds a newline or NUL byte, which git's credential protocol \
             cannot carry; store the token alone (`sesame rotate {label}`)"
        )));
    }
    if let Some(name) = username
        && (name.contains('\n') || name.contains('\0'))
    {
        return Err(Error::usage(format!(
            "the user name in the note of {label} holds a newline or NUL byte"
        )));
    }
    let user_len = username.map_or(0, |u| "username=".len() + u.len() + 1);
    let len = user_len + "password=".len() + value.len() + 1;
    // Exactly its size: never reallocated, so no stray copy of the password.
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    if let Some(name) = username {
        out.extend_from_slice(b"username=");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"password=");
    out.extend_from_slice(value);
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn read(text: &[u8]) -> Result<Request> {
        Request::read(&mut std::io::Cursor::new(text))
    }

    fn value(text: &str) -> SecretValue {
        SecretValue::new(Zeroizing::new(text.as_bytes().to_vec()))
    }

    #[test]
    fn a_request_is_read_up_to_its_blank_line() {
        let r = read(
            b"protocol=https\nhost=Example.com:8443\nusername=ann\npassword=tok\n\
              capability[]=authtype\nwwwauth[]=Basic realm=\"x\"\n\nhost=after-the-end\n",
        )
        .unwrap();
        assert_eq!(r.protocol.as_deref(), Some("https"));
        assert_eq!(r.host.as_deref(), Some("Example.com:8443"));
        assert_eq!(r.username.as_deref(), Some("ann"));
        assert_eq!(r.password.unwrap().expose(), b"tok");
        // End of input without a blank line ends it too.
        let r = read(b"protocol=https\nhost=h").unwrap();
        assert_eq!(r.host.as_deref(), Some("h"));
        let labels: Vec<String> = read(b"host=h\npath=/org/repo.git/\n")
            .unwrap()
            .labels()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(labels, ["git/h/org/repo.git", "git/h"]);
    }

    #[test]
    fn a_bad_request_is_refused_without_echoing_it() {
        for (text, needle) in [
            (
                &b"host=h\npassword hunter2\n"[..],
                "line 2 is not key=value",
            ),
            (b"=hunter2\n", "line 1 has an empty key"),
            (b"password=hun\0ter2\n", "NUL"),
            (b"host=\xff\n", "line 1 is not UTF-8"),
        ] {
            let e = read(text).err().unwrap();
            let shown = e.to_string();
            assert!(shown.contains(needle), "{shown}");
            assert!(
                !shown.contains("hunter2") && !shown.contains("ter2"),
                "{shown}"
            );
            assert_eq!(e.exit_code(), 2);
        }
        let mut big = b"password=".to_vec();
        big.resize(MAX_REQUEST_LEN + 10, b'a');
        assert!(
            read(&big)
                .err()
                .unwrap()
                .to_string()
                .contains("larger than 64 KiB")
        );
        let mut fits = b"password=".to_vec();
        fits.resize(MAX_REQUEST_LEN - 1, b'a');
        fits.push(b'\n');
        assert_eq!(
            read(&fits).unwrap().password.unwrap().len(),
            MAX_REQUEST_LEN - 10
        );
    }

    proptest::proptest! {
        /// Any bytes: a request is read or refused, never a panic, and a refusal never quotes
        /// the input.
        #[test]
        fn any_request_is_read_or_refused_without_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
        ) {
            if let Err(e) = read(&bytes) {
                let shown = e.to_string();
                proptest::prop_assert!(shown.starts_with("git's credential request"));
            }
        }
    }

    #[test]
    fn the_answer_is_the_noted_user_and_the_value() {
        let label = Label::parse("git/h").unwrap();
        let out = answer(&label, Some("ann"), &value("tok")).unwrap();
        assert_eq!(out.as_slice(), b"username=ann\npassword=tok\n");
        let out = answer(&label, None, &value("tok")).unwrap();
        assert_eq!(out.as_slice(), b"password=tok\n");
        let e = answer(&label, None, &value("tok\nhost=evil"))
            .err()
            .unwrap();
        assert!(!e.to_string().contains("evil"));
    }

    #[test]
    fn a_stored_token_gets_a_token_env_name() {
        let label = Label::parse("git/github.com").unwrap();
        assert_eq!(
            env_name_for(&label).unwrap().as_str(),
            "GIT_TOKEN_GITHUB_COM"
        );
        let long = Label::parse(&format!("git/{}", "a".repeat(120))).unwrap();
        assert_eq!(env_name_for(&long).unwrap().as_str().len(), 128);
    }
}
