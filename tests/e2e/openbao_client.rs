//! sesame's OpenBao client against a stand-in server on loopback (no `bao` needed): what it does
//! with a server's error text, plain http, and where the token may not go.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::harness::*;

/// A one-shot HTTP server on a free loopback port: answers each of `answers` (status, JSON body)
/// to one request in turn, and sends the request lines and headers it received.
pub(super) struct FakeBao {
    pub addr: String,
    pub requests: mpsc::Receiver<String>,
    _thread: JoinHandle<()>,
}

impl FakeBao {
    pub(super) fn start(answers: Vec<(u16, String)>) -> FakeBao {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (tx, requests) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            for (status, body) in answers {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut head = String::new();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut request_body = vec![0u8; length];
                let _ = reader.read_exact(&mut request_body);
                head.push_str(&String::from_utf8_lossy(&request_body));
                let _ = tx.send(head);
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        FakeBao {
            addr: format!("http://127.0.0.1:{port}"),
            requests,
            _thread: thread,
        }
    }
}

const TOKEN: &str = "s.sesame-test-token-0123456789";

/// A server (or a proxy in front of it) that echoes the request in its error text repeated the
/// token on 403 and 500. The message says what the server said, with the token cut out.
#[test]
fn server_error_text_never_repeats_the_token() {
    let sb = Sandbox::new();
    for status in [403, 500] {
        let fake = FakeBao::start(vec![(
            status,
            format!(r#"{{"errors":["permission denied for token {TOKEN} on secret/data/app"]}}"#),
        )]);
        let a = sb
            .with_bao(&fake.addr, TOKEN)
            .args(["run", "--env", "K=bao://secret/app#key", "--", "true"])
            .assert()
            .code(if status == 403 { 3 } else { 1 });
        let err = stderr(&a);
        assert_has(&err, "permission denied for token <token>");
        assert!(!err.contains(TOKEN), "the token in a message: {err}");
        // The token did go to the server, in the header and nowhere else.
        let request = fake.requests.recv().expect("a request");
        assert_has(&request, &format!("x-vault-token: {TOKEN}"));
    }
}

/// Plain http is allowed to loopback only, yet whoever listens on that port (another uid got the
/// token in the audit) receives the token: every plain-http request says so.
#[test]
fn every_plain_http_request_warns_that_the_port_owner_gets_the_token() {
    let sb = Sandbox::new();
    let fake = FakeBao::start(vec![(
        200,
        r#"{"data":{"data":{"key":"kv-value-0001"},"metadata":{"version":1}}}"#.to_string(),
    )]);
    let a = sb
        .with_bao(&fake.addr, TOKEN)
        .args([
            "run",
            "--env",
            "K=bao://secret/app#key",
            "--",
            "printenv",
            "K",
        ])
        .succeeds();
    assert_eq!(a.get_output().stdout, b"kv-value-0001\n");
    let err = stderr(&a);
    assert!(
        err.contains(&format!(
            "sending the OpenBao token over plain http to {}",
            fake.addr
        )),
        "{err}"
    );
}

/// `BAO_TOKEN` stayed in the agent's environment for the agent's life, and the
/// `SESAME_PASSPHRASE_COMMAND` shell saw it. Neither gets it now.
#[test]
fn the_agent_and_the_passphrase_command_never_see_the_token() {
    let sb = Sandbox::new();
    let seen = sb.path("command-env");
    let command = format!("env > '{}'; printf '%s' '{PASS}'", seen.display());
    let mut unlock = sb.bare();
    unlock
        .env("SESAME_VAULT", &sb.vault)
        .env("SESAME_PASSPHRASE_COMMAND", &command)
        .env("BAO_TOKEN", TOKEN)
        .env("VAULT_TOKEN", TOKEN)
        .args(["unlock", "--timeout", "1m"])
        .succeeds();
    let env = std::fs::read_to_string(&seen).expect("the command ran");
    assert_has(&env, "PATH=");
    assert!(!env.contains(TOKEN), "the passphrase command saw the token");
    let status = sb
        .bare()
        .env("SESAME_VAULT", &sb.vault)
        .args(["status", "--json"])
        .succeeds();
    let status: serde_json::Value =
        serde_json::from_slice(&status.get_output().stdout).expect("JSON");
    let pid = status["agent_pid"].as_u64().expect("an agent pid");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("the agent's environ");
    assert!(
        !environ.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
        "the agent keeps the token in its environment"
    );
    sb.bare()
        .env("SESAME_VAULT", &sb.vault)
        .arg("lock")
        .succeeds();
}

/// Without a Transit slot nothing is asked of OpenBao; with `slot add` on a mount not in
/// SESAME_BAO_TRANSIT_MOUNTS nothing is sent at all (the server here would answer anything).
#[test]
fn slot_add_on_a_mount_not_allowed_sends_nothing() {
    let sb = Sandbox::new();
    let fake = FakeBao::start(vec![(204, String::new())]);
    sb.with_bao(&fake.addr, TOKEN)
        .args(transit_slot_add("kv1"))
        .fails_with(2, "SESAME_BAO_TRANSIT_MOUNTS");
    assert!(
        fake.requests
            .recv_timeout(std::time::Duration::from_millis(300))
            .is_err(),
        "a request was sent"
    );
}

/// A login refused by a server (or a proxy) that echoes the request: the reason is shown, with
/// the JWT, its signature alone, the AppRole role id and the secret id cut out. The JWT goes in
/// the login's body only, with no token header.
#[test]
fn a_refused_login_never_repeats_the_jwt_or_the_secret_id() {
    let sb = Sandbox::new();
    let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvYXBwIn0.c2lnbmF0dXJlLW9mLXRoZS1qd3Q";
    let signature = jwt.rsplit('.').next().unwrap_or(jwt);
    let (role_id, secret_id) = ("role-id-0123456789abcdef", "secret-id-0123456789abcdef");
    let echoes = |text: String| FakeBao::start(vec![(400, format!(r#"{{"errors":["{text}"]}}"#))]);
    let login = |fake: &FakeBao, vars: &[(&str, &str)]| {
        let mut cmd = sb.cmd();
        cmd.env("BAO_ADDR", &fake.addr);
        for (name, value) in vars {
            cmd.env(name, value);
        }
        cmd.args(["run", "--env", "K=bao://secret/app#key", "--", "true"])
            .assert()
            .code(3)
    };

    let fake = echoes(format!("invalid jwt {jwt}, signature {signature}"));
    let a = login(
        &fake,
        &[("BAO_AUTH", "jwt"), ("BAO_ROLE", "ci"), ("BAO_JWT", jwt)],
    );
    let err = stderr(&a);
    assert_has(
        &err,
        "refused the login to auth/jwt as role \"ci\" (invalid jwt <token>, signature <token>)",
    );
    assert!(
        !err.contains(signature),
        "the JWT's signature in a message: {err}"
    );
    assert_has(
        &err,
        "sending the OpenBao token and the login's JWT or secret id over plain http",
    );
    let request = fake.requests.recv().expect("a request");
    assert!(request.starts_with("POST /v1/auth/jwt/login "), "{request}");
    assert_has(&request, &format!(r#""jwt":"{jwt}""#));
    assert!(
        !request.to_ascii_lowercase().contains("x-vault-token"),
        "{request}"
    );

    let fake = echoes(format!(
        "invalid role id {role_id} or secret id {secret_id}"
    ));
    let a = login(
        &fake,
        &[
            ("BAO_AUTH", "approle"),
            ("BAO_ROLE_ID", role_id),
            ("BAO_SECRET_ID", secret_id),
        ],
    );
    let err = stderr(&a);
    assert_has(
        &err,
        "refused the login to auth/approle as the role of BAO_ROLE_ID",
    );
    assert!(!err.contains(role_id) && !err.contains(secret_id), "{err}");
}

/// A server that echoes the secret id after 150 characters of text: the reason used to be cut
/// to 200 characters before the secret id was removed, so the part before the cut was shown.
/// Removed from the whole text first, then cut: no part of it is shown.
#[test]
fn a_secret_id_the_server_echoes_across_the_cut_is_never_shown_in_part() {
    let sb = Sandbox::new();
    let secret_id = format!("sid-{}", "0123456789abcdef".repeat(5));
    let padding = "x".repeat(150);
    let fake = FakeBao::start(vec![(
        400,
        format!(r#"{{"errors":["{padding} invalid secret id {secret_id}"]}}"#),
    )]);
    let a = sb
        .cmd()
        .env("BAO_ADDR", &fake.addr)
        .env("BAO_AUTH", "approle")
        .env("BAO_ROLE_ID", "role-id-1")
        .env("BAO_SECRET_ID", &secret_id)
        .args(["run", "--env", "K=bao://secret/app#key", "--", "true"])
        .assert()
        .code(3);
    let err = stderr(&a);
    assert_has(&err, "invalid secret id <token>");
    assert_lacks(&err, &secret_id[..12]);
}

/// `BAO_JWT_FILE` or `BAO_SECRET_ID_FILE` naming a FIFO with no writer hung the command for
/// ever (a plain open waits for a writer): it is opened non-blocking and refused at once.
#[test]
fn a_credential_file_that_is_a_fifo_is_refused_instead_of_hanging() {
    let sb = Sandbox::new();
    let fifo = sb.path("jwt.fifo");
    let made = command("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for vars in [
        [
            ("BAO_AUTH", "jwt"),
            ("BAO_ROLE", "ci"),
            ("BAO_JWT_FILE", ""),
        ],
        [
            ("BAO_AUTH", "approle"),
            ("BAO_ROLE_ID", "role-1"),
            ("BAO_SECRET_ID_FILE", ""),
        ],
    ] {
        let mut cmd = sb.process();
        cmd.env("BAO_ADDR", "http://127.0.0.1:9");
        for (name, value) in vars {
            if value.is_empty() {
                cmd.env(name, &fifo);
            } else {
                cmd.env(name, value);
            }
        }
        cmd.args(["run", "--env", "K=bao://secret/app#key", "--", "true"]);
        let out = with_deadline(cmd);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert_has(&err, "is not a regular file (a FIFO, device or folder)");
    }
}

/// An ID-token URL with a `#fragment`: the audience was appended after it, so it never reached
/// the endpoint (which then refused the request). It goes before the fragment.
#[test]
fn the_id_token_audience_goes_before_a_fragment_of_the_request_url() {
    let sb = Sandbox::new();
    let fake = FakeBao::start(vec![(400, r#"{"errors":["role not found"]}"#.into())]);
    let endpoint = super::oidc::IdTokenEndpoint::start("bearer-1", "sesame-ci", "x.y.z".into());
    let a = sb
        .cmd()
        .env("BAO_ADDR", &fake.addr)
        .env("BAO_AUTH", "github-actions")
        .env("BAO_ROLE", "ci")
        .env("BAO_JWT_AUDIENCE", "sesame-ci")
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{}#fragment", endpoint.url),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "bearer-1")
        .args(["run", "--env", "K=bao://secret/app#key", "--", "true"])
        .assert();
    let a = fails(a, 3, "role not found");
    assert_lacks(&stderr(&a), "bearer-1");
    let asked = endpoint.asked.recv().expect("an ID-token request");
    assert_has(&asked, "&audience=sesame-ci ");
    let login = fake.requests.recv().expect("a login");
    assert!(login.starts_with("POST /v1/auth/jwt/login "), "{login}");
}

#[test]
fn an_unknown_bao_auth_value_is_never_echoed() {
    // A credential pasted into BAO_AUTH by mistake would have been shown.
    let sb = Sandbox::new();
    let a = sb
        .cmd()
        .env("BAO_ADDR", "http://127.0.0.1:9")
        .env("BAO_AUTH", "hvs.pasted-token-0123")
        .args(["run", "--env", "K=bao://secret/app#key", "--", "true"])
        .assert();
    let a = fails(a, 2, "BAO_AUTH is not a login sesame knows");
    assert_lacks(&stderr(&a), "pasted-token");
}
