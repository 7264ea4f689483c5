//! What sesame reads from OpenBao's answers, apart from the network: each function takes a
//! response body as received (at most 4 MiB, from a server that may be hostile or broken) and
//! returns what its JSON says, or a [`Malformed`] reason that holds nothing from the body. Public
//! so the fuzz target `openbao_response` and its replay in `cargo test` reach them without a
//! server.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::KvSecret;
use crate::error::Error;
use crate::secret::SecretValue;

/// Why an answer was not what OpenBao sends. A fixed text: never a value from the answer, which
/// may hold a plaintext or a KV secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl Malformed {
    /// The error a command reports: the address, what was asked, and this reason.
    pub fn into_error(self, addr: &str, what: String) -> Error {
        Error::Bao {
            addr: addr.to_string(),
            what,
            status: 200,
            reason: self.0.into(),
        }
    }
}

const NOT_OPENBAO: Malformed = Malformed("the answer is not what OpenBao sends");

fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Malformed> {
    serde_json::from_slice(body).map_err(|_| NOT_OPENBAO)
}

/// `POST MOUNT/encrypt/KEY`: `{"data": {"ciphertext": "vault:v1:…"}}`.
pub fn transit_ciphertext(body: &[u8]) -> Result<String, Malformed> {
    #[derive(Deserialize)]
    struct Data {
        ciphertext: String,
    }
    #[derive(Deserialize)]
    struct Reply {
        data: Data,
    }
    json::<Reply>(body).map(|reply| reply.data.ciphertext)
}

/// `POST MOUNT/decrypt/KEY`: `{"data": {"plaintext": BASE64}}`, decoded.
pub fn transit_plaintext(body: &[u8]) -> Result<Zeroizing<Vec<u8>>, Malformed> {
    #[derive(Deserialize)]
    struct Data {
        plaintext: Zeroizing<String>,
    }
    #[derive(Deserialize)]
    struct Reply {
        data: Data,
    }
    let reply: Reply = json(body)?;
    BASE64
        .decode(reply.data.plaintext.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| Malformed("the plaintext is not base64"))
}

/// `GET MOUNT/data/PATH` (KV version 2): `{"data": {"data": {FIELD: VALUE…}, "metadata":
/// {"version": N}}}`. A text field's value is its text; any other JSON value is its JSON text.
/// `None` when `data.data` is null (the current version is deleted).
pub fn kv_secret(body: &[u8]) -> Result<Option<KvSecret>, Malformed> {
    #[derive(Deserialize)]
    struct Metadata {
        version: u64,
    }
    #[derive(Deserialize)]
    struct Data {
        data: Option<BTreeMap<String, Field>>,
        metadata: Metadata,
    }
    #[derive(Deserialize)]
    struct Reply {
        data: Data,
    }
    let reply: Reply = json(body)?;
    let Some(fields) = reply.data.data else {
        return Ok(None);
    };
    let fields = fields
        .into_iter()
        .map(|(name, field)| (name, field.into_value()))
        .collect();
    Ok(Some(KvSecret {
        fields,
        version: reply.data.metadata.version,
    }))
}

/// `POST MOUNT/data/PATH` (KV version 2): `{"data": {"version": N}}`, the version written.
pub fn kv_version(body: &[u8]) -> Result<u64, Malformed> {
    #[derive(Deserialize)]
    struct Data {
        version: u64,
    }
    #[derive(Deserialize)]
    struct Reply {
        data: Data,
    }
    json::<Reply>(body).map(|reply| reply.data.version)
}

/// A KV field as JSON: text (kept in a zeroizing buffer), or any other JSON value.
#[derive(Deserialize)]
#[serde(untagged)]
enum Field {
    Text(Zeroizing<String>),
    Other(serde_json::Value),
}

impl Field {
    fn into_value(self) -> SecretValue {
        match self {
            Field::Text(text) => SecretValue::new(Zeroizing::new(text.as_bytes().to_vec())),
            Field::Other(value) => SecretValue::new(Zeroizing::new(value.to_string().into_bytes())),
        }
    }
}

/// The most of a server's reason a message shows, in characters.
pub const MAX_REASON_CHARS: usize = 200;

/// The `errors` OpenBao sends with a failed request, on one line of at most
/// [`MAX_REASON_CHARS`] characters without control characters; never the request itself.
pub fn server_errors(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<String>,
    }
    let text = serde_json::from_slice::<Errors>(body)
        .map(|e| e.errors.join("; "))
        .unwrap_or_default();
    // OpenBao wraps reasons as "1 error occurred:\n\t* permission denied": one line here.
    let text = text.replace(|c: char| c.is_control() || c == '*', " ");
    let text: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_REASON_CHARS)
        .collect();
    if text.is_empty() {
        "no reason given".into()
    } else {
        text
    }
}
