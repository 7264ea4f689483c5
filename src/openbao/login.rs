//! Logging in to OpenBao instead of holding a token (`docs/TEAM.md`, "CI without a long-lived
//! token"). With no token set, `BAO_AUTH` names the login: `jwt`, `github-actions` (the job's
//! OIDC ID token, fetched by sesame, then the `jwt` login) or `approle`. A process logs in at
//! most once, on its first request that needs a token; every later request of the command (the
//! Transit slot, `bao://` references, `push`, `pull`) uses that token, and [`logout`] revokes it
//! when the command ends. The JWT, the secret id and the token stay in zeroizing buffers, go only
//! into the request that needs them, and are cut out of any text a server sends back.

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use zeroize::Zeroizing;

use super::{
    CONNECT_TIMEOUT, Connection, Failure, TOTAL_TIMEOUT, Token, check_path, check_url,
    describe_transport, json_body, read_answer, response,
};
use crate::error::Error;

/// The variable that names the login: `jwt`, `github-actions` or `approle`.
pub const AUTH_ENV: &str = "BAO_AUTH";
/// The variable that holds a JWT for `BAO_AUTH=jwt` (a credential: no child gets it).
pub const JWT_ENV: &str = "BAO_JWT";
/// The variable that holds an AppRole secret id (a credential: no child gets it).
pub const SECRET_ID_ENV: &str = "BAO_SECRET_ID";
/// The variable that holds an AppRole role id (half of the AppRole login: no child gets it).
pub const ROLE_ID_ENV: &str = "BAO_ROLE_ID";
/// The bearer GitHub Actions gives a job to ask for ID tokens, for any audience: worth more than
/// one JWT, so no child gets it either.
pub const ID_TOKEN_REQUEST_TOKEN_ENV: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// The largest `BAO_JWT_FILE` or `BAO_SECRET_ID_FILE` read, and the largest ID-token answer.
const MAX_CREDENTIAL: u64 = 64 * 1024;

/// How to log in, as the environment says. The credentials themselves are read only when the
/// login happens, and dropped as soon as it is done.
pub(crate) struct Login {
    /// The auth method's mount (`BAO_AUTH_MOUNT`, default `jwt` or `approle`).
    mount: String,
    method: Method,
}

enum Method {
    /// `POST auth/MOUNT/login {"role", "jwt"}`.
    Jwt { role: String, jwt: JwtSource },
    /// `POST auth/MOUNT/login {"role_id", "secret_id"}`.
    AppRole { secret_id: Source },
}

enum JwtSource {
    /// `BAO_JWT` or `BAO_JWT_FILE`.
    Given(Source),
    /// GitHub Actions' ID-token endpoint, asked for a token with this audience.
    GithubActions { url: String, audience: String },
}

/// Where a credential is read: a variable, or the file its `_FILE` variable names.
enum Source {
    Var(&'static str),
    File(&'static str, PathBuf),
}

/// Why the login failed: kept for the whole command, so that a refused login is asked once and
/// said the same way by every request that needed it.
#[derive(Clone)]
pub(super) enum LoginFailure {
    /// OpenBao answered 400, 401 or 403 to the login: exit 3, the next unlock source is tried.
    Refused {
        mount: String,
        role: String,
        reason: String,
        hint: String,
    },
    /// Any other answer: exit 1.
    Status {
        mount: String,
        status: u16,
        reason: String,
    },
    /// A credential that could not be read (a missing file, not UTF-8): exit 2.
    Input(String),
    /// No ID token from GitHub Actions: exit 1.
    IdToken(String),
}

impl LoginFailure {
    pub(super) fn into_error(self, addr: &str) -> Error {
        match self {
            LoginFailure::Refused {
                mount,
                role,
                reason,
                hint,
            } => Error::BaoLoginRefused {
                addr: addr.to_string(),
                mount,
                role,
                reason,
                hint,
            },
            LoginFailure::Status {
                mount,
                status,
                reason,
            } => Error::Bao {
                addr: addr.to_string(),
                what: format!("the login to auth/{mount}"),
                status,
                reason,
            },
            LoginFailure::Input(message) => Error::BaoLoginSetup(message),
            LoginFailure::IdToken(message) => Error::Failed(message),
        }
    }
}

/// A variable's value, when it is set, UTF-8 and not empty.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn usage(message: String) -> Error {
    Error::BaoLoginSetup(message)
}

impl Login {
    /// The login `BAO_AUTH` asks for, checked: every variable it needs is set. `None` without
    /// `BAO_AUTH`. `addr` is the server's address, the default audience of a GitHub ID token.
    pub(crate) fn from_env(addr: &str) -> crate::error::Result<Option<Login>> {
        let Some(auth) = std::env::var_os(AUTH_ENV).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let auth = auth.to_string_lossy();
        let mount = |default: &str| {
            let mount = var("BAO_AUTH_MOUNT").unwrap_or_else(|| default.to_string());
            let mount = mount.trim_matches('/').to_string();
            check_path(&mount, "auth mount (BAO_AUTH_MOUNT)")
                .map(|()| mount)
                .map_err(|e| usage(e.to_string()))
        };
        let role = || {
            var("BAO_ROLE").ok_or_else(|| {
                usage(format!(
                    "BAO_AUTH={auth} needs BAO_ROLE: the name of the role to log in as (`bao \
                     list auth/{}/role` lists them)",
                    var("BAO_AUTH_MOUNT").unwrap_or_else(|| "jwt".into())
                ))
            })
        };
        let (mount, method) = match &*auth {
            "jwt" => (
                mount("jwt")?,
                Method::Jwt {
                    role: role()?,
                    jwt: JwtSource::Given(source(&auth, JWT_ENV, "BAO_JWT_FILE", "the JWT")?),
                },
            ),
            "github-actions" => {
                let (Some(url), true) = (
                    var("ACTIONS_ID_TOKEN_REQUEST_URL"),
                    std::env::var_os(ID_TOKEN_REQUEST_TOKEN_ENV).is_some_and(|v| !v.is_empty()),
                ) else {
                    return Err(usage(
                        "BAO_AUTH=github-actions needs ACTIONS_ID_TOKEN_REQUEST_URL and \
                         ACTIONS_ID_TOKEN_REQUEST_TOKEN, which GitHub Actions sets only when the \
                         job has `permissions: id-token: write`; add it to the workflow (see \
                         docs/TEAM.md)"
                            .into(),
                    ));
                };
                check_url(
                    &url,
                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                    "it to an https:// URL (GitHub Actions sets it)",
                )
                .map_err(|e| usage(e.to_string()))?;
                let audience = var("BAO_JWT_AUDIENCE").unwrap_or_else(|| addr.to_string());
                let method = Method::Jwt {
                    role: role()?,
                    jwt: JwtSource::GithubActions { url, audience },
                };
                (mount("jwt")?, method)
            }
            "approle" => {
                if var(ROLE_ID_ENV).is_none() {
                    return Err(usage(
                        "BAO_AUTH=approle needs BAO_ROLE_ID (`bao read auth/approle/role/NAME/\
                         role-id`) and BAO_SECRET_ID or BAO_SECRET_ID_FILE"
                            .into(),
                    ));
                }
                let secret_id = source(&auth, SECRET_ID_ENV, "BAO_SECRET_ID_FILE", "a secret id")?;
                (mount("approle")?, Method::AppRole { secret_id })
            }
            // Its value is not shown: a credential pasted into the wrong variable would be.
            _ => {
                return Err(usage(
                    "BAO_AUTH is not a login sesame knows: use jwt, github-actions or approle \
                     (or unset BAO_AUTH and set BAO_TOKEN)"
                        .to_string(),
                ));
            }
        };
        Ok(Some(Login { mount, method }))
    }

    /// Who the login is for, in a message: the JWT role's name; an AppRole role id is only named
    /// by its variable (with a leaked secret id, it is half of a login).
    fn role(&self) -> String {
        match &self.method {
            Method::Jwt { role, .. } => format!("role {role:?}"),
            Method::AppRole { .. } => "the role of BAO_ROLE_ID".into(),
        }
    }

    /// What to check when the login is refused, naming this mount and role.
    fn hint(&self) -> String {
        let Method::Jwt { role, jwt } = &self.method else {
            return "check BAO_ROLE_ID, and that the secret id is current (a secret id expires \
                    with secret_id_ttl and is used up after secret_id_num_uses logins)"
                .into();
        };
        let what = match jwt {
            JwtSource::Given(_) => {
                "that the JWT has not expired and its claims match the role's bound_claims and \
                 bound_audiences"
            }
            JwtSource::GithubActions { .. } => {
                "that the role's bound_claims match this repository and ref, and that its \
                 bound_audiences hold the audience (BAO_JWT_AUDIENCE, else BAO_ADDR)"
            }
        };
        format!(
            "check BAO_ROLE, and {what} (`bao read auth/{}/role/{role}`)",
            self.mount
        )
    }

    /// Logs in: `POST auth/MOUNT/login`, the token from the answer.
    fn log_in(&self, conn: &Connection) -> Result<Token, Failure> {
        let mut secrets: Vec<Zeroizing<String>> = Vec::new();
        let body = match &self.method {
            Method::Jwt { role, jwt } => {
                let jwt = match jwt {
                    JwtSource::Given(source) => source.read()?,
                    JwtSource::GithubActions { url, audience } => github_id_token(url, audience)?,
                };
                // A server may echo a part of the JWT; its signature alone, with the claims
                // anyone can see, is the JWT. The whole is cut out first, then each part.
                let parts: Vec<Zeroizing<String>> = jwt
                    .split('.')
                    .filter(|p| p.len() >= 16)
                    .map(|p| Zeroizing::new(p.to_string()))
                    .collect();
                let body = json_body(&[("role", role.as_str()), ("jwt", jwt.as_str())]);
                secrets.push(jwt);
                secrets.extend(parts);
                body
            }
            Method::AppRole { secret_id } => {
                let role_id = Source::Var(ROLE_ID_ENV).read()?;
                let secret_id = secret_id.read()?;
                let body = json_body(&[
                    ("role_id", role_id.as_str()),
                    ("secret_id", secret_id.as_str()),
                ]);
                secrets.extend([role_id, secret_id]);
                body
            }
        }
        .map_err(|e| Failure::Login(LoginFailure::Input(e.to_string())))?;
        let secrets: Vec<&str> = secrets.iter().map(|s| s.as_str()).collect();
        let path = format!("auth/{}/login", self.mount);
        match conn.send("POST", &path, Some(&body), None, &secrets) {
            Ok((_, bytes)) => response::login_token(&bytes).map(Token).map_err(|m| {
                Failure::Login(LoginFailure::Status {
                    mount: self.mount.clone(),
                    status: 200,
                    reason: m.0.into(),
                })
            }),
            Err(Failure::Status(400 | 401 | 403, reason)) => {
                Err(Failure::Login(LoginFailure::Refused {
                    mount: self.mount.clone(),
                    role: self.role(),
                    reason,
                    hint: self.hint(),
                }))
            }
            Err(Failure::Status(status, reason)) => Err(Failure::Login(LoginFailure::Status {
                mount: self.mount.clone(),
                status,
                reason,
            })),
            Err(other) => Err(other),
        }
    }
}

/// Where a credential comes from: `var`, else the file `file_var` names; exactly one of them.
fn source(
    auth: &str,
    var: &'static str,
    file_var: &'static str,
    what: &str,
) -> crate::error::Result<Source> {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    match (set(var), set(file_var)) {
        (Some(_), None) => Ok(Source::Var(var)),
        (None, Some(path)) => Ok(Source::File(file_var, PathBuf::from(path))),
        (Some(_), Some(_)) => Err(usage(format!(
            "both {var} and {file_var} are set: set only one of them"
        ))),
        (None, None) => Err(usage(format!(
            "BAO_AUTH={auth} needs {what} in {var}, or in a file named by {file_var}"
        ))),
    }
}

impl Source {
    /// The credential, trimmed, in a zeroizing buffer. The error names the variable, never the
    /// value.
    fn read(&self) -> Result<Zeroizing<String>, Failure> {
        let input = |message: String| Failure::Login(LoginFailure::Input(message));
        let (bytes, name) = match self {
            Source::Var(var) => {
                let value = std::env::var_os(var).unwrap_or_default();
                // The copy `var_os` made is wiped once read, as for a token.
                let bytes = Zeroizing::new(std::os::unix::ffi::OsStringExt::into_vec(value));
                (bytes, (*var).to_string())
            }
            Source::File(var, path) => {
                let name = format!("{var} {}", crate::printable::path(path));
                // Non-blocking, the type checked on the opened file: a FIFO (or device) is refused
                // at once instead of waiting for ever for a writer.
                let (file, meta) = crate::store::open_for_reading(path)
                    .map_err(|e| input(format!("cannot read {name}: {e}")))?;
                if !meta.is_file() {
                    return Err(input(format!(
                        "{name} is not a regular file (a FIFO, device or folder); write the \
                         credential to a file"
                    )));
                }
                let mut bytes = Zeroizing::new(Vec::with_capacity(
                    usize::try_from(MAX_CREDENTIAL + 1).unwrap_or(usize::MAX),
                ));
                file.take(MAX_CREDENTIAL + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| input(format!("cannot read {name}: {e}")))?;
                if bytes.len() as u64 > MAX_CREDENTIAL {
                    return Err(input(format!(
                        "{name} is larger than {} KiB, more than a credential",
                        MAX_CREDENTIAL / 1024
                    )));
                }
                (bytes, name)
            }
        };
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| input(format!("{name} is not UTF-8 text")))?
            .trim();
        if text.is_empty() {
            return Err(input(format!("{name} is empty")));
        }
        Ok(Zeroizing::new(text.to_string()))
    }
}

/// `url` with `audience=AUDIENCE` added to its query: before any `#fragment` (after it, the
/// server would never see it), with `&` when there is a query already, else `?`.
fn with_audience(url: &str, audience: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (url, None),
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    let mut full = format!("{base}{separator}audience={}", query_value(audience));
    if let Some(fragment) = fragment {
        full.push('#');
        full.push_str(fragment);
    }
    full
}

/// The job's OIDC ID token from GitHub Actions: `GET ACTIONS_ID_TOKEN_REQUEST_URL&audience=…`
/// with `Authorization: bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN`; the answer is `{"value": JWT}`.
fn github_id_token(url: &str, audience: &str) -> Result<Zeroizing<String>, Failure> {
    let failed = |message: String| Failure::Login(LoginFailure::IdToken(message));
    let request_token = Source::Var(ID_TOKEN_REQUEST_TOKEN_ENV).read()?;
    let loopback = check_url(url, "ACTIONS_ID_TOKEN_REQUEST_URL", "it to an https:// URL")
        .map_err(|e| failed(e.to_string()))?;
    // Where it is, for messages: the rest of the URL names the run, and is long.
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let endpoint = format!("GitHub Actions' ID-token endpoint at {scheme}://{host}");
    let full = with_audience(url, audience);
    let mut config = ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(TOTAL_TIMEOUT))
        .http_status_as_error(false)
        // A redirect would carry the request token to another address: never followed.
        .max_redirects(0);
    if loopback {
        config = config.proxy(None);
    }
    let agent = config.build().new_agent();
    let authorization = Zeroizing::new(format!("bearer {}", request_token.as_str()));
    let unreachable = |f: Failure| match f {
        Failure::Unreachable(reason) => failed(format!("cannot reach {endpoint}: {reason}")),
        _ => failed(format!("cannot reach {endpoint}")),
    };
    let response = ureq::http::Request::get(&full)
        .header("Authorization", authorization.as_str())
        .header("Accept", "application/json")
        .body(())
        .map_err(|_| {
            failed(format!(
                "{endpoint}: ACTIONS_ID_TOKEN_REQUEST_URL is no valid URL"
            ))
        })
        .and_then(|r| agent.run(r).map_err(|e| unreachable(describe_transport(e))))?;
    let (status, bytes) = read_answer(response, MAX_CREDENTIAL).map_err(unreachable)?;
    if !(200..300).contains(&status) {
        return Err(failed(format!(
            "{endpoint} answered {status} instead of an ID token; the job needs `permissions: \
             id-token: write`, and the step must run while the job does"
        )));
    }
    response::id_token(&bytes).map_err(|m| failed(format!("{endpoint}: {}", m.0)))
}

/// `text` as a URL query value: every byte but the unreserved ones percent-encoded.
fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// This process's login: none yet, its token, or why it failed.
enum Session {
    None,
    LoggedIn { conn: Connection, token: Token },
    Failed(Failure),
}

static SESSION: Mutex<Session> = Mutex::new(Session::None);

/// Runs `use_token` with the token of this process's login, logging in first if this is the
/// first request that needs it. A failed login is not tried again: its failure is returned.
pub(super) fn with_token<T>(
    conn: &Connection,
    login: &Login,
    use_token: impl FnOnce(&Token) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut session = SESSION.lock().unwrap_or_else(PoisonError::into_inner);
    if matches!(*session, Session::None) {
        *session = match login.log_in(conn) {
            Ok(token) => Session::LoggedIn {
                conn: conn.without_credential(),
                token,
            },
            Err(failure) => Session::Failed(failure),
        };
    }
    match &*session {
        Session::LoggedIn { token, .. } => use_token(token),
        Session::Failed(failure) => Err(failure.clone()),
        Session::None => Err(Failure::Unreachable("the login did not happen".into())),
    }
}

/// Revokes the token of this process's login (`auth/token/revoke-self`), if it logged in, so
/// that it is of no use once the command is done; a later request would log in again. `Some`
/// warning when OpenBao could not be told: the token then lives until its TTL ends.
pub fn logout() -> Option<String> {
    let ended = std::mem::replace(
        &mut *SESSION.lock().unwrap_or_else(PoisonError::into_inner),
        Session::None,
    );
    let Session::LoggedIn { conn, token } = ended else {
        return None;
    };
    let revoked = conn.send("POST", "auth/token/revoke-self", None, Some(&token), &[]);
    revoked.err().map(|failure| {
        let error = conn.error("the revocation of its own token", failure);
        format!(
            "the OpenBao token this command logged in for was not revoked ({error}); it stays \
             valid until its TTL ends"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audience_goes_into_the_query_before_any_fragment() {
        assert_eq!(
            with_audience("https://t.example/id?v=2#frag", "a b"),
            "https://t.example/id?v=2&audience=a%20b#frag"
        );
        assert_eq!(
            with_audience("https://t.example/id", "aud"),
            "https://t.example/id?audience=aud"
        );
        assert_eq!(
            with_audience("https://t.example/id#x?y", "aud"),
            "https://t.example/id?audience=aud#x?y"
        );
    }

    #[test]
    fn an_audience_is_percent_encoded_in_the_query() {
        assert_eq!(
            query_value("https://bao.example.com:8200/x y"),
            "https%3A%2F%2Fbao.example.com%3A8200%2Fx%20y"
        );
        assert_eq!(query_value("sts.amazonaws.com"), "sts.amazonaws.com");
    }
}
