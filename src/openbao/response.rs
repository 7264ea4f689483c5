//! What sesame reads from OpenBao's answers, apart from the network: each function takes a
//! response body as received (at most 4 MiB, from a server that may be hostile or broken) and
//! returns what its JSON says, or a [`Malformed`] reason that holds nothing from the body. Public
//! so the fuzz target `openbao_response` and its replay in `cargo test` reach them without a
//! server.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor, value::MapAccessDeserializer};
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

/// The body as `T`, which must be a JSON object.
fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Malformed> {
    serde_json::from_slice::<Object<T>>(body)
        .map(|o| o.0)
        .map_err(|_| NOT_OPENBAO)
}

/// A JSON object read as `T`, and nothing else: a derived struct also accepts an array of its
/// fields in order (`[[9]]` for `{"data": {"version": 9}}`), which OpenBao never sends.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Fields<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        deserializer
            .deserialize_map(Fields(PhantomData))
            .map(Object)
    }
}

/// `POST MOUNT/encrypt/KEY`: `{"data": {"ciphertext": "vault:v1:…"}}`.
pub fn transit_ciphertext(body: &[u8]) -> Result<String, Malformed> {
    #[derive(Deserialize)]
    struct Data {
        ciphertext: String,
    }
    #[derive(Deserialize)]
    struct Reply {
        data: Object<Data>,
    }
    json::<Reply>(body).map(|reply| reply.data.0.ciphertext)
}

/// `POST MOUNT/decrypt/KEY`: `{"data": {"plaintext": BASE64}}`, decoded.
pub fn transit_plaintext(body: &[u8]) -> Result<Zeroizing<Vec<u8>>, Malformed> {
    #[derive(Deserialize)]
    struct Data {
        plaintext: Zeroizing<String>,
    }
    #[derive(Deserialize)]
    struct Reply {
        data: Object<Data>,
    }
    let reply: Reply = json(body)?;
    BASE64
        .decode(reply.data.0.plaintext.as_bytes())
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
        metadata: Object<Metadata>,
    }
    #[derive(Deserialize)]
    struct Reply {
        data: Object<Data>,
    }
    let reply: Reply = json(body)?;
    let data = reply.data.0;
    let Some(fields) = data.data else {
        return Ok(None);
    };
    let fields = fields
        .into_iter()
        .map(|(name, field)| (name, field.into_value()))
        .collect();
    Ok(Some(KvSecret {
        fields,
        version: data.metadata.0.version,
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
        data: Object<Data>,
    }
    json::<Reply>(body).map(|reply| reply.data.0.version)
}

/// `POST auth/MOUNT/login`: `{"auth": {"client_token": TOKEN, …}}`, the token the login gave.
pub fn login_token(body: &[u8]) -> Result<Zeroizing<String>, Malformed> {
    #[derive(Deserialize)]
    struct Auth {
        client_token: Zeroizing<String>,
    }
    #[derive(Deserialize)]
    struct Reply {
        auth: Object<Auth>,
    }
    let token = json::<Reply>(body)?.auth.0.client_token;
    // It goes into a header: a token no header can carry is no token OpenBao gave.
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Malformed("the login answer holds no usable token"));
    }
    Ok(token)
}

/// GitHub Actions' ID-token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`): `{"value": JWT, …}`.
pub fn id_token(body: &[u8]) -> Result<Zeroizing<String>, Malformed> {
    #[derive(Deserialize)]
    struct Reply {
        value: Zeroizing<String>,
    }
    let jwt = json::<Reply>(body)?.value;
    // A JWT is three base64url parts joined by dots; it goes into a JSON body as it is.
    if jwt.is_empty()
        || !jwt
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
    {
        return Err(Malformed("the ID-token answer holds no JWT"));
    }
    Ok(jwt)
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

/// The `errors` OpenBao sends with a failed request, on one line without control characters;
/// never the request itself. Not cut: the caller removes any credential the server echoed first,
/// then cuts it with [`cut_reason`] (cut first, a credential straddling the cut would stay in
/// part).
pub fn server_errors(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<String>,
    }
    let text = json::<Errors>(body)
        .map(|e| e.errors.join("; "))
        .unwrap_or_default();
    // OpenBao wraps reasons as "1 error occurred:\n\t* permission denied": one line here.
    let text = text.replace(|c: char| c.is_control() || c == '*', " ");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A server's reason as a message shows it: at most [`MAX_REASON_CHARS`] characters, or "no
/// reason given".
pub fn cut_reason(text: &str) -> String {
    let text: String = text.chars().take(MAX_REASON_CHARS).collect();
    if text.is_empty() {
        "no reason given".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_with_arrays_in_place_of_objects_are_refused() {
        // Found by the fuzz target `openbao_response`: serde's derived structs also read an array
        // of their fields in order, so `[[9]]` was a KV write of version 9 and `[["x"]]` a
        // Transit ciphertext "x", though OpenBao sends neither.
        assert_eq!(kv_version(b"[[9]]"), Err(NOT_OPENBAO));
        assert_eq!(kv_version(br#"{"data":[9]}"#), Err(NOT_OPENBAO));
        assert_eq!(transit_ciphertext(br#"[["vault:v1:x"]]"#), Err(NOT_OPENBAO));
        assert_eq!(
            transit_plaintext(br#"{"data":["eA=="]}"#).err(),
            Some(NOT_OPENBAO)
        );
        let metadata_array = br#"{"data":{"data":{"k":"v"},"metadata":[3]}}"#;
        assert_eq!(kv_secret(metadata_array).err(), Some(NOT_OPENBAO));
        assert_eq!(
            cut_reason(&server_errors(br#"[["permission denied"]]"#)),
            "no reason given"
        );
        // The objects themselves still read.
        assert_eq!(kv_version(br#"{"data":{"version":9}}"#), Ok(9));
        assert_eq!(
            transit_ciphertext(br#"{"data":{"ciphertext":"vault:v1:x"}}"#),
            Ok("vault:v1:x".to_string())
        );
        let secret = kv_secret(br#"{"data":{"data":{"k":"v"},"metadata":{"version":3}}}"#);
        let secret = secret.ok().flatten();
        assert_eq!(secret.as_ref().map(|s| s.version), Some(3));
        assert_eq!(
            secret
                .as_ref()
                .and_then(|s| s.fields.get("k"))
                .map(|v| v.expose()),
            Some(&b"v"[..])
        );
        assert_eq!(
            cut_reason(&server_errors(br#"{"errors":["permission denied"]}"#)),
            "permission denied"
        );
    }
}
