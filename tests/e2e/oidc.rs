//! The OIDC side of the OpenBao login tests: a signing key made in the test, whose JWTs OpenBao
//! checks against its public half (`jwt_validation_pubkeys`), and a stand-in for GitHub Actions'
//! ID-token endpoint.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

/// A P-256 key made for one test: OpenBao trusts its public half, the test signs JWTs with it.
pub(super) struct Issuer {
    key: EcdsaKeyPair,
    rng: SystemRandom,
}

impl Issuer {
    pub(super) fn new() -> Issuer {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        Issuer { key, rng }
    }

    /// The public key as PEM (SubjectPublicKeyInfo: the fixed DER prefix of a P-256 key, then
    /// the uncompressed point).
    pub(super) fn public_pem(&self) -> String {
        let prefix = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
        let mut der: Vec<u8> = (0..prefix.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&prefix[i..i + 2], 16).unwrap())
            .collect();
        der.extend_from_slice(self.key.public_key().as_ref());
        let encoded = STANDARD.encode(der);
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }

    /// A JWT of `claims`, signed with this key (ES256).
    pub(super) fn jwt(&self, claims: &Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{payload}");
        let signature = self.key.sign(&self.rng, signed.as_bytes()).unwrap();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

/// The claims GitHub Actions puts in a job's ID token, for `repository`, `audience`, expiring
/// `expires_in` seconds from now (negative: already expired).
pub(super) fn claims(repository: &str, audience: &str, expires_in: i64) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    json!({
        "iss": "https://token.actions.githubusercontent.com",
        "sub": format!("repo:{repository}:ref:refs/heads/main"),
        "aud": audience,
        "repository": repository,
        "ref": "refs/heads/main",
        "iat": now - 600,
        "nbf": now - 600,
        "exp": now + expires_in,
    })
}

/// A stand-in for GitHub Actions' ID-token endpoint: answers `{"value": JWT}` to a request that
/// carries `Authorization: bearer REQUEST_TOKEN` and `audience=AUDIENCE`, 401 to any other.
pub(super) struct IdTokenEndpoint {
    pub(super) url: String,
    pub(super) asked: mpsc::Receiver<String>,
}

impl IdTokenEndpoint {
    pub(super) fn start(request_token: &str, audience: &str, jwt: String) -> IdTokenEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, asked) = mpsc::channel();
        let bearer = format!("authorization: bearer {request_token}");
        let audience: String = audience
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let first = head.lines().next().unwrap_or("").to_string();
                let right = head.lines().any(|l| l.eq_ignore_ascii_case(&bearer))
                    && first.starts_with("GET /idtoken?api-version=2.0&audience=")
                    && first.contains(&format!("&audience={audience} "));
                let (status, body) = if right {
                    (200, json!({ "count": 1, "value": jwt }).to_string())
                } else {
                    (401, r#"{"message":"unauthorized"}"#.to_string())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tx.send(head);
            }
        });
        IdTokenEndpoint {
            url: format!("http://127.0.0.1:{port}/idtoken?api-version=2.0"),
            asked,
        }
    }
}
