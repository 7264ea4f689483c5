//! docker's credential helper protocol (docker/docker-credential-helpers): the action is the
//! argument; `get` and `erase` read a server URL on stdin, `store` reads
//! `{"ServerURL","Username","Secret"}`, `get` answers with the same JSON and `list` with a map
//! of server URL to user name. A server with no credential is exactly
//! [`NOT_FOUND`] on stdout and exit 1: docker compares that text. Labels are `docker/HOST`.

use std::io::Read;

use serde::Deserialize;
use zeroize::Zeroizing;

use super::host_segment;
use crate::error::{Error, Result};
use crate::names::{EnvName, Label};
use crate::vault::Vault;

/// What docker's client recognises as "no credential" (`credentials.ErrCredentialsNotFound`).
pub(crate) const NOT_FOUND: &str = "credentials not found in native keychain";

/// The largest request read: a URL, or a `store` JSON holding a registry token.
pub(crate) const MAX_REQUEST_LEN: usize = 64 * 1024;

/// A `store` request. No `Debug`: it holds the secret.
#[derive(Deserialize)]
pub(crate) struct Credential {
    /// The registry, as docker names it (`https://index.docker.io/v1/`, `localhost:5000`).
    #[serde(rename = "ServerURL")]
    pub(crate) server_url: String,
    /// The user name (`<token>` for an identity token).
    #[serde(rename = "Username")]
    pub(crate) username: String,
    /// The password or token.
    #[serde(rename = "Secret")]
    pub(crate) secret: Zeroizing<String>,
}

/// Reads all of stdin, at most [`MAX_REQUEST_LEN`] bytes, into a zeroizing buffer.
pub(crate) fn read_request(input: &mut impl Read) -> Result<Zeroizing<Vec<u8>>> {
    // Sized once: never reallocated, so no copy of a secret is left behind.
    let mut buf = Zeroizing::new(Vec::with_capacity(MAX_REQUEST_LEN + 1));
    input
        .take(MAX_REQUEST_LEN as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("cannot read docker's credential request", e))?;
    if buf.len() > MAX_REQUEST_LEN {
        return Err(Error::usage(format!(
            "docker's credential request is larger than {} KiB",
            MAX_REQUEST_LEN / 1024
        )));
    }
    Ok(buf)
}

/// The server URL of a `get` or `erase` request: the input, trimmed.
pub(crate) fn server_url(request: &[u8]) -> Result<String> {
    let text = std::str::from_utf8(request)
        .map_err(|_| Error::usage("docker's server URL is not UTF-8 text"))?
        .trim();
    if text.is_empty() || text.contains(char::is_control) {
        return Err(Error::usage(
            "docker sent no server URL (or one with control characters) on stdin",
        ));
    }
    Ok(text.to_string())
}

/// Parses a `store` request.
pub(crate) fn credential(request: &[u8]) -> Result<Credential> {
    // serde_json's message can quote the input, which holds the secret: never shown.
    let credential: Credential = serde_json::from_slice(request).map_err(|_| {
        Error::usage(
            "docker's store request is not {\"ServerURL\",\"Username\",\"Secret\"} JSON \
             (its text is not shown: it holds the secret)",
        )
    })?;
    server_url(credential.server_url.as_bytes())?;
    if credential.secret.is_empty() {
        return Err(Error::usage("docker's store request has an empty Secret"));
    }
    Ok(credential)
}

/// The host of a server URL (`https://HOST[:PORT]/path` or `HOST[:PORT]`), as a label segment.
fn host_of(server_url: &str) -> Option<String> {
    let rest = server_url
        .split_once("://")
        .map_or(server_url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // user:password@ has no place in a server URL; refused rather than parsed around.
    if authority.contains('@') {
        return None;
    }
    host_segment(authority)
}

/// A server URL as messages and the usage log show it: any `user:password@` before the host
/// taken out (docker never sends one, but a hand-written request may), control characters
/// escaped.
pub(crate) fn shown(server_url: &str) -> String {
    let (scheme, rest) = match server_url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, server_url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let rest = match rest[..end].rfind('@') {
        Some(at) => format!("…@{}", &rest[at + 1..]),
        None => rest.to_string(),
    };
    let url = match scheme {
        Some(scheme) => format!("{scheme}://{rest}"),
        None => rest,
    };
    crate::printable::cut(&url, super::MAX_SHOWN_SERVER_CHARS)
}

/// The label of a server's credential: `docker/HOST` (`docker/127.0.0.1_5000` for
/// `127.0.0.1:5000`). An error when the host cannot be part of a label.
pub(crate) fn label_for(server_url: &str) -> Result<Label> {
    let host = host_of(server_url).ok_or_else(|| {
        Error::usage(format!(
            "the server {:?} has no host a label can carry (A-Z a-z 0-9 . - and a :PORT, \
             no user:password@)",
            shown(server_url)
        ))
    })?;
    Label::parse(&format!("docker/{host}"))
}

/// The env name of a secret `store` creates: `DOCKER_TOKEN_HOST`.
pub(crate) fn env_name_for(label: &Label) -> Result<EnvName> {
    super::git::token_env_name("DOCKER", label)
}

/// Docker Hub's server URL, the key docker's client files Hub credentials under.
const DOCKER_HUB_URL: &str = "https://index.docker.io/v1/";

/// The server URL `list` shows for a label `docker/HOST`: the host, with `:PORT` again; Docker
/// Hub's as docker names it ([`DOCKER_HUB_URL`]), since docker keys credentials by what `list`
/// returns.
fn server_of(label: &Label) -> Option<String> {
    let host = label.as_str().strip_prefix("docker/")?;
    if host.contains('/') {
        return None;
    }
    if host == "index.docker.io" {
        return Some(DOCKER_HUB_URL.to_string());
    }
    Some(match host.rsplit_once('_') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{name}:{port}")
        }
        _ => host.to_string(),
    })
}

/// `list`'s answer: every `docker/HOST` secret's server and user name (its note's
/// `username=NAME`, else empty).
pub(crate) fn list(vault: &Vault) -> Result<Vec<u8>> {
    let map: serde_json::Map<String, serde_json::Value> = vault
        .secrets
        .iter()
        .filter_map(|s| {
            let server = server_of(&s.label)?;
            let user = super::username_in_note(s.note.as_deref()).unwrap_or_default();
            Some((server, serde_json::Value::from(user)))
        })
        .collect();
    serde_json::to_vec(&map)
        .map_err(|e| Error::Failed(format!("cannot write the list as JSON: {e}")))
}

/// `get`'s answer, `{"ServerURL":…,"Username":…,"Secret":…}`, built in one buffer of its final
/// size. A value that is not UTF-8 cannot be a JSON string: refused, naming the label only.
pub(crate) fn answer(
    label: &Label,
    server_url: &str,
    username: &str,
    secret: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let secret = std::str::from_utf8(secret).map_err(|_| {
        Error::usage(format!(
            "the value of {label} is not UTF-8 text, which docker's JSON cannot carry"
        ))
    })?;
    let fields = [
        ("ServerURL", server_url),
        ("Username", username),
        ("Secret", secret),
    ];
    let len = 2 + fields
        .iter()
        .map(|(k, v)| k.len() + 3 + json_len(v) + 1)
        .sum::<usize>();
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    out.push(b'{');
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        push_json(&mut out, value);
    }
    out.push(b'}');
    out.push(b'\n');
    Ok(out)
}

/// How many bytes `text` takes as a JSON string, quotes included.
fn json_len(text: &str) -> usize {
    2 + text
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// Appends `text` as a JSON string (RFC 8259: `"`, `\` and control characters escaped).
fn push_json(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for b in text.bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_server_url_names_its_host() {
        for (url, want) in [
            ("https://index.docker.io/v1/", "docker/index.docker.io"),
            ("127.0.0.1:5000", "docker/127.0.0.1_5000"),
            ("http://LOCALHOST:5000/v2/", "docker/localhost_5000"),
            ("ghcr.io", "docker/ghcr.io"),
        ] {
            assert_eq!(label_for(url).unwrap().as_str(), want, "{url}");
        }
        for url in ["https://user:pw@h/", "https://", "[::1]:5000"] {
            assert!(label_for(url).is_err(), "{url}");
        }
        let label = Label::parse("docker/127.0.0.1_5000").unwrap();
        assert_eq!(server_of(&label).as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(shown("https://ann:pw@h:5000/v2/"), "https://…@h:5000/v2/");
        assert_eq!(shown("ann:pw@h"), "…@h");
        assert_eq!(shown("h/a@b"), "h/a@b");
    }

    #[test]
    fn the_answer_is_json_whatever_the_value_holds() {
        let label = Label::parse("docker/h").unwrap();
        let secret = "p\"w\\d\n\u{1}é";
        let out = answer(&label, "h:5000", "ann", secret.as_bytes()).unwrap();
        assert_eq!(out.len(), out.capacity());
        let back: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(back["ServerURL"], "h:5000");
        assert_eq!(back["Username"], "ann");
        assert_eq!(back["Secret"], secret);
        assert!(answer(&label, "h", "u", b"\xff").is_err());
    }

    proptest::proptest! {
        /// Any bytes as a store request or a server URL: parsed or refused, never a panic; any
        /// text as a value: the answer is JSON that reads back to it.
        #[test]
        fn any_request_is_parsed_or_refused_and_any_value_round_trips(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
            secret in ".{0,64}",
        ) {
            let _ = credential(&bytes);
            if let Ok(url) = server_url(&bytes) {
                let _ = label_for(&url);
            }
            let label = Label::parse("docker/h").unwrap();
            let out = answer(&label, "h", "u", secret.as_bytes()).unwrap();
            let back: serde_json::Value = serde_json::from_slice(&out).unwrap();
            proptest::prop_assert_eq!(back["Secret"].as_str(), Some(secret.as_str()));
        }
    }

    #[test]
    fn a_store_request_is_strict_and_never_echoed() {
        let ok = br#"{"ServerURL":"h:5000","Username":"ann","Secret":"tok"}"#;
        let c = credential(ok).unwrap();
        assert_eq!(
            (c.server_url.as_str(), c.username.as_str()),
            ("h:5000", "ann")
        );
        assert_eq!(c.secret.as_str(), "tok");
        for bad in [
            &br#"{"ServerURL":"h","Username":"ann","Secret":"hunter2","#[..],
            br#"{"ServerURL":"h","Username":"ann","Secret":""}"#,
            br#"{"ServerURL":"","Username":"ann","Secret":"hunter2"}"#,
            b"hunter2",
        ] {
            let e = credential(bad).err().unwrap();
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }
}
