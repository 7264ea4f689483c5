//! sesame as a client of OpenBao (`docs/TEAM.md`): the connection read from the environment the way
//! the `bao` CLI reads it, and the few requests sesame makes — Transit encrypt/decrypt for the
//! `bao-transit` key slot, KV version 2 read/write for `bao://` references, `push` and `pull`.
//! All network I/O of sesame is here. The token is a secret: held in a zeroizing buffer, sent
//! only in the `X-Vault-Token` header to the configured address, never in a message or a log.
//! Without a token, `BAO_AUTH` makes sesame log in for the command (`login`).

pub mod login;
pub mod reference;
pub mod response;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::SecretValue;

/// Variables that carry an OpenBao token, in the order they are read.
pub const TOKEN_ENV_VARS: [&str; 2] = ["BAO_TOKEN", "VAULT_TOKEN"];
/// Variables that carry an OpenBao token or a login credential (a JWT, an AppRole role and
/// secret id, GitHub Actions' ID-token request bearer): removed from the environment of every
/// program sesame starts, unless selected (`run --env NAME=…`).
pub const CREDENTIAL_ENV_VARS: [&str; 6] = [
    TOKEN_ENV_VARS[0],
    TOKEN_ENV_VARS[1],
    login::JWT_ENV,
    login::SECRET_ID_ENV,
    login::ROLE_ID_ENV,
    login::ID_TOKEN_REQUEST_TOKEN_ENV,
];
/// The `bao` CLI's default address.
pub const DEFAULT_ADDR: &str = "https://127.0.0.1:8200";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Set once this process has warned that it sends the token over plain http.
static PLAIN_HTTP_WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The most sesame reads of one response: KV secrets are small, Transit answers tiny.
const MAX_RESPONSE: u64 = 4 * 1024 * 1024;

/// An OpenBao token. No `Debug`, `Display` or `Clone`: it is only ever put in a request header.
pub struct Token(Zeroizing<String>);

/// Where sesame talks to OpenBao, and with which token.
pub struct Connection {
    addr: String,
    /// Plain `http://` (to this machine): whoever listens on that port gets the token.
    plain_http: bool,
    credential: Credential,
    namespace: Option<String>,
    agent: ureq::Agent,
}

/// What a request is made with.
enum Credential {
    None,
    /// `BAO_TOKEN`, `VAULT_TOKEN` or `~/.vault-token`.
    Token(Token),
    /// No token, but `BAO_AUTH`: the token of this process's one login (`login`).
    Login(login::Login),
}

/// How one request went wrong, before it is turned into an [`Error`] that names what was asked.
#[derive(Clone)]
enum Failure {
    Unreachable(String),
    Status(u16, String),
    /// The login that was to give the token failed (kept, and repeated, for the whole command).
    Login(login::LoginFailure),
}

impl Connection {
    /// The connection as the `bao` CLI reads it: `BAO_ADDR` (else `VAULT_ADDR`, else
    /// https://127.0.0.1:8200), `BAO_TOKEN` (else `VAULT_TOKEN`, else `~/.vault-token`),
    /// `BAO_CACERT` (else `VAULT_CACERT`), `BAO_NAMESPACE` (else `VAULT_NAMESPACE`).
    pub fn from_env() -> Result<Connection> {
        let var = |a: &str, b: &str| {
            std::env::var(a)
                .ok()
                .or_else(|| std::env::var(b).ok())
                .filter(|v| !v.is_empty())
        };
        let addr = var("BAO_ADDR", "VAULT_ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_string());
        let token = read_token();
        let cacert = var("BAO_CACERT", "VAULT_CACERT");
        let namespace = var("BAO_NAMESPACE", "VAULT_NAMESPACE");
        let mut conn = Connection::new(&addr, token, cacert.as_deref(), namespace)?;
        // A token wins; `BAO_AUTH` is read (and checked) only without one.
        if !conn.has_token()
            && let Some(login) = login::Login::from_env(&conn.addr)?
        {
            conn.credential = Credential::Login(login);
        }
        Ok(conn)
    }

    /// A connection to `addr`: https with verified TLS, or http to a loopback address only.
    pub fn new(
        addr: &str,
        token: Option<Token>,
        cacert: Option<&str>,
        namespace: Option<String>,
    ) -> Result<Connection> {
        let addr = addr.trim_end_matches('/').to_string();
        let loopback = check_address(&addr)?;
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = cacert {
            let pem = std::fs::read(path)
                .map_err(|e| Error::io(format!("cannot read BAO_CACERT {path}"), e))?;
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(Error::usage(format!(
                    "BAO_CACERT {path} holds no PEM certificate; point it at the CA that signed \
                     the OpenBao server's certificate"
                )));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let mut config = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(TOTAL_TIMEOUT))
            .http_status_as_error(false)
            // A redirect would carry the token to another address: never followed.
            .max_redirects(0)
            .tls_config(tls.build());
        if loopback {
            // Plain http to this machine must not go through a proxy with the token.
            config = config.proxy(None);
        }
        Ok(Connection {
            plain_http: addr.starts_with("http://"),
            addr,
            credential: token.map_or(Credential::None, Credential::Token),
            namespace,
            agent: config.build().new_agent(),
        })
    }

    /// The same server, namespace and TLS settings, with no credential: what a login keeps to
    /// revoke its token when the command ends.
    fn without_credential(&self) -> Connection {
        Connection {
            addr: self.addr.clone(),
            plain_http: self.plain_http,
            credential: Credential::None,
            namespace: self.namespace.clone(),
            agent: self.agent.clone(),
        }
    }

    /// The address requests go to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether a token was found (`BAO_TOKEN`, `VAULT_TOKEN` or `~/.vault-token`), or `BAO_AUTH`
    /// says how to log in for one.
    pub(crate) fn has_token(&self) -> bool {
        !matches!(self.credential, Credential::None)
    }

    /// One request with the token: `body` (JSON, in a zeroizing buffer) to `path` under `/v1/`.
    /// Returns the status and the response body in a zeroizing buffer. With `BAO_AUTH`, the
    /// first request of the process logs in.
    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> std::result::Result<(u16, Zeroizing<Vec<u8>>), Failure> {
        match &self.credential {
            Credential::None => Err(Failure::Status(
                403,
                "no token (set BAO_TOKEN, log in with `bao login`, or set BAO_AUTH)".into(),
            )),
            Credential::Token(token) => self.send(method, path, body, Some(token), &[]),
            Credential::Login(login) => login::with_token(self, login, |token| {
                self.send(method, path, body, Some(token), &[])
            }),
        }
    }

    /// One request to `path` under `/v1/`, with `token` when given. A server's error text has
    /// the token and each of `secrets` (what the request carried) cut out.
    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        token: Option<&Token>,
        secrets: &[&str],
    ) -> std::result::Result<(u16, Zeroizing<Vec<u8>>), Failure> {
        if self.plain_http && !PLAIN_HTTP_WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            // Said by every command that sends the token in clear (once, however many requests
            // it makes): each request hands it to whoever owns the port. With `BAO_AUTH` the
            // first request is the login, which sends the JWT or secret id that gets the token.
            let what = if token.is_some() {
                "the OpenBao token"
            } else {
                "the OpenBao token and the login's JWT or secret id"
            };
            eprintln!(
                "sesame: warning: sending {what} over plain http to {}: any program of any \
                 user listening on that port receives it; use https",
                self.addr
            );
        }
        let url = format!("{}/v1/{path}", self.addr);
        let builder = match method {
            "POST" => ureq::http::Request::post(&url),
            _ => ureq::http::Request::get(&url),
        };
        let mut builder = builder
            .header("X-Vault-Request", "true")
            .header("Content-Type", "application/json");
        if let Some(token) = token {
            builder = builder.header("X-Vault-Token", token.0.as_str());
        }
        if let Some(ns) = &self.namespace {
            builder = builder.header("X-Vault-Namespace", ns.as_str());
        }
        let response = match body {
            // The zeroizing body itself, borrowed: a `to_vec()` here was an unwiped copy of a JWT,
            // secret id or Transit plaintext (the data key).
            Some(b) => builder
                .body(b)
                .map_err(|e| Failure::Unreachable(e.to_string()))
                .and_then(|r| self.agent.run(r).map_err(describe_transport)),
            None => builder
                .body(())
                .map_err(|e| Failure::Unreachable(e.to_string()))
                .and_then(|r| self.agent.run(r).map_err(describe_transport)),
        }?;
        let (status, bytes) = read_answer(response, MAX_RESPONSE)?;
        if (200..300).contains(&status) {
            Ok((status, bytes))
        } else {
            // Credentials the server echoed are removed from the whole text before it is cut:
            // cut first, one straddling the cut would be left in part.
            let mut text = Zeroizing::new(response::server_errors(&bytes));
            for secret in token.map(|t| t.0.as_str()).iter().chain(secrets) {
                text = Zeroizing::new(redact(&text, secret));
            }
            Err(Failure::Status(status, response::cut_reason(&text)))
        }
    }

    /// Turns a failure of a request for `what` into the error the SPEC asks for: 403 is a refused
    /// token (exit 3), 404 a missing path or key (exit 5), anything else exit 1 with the address.
    fn error(&self, what: &str, failure: Failure) -> Error {
        match failure {
            Failure::Unreachable(reason) => Error::BaoUnreachable {
                addr: self.addr.clone(),
                reason,
            },
            Failure::Status(403, reason) => Error::BaoRefused {
                addr: self.addr.clone(),
                what: what.to_string(),
                reason,
            },
            Failure::Status(404, _) => Error::BaoNotFound {
                addr: self.addr.clone(),
                what: what.to_string(),
            },
            Failure::Status(status, reason) => Error::Bao {
                addr: self.addr.clone(),
                what: what.to_string(),
                status,
                reason,
            },
            Failure::Login(failure) => failure.into_error(&self.addr),
        }
    }

    /// `POST MOUNT/encrypt/KEY`: the Transit ciphertext (`vault:vN:…`) of `plaintext`.
    pub fn transit_encrypt(&self, mount: &str, key: &str, plaintext: &[u8]) -> Result<String> {
        let what = format!("Transit key {mount}/keys/{key}");
        let encoded = Zeroizing::new(BASE64.encode(plaintext));
        let body = json_body(&[("plaintext", encoded.as_str())])?;
        let (_, bytes) = self
            .request("POST", &format!("{mount}/encrypt/{key}"), Some(&body))
            .map_err(|f| self.error(&what, f))?;
        response::transit_ciphertext(&bytes).map_err(|m| m.into_error(&self.addr, what))
    }

    /// `POST MOUNT/decrypt/KEY`: the plaintext of a Transit ciphertext.
    pub fn transit_decrypt(
        &self,
        mount: &str,
        key: &str,
        ciphertext: &str,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let what = format!("Transit key {mount}/keys/{key}");
        let body = json_body(&[("ciphertext", ciphertext)])?;
        let (_, bytes) = self
            .request("POST", &format!("{mount}/decrypt/{key}"), Some(&body))
            .map_err(|f| self.error(&what, f))?;
        response::transit_plaintext(&bytes).map_err(|m| m.into_error(&self.addr, what))
    }

    /// `GET MOUNT/data/PATH` (KV version 2): every field of the current version, and the version
    /// number. `None` when there is no such secret (or its current version is deleted).
    pub fn kv_read(&self, mount: &str, path: &str) -> Result<Option<KvSecret>> {
        let what = format!("bao://{mount}/{path}");
        let bytes = match self.request("GET", &format!("{mount}/data/{path}"), None) {
            Ok((_, bytes)) => bytes,
            Err(Failure::Status(404, _)) => return Ok(None),
            Err(f) => return Err(self.error(&what, f)),
        };
        response::kv_secret(&bytes).map_err(|m| m.into_error(&self.addr, what))
    }

    /// `POST MOUNT/data/PATH` (KV version 2): a new version holding exactly `fields`. With `cas`,
    /// OpenBao refuses the write if the current version is no longer that one.
    pub fn kv_write(
        &self,
        mount: &str,
        path: &str,
        fields: &BTreeMap<String, SecretValue>,
        cas: u64,
    ) -> Result<u64> {
        let what = format!("bao://{mount}/{path}");
        let mut body = Zeroizing::new(Vec::new());
        {
            let mut data = serde_json::Map::new();
            for (name, value) in fields {
                let text = std::str::from_utf8(value.expose()).map_err(|_| {
                    Error::usage(format!(
                        "the value for field {name} is not UTF-8 text, which a KV secret holds \
                         as JSON; it was not pushed"
                    ))
                })?;
                data.insert(name.clone(), serde_json::Value::String(text.to_string()));
            }
            let doc = serde_json::json!({ "options": { "cas": cas }, "data": data });
            serde_json::to_writer(&mut *body, &doc)
                .map_err(|e| Error::io("cannot encode a request", std::io::Error::other(e)))?;
            // serde_json::Value cannot be zeroized; the strings are dropped here, as soon as
            // the request body holds them.
        }
        let (_, bytes) = self
            .request("POST", &format!("{mount}/data/{path}"), Some(&body))
            .map_err(|f| self.error(&what, f))?;
        response::kv_version(&bytes).map_err(|m| m.into_error(&self.addr, what))
    }
}

/// A KV version 2 secret: its fields and the version they come from.
pub struct KvSecret {
    /// Each field's name and value.
    pub fields: BTreeMap<String, SecretValue>,
    /// The KV version they were read from, from 1.
    pub version: u64,
}

/// The token as the `bao` CLI finds it: `BAO_TOKEN`, else `VAULT_TOKEN`, else `~/.vault-token`.
fn read_token() -> Option<Token> {
    for var in TOKEN_ENV_VARS {
        if let Some(value) = std::env::var_os(var) {
            // The copy `var_os` made is wiped once read (the process's own environment block
            // is not: see docs/SECURITY.md).
            let raw = Zeroizing::new(std::os::unix::ffi::OsStringExt::into_vec(value));
            let text = Zeroizing::new(String::from_utf8_lossy(&raw).trim().to_string());
            if !text.is_empty() {
                return Some(Token(text));
            }
        }
    }
    let home = std::env::var_os("HOME")?;
    let bytes =
        Zeroizing::new(std::fs::read(std::path::Path::new(&home).join(".vault-token")).ok()?);
    let text = Zeroizing::new(String::from_utf8_lossy(&bytes).trim().to_string());
    (!text.is_empty()).then_some(Token(text))
}

/// Checks an address: `https://HOST[:PORT]`, or `http://` to a loopback host only (the token
/// would cross the network in clear). Returns whether the host is a loopback address.
fn check_address(addr: &str) -> Result<bool> {
    check_url(addr, "OpenBao address", "BAO_ADDR to https://HOST:PORT")
}

/// [`check_address`] for any URL sesame sends a credential to: `what` names it in the message,
/// and `fix` says what to set.
fn check_url(addr: &str, what: &str, fix: &str) -> Result<bool> {
    let bad = |why: &str| {
        Error::usage(format!(
            "{what} {addr:?} {why}; set {fix} (plain http only to 127.0.0.1, ::1 or localhost)"
        ))
    };
    let (scheme, rest) = addr.split_once("://").ok_or_else(|| bad("has no scheme"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("has no host, or has credentials in it"));
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    let loopback = is_loopback_host(host);
    match scheme {
        "https" => Ok(loopback),
        "http" if loopback => Ok(true),
        "http" => Err(bad("is plain http to a host that is not this machine")),
        _ => Err(bad("is neither https nor http")),
    }
}

/// Whether `host` (a name or address, without port or brackets) is this machine: `localhost`,
/// `127.0.0.0/8` or `::1`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks a mount, path or key name before it goes into a URL: segments of `A-Za-z0-9._-`
/// separated by `/`, none empty, `.` or `..`, at most 512 bytes.
pub fn check_path(text: &str, what: &str) -> Result<()> {
    let ok = !text.is_empty()
        && text.len() <= 512
        && text.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        });
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid OpenBao {what} {text:?}: use segments of A-Za-z0-9._- separated by /"
        )))
    }
}

/// `text` (a server's error message) with every occurrence of the token replaced: a server or a
/// proxy may echo the request, and a message is printed, logged by CI and pasted into issues.
fn redact(text: &str, token: &str) -> String {
    if token.is_empty() {
        return text.to_string();
    }
    text.replace(token, "<token>")
}

/// A JSON object of string fields, in a zeroizing buffer.
/// Sized up front for the worst case (every byte escaped as `\u00XX`), so the buffer never grows:
/// a growth would leave an unwiped copy of a JWT or secret id behind.
fn json_body(fields: &[(&str, &str)]) -> Result<Zeroizing<Vec<u8>>> {
    let worst = |text: &str| text.len().saturating_mul(6).saturating_add(2);
    let capacity = fields.iter().fold(2usize, |sum, (name, value)| {
        sum.saturating_add(worst(name))
            .saturating_add(worst(value))
            .saturating_add(2)
    });
    let mut body = Zeroizing::new(Vec::with_capacity(capacity));
    body.push(b'{');
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        serde_json::to_writer(&mut *body, name)
            .and_then(|()| {
                body.push(b':');
                serde_json::to_writer(&mut *body, value)
            })
            .map_err(|e| Error::io("cannot encode a request", std::io::Error::other(e)))?;
    }
    body.push(b'}');
    Ok(body)
}

/// An answer's status, and its body (at most `limit` bytes) in a zeroizing buffer.
fn read_answer(
    response: ureq::http::Response<ureq::Body>,
    limit: u64,
) -> std::result::Result<(u16, Zeroizing<Vec<u8>>), Failure> {
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(describe_transport)?;
    Ok((status, Zeroizing::new(bytes)))
}

fn describe_transport(e: ureq::Error) -> Failure {
    let reason = match &e {
        ureq::Error::Timeout(_) => {
            "no answer within the time limit (connect 3 s, total 10 s)".into()
        }
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection refused or failed".into(),
        ureq::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    };
    Failure::Unreachable(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_refused_to_anything_but_this_machine() {
        for ok in [
            "https://bao.example.com:8200",
            "http://127.0.0.1:8200",
            "http://localhost:8200",
            "http://[::1]:8200/",
            "https://10.0.0.1",
        ] {
            assert!(check_address(ok.trim_end_matches('/')).is_ok(), "{ok}");
        }
        for bad in [
            "http://bao.example.com:8200",
            "http://10.0.0.1:8200",
            "http://127.0.0.1.evil.example",
            "ftp://127.0.0.1",
            "127.0.0.1:8200",
            "https://user:pw@bao.example.com",
        ] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
        // The ID-token endpoint's URL has a path and a query: the host ends at either.
        let endpoint = |url| check_url(url, "ACTIONS_ID_TOKEN_REQUEST_URL", "it");
        assert!(endpoint("http://127.0.0.1:9/idtoken?api-version=2.0").is_ok_and(|l| l));
        assert!(endpoint("https://pipelines.actions.example/x?api-version=2.0").is_ok());
        assert!(endpoint("http://evil.example?x=http://127.0.0.1").is_err());
        assert!(endpoint("http://evil.example#@127.0.0.1").is_err());
    }

    #[test]
    fn a_request_body_never_grows_so_no_copy_of_a_credential_is_left() {
        let jwt = "eyJ\"\\\u{1}".repeat(500);
        let body = json_body(&[("role", "ci"), ("jwt", jwt.as_str())]);
        let body = body.ok().unwrap_or_default();
        // Sized for the worst case up front: a growth would have changed the capacity.
        let worst = 2 + (4 * 6 + 2 + 2 * 6 + 2 + 2) + (3 * 6 + 2 + jwt.len() * 6 + 2 + 2);
        assert_eq!(body.capacity(), worst);
        let back: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(back["jwt"].as_str(), Some(jwt.as_str()));
    }

    #[test]
    fn server_errors_never_repeat_the_token() {
        let said = redact(
            "permission denied for token s.abc123 (s.abc123)",
            "s.abc123",
        );
        assert_eq!(said, "permission denied for token <token> (<token>)");
        assert_eq!(redact("no token here", "s.abc123"), "no token here");
    }

    #[test]
    fn paths_that_could_leave_the_mount_are_refused() {
        assert!(check_path("secret", "mount").is_ok());
        assert!(check_path("team/app-1.prod", "path").is_ok());
        for bad in ["", "a//b", "../sys", "a/./b", "a?b", "a b", "/a", "a%2f"] {
            assert!(check_path(bad, "path").is_err(), "{bad:?}");
        }
    }
}
