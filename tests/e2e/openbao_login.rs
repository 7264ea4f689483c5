//! Logging in to OpenBao instead of holding a token (`BAO_AUTH`), against a real `bao server
//! -dev`: JWTs signed in the test (ES256, with a key made here and given to OpenBao as
//! `jwt_validation_pubkeys`), the GitHub Actions flow through a stand-in ID-token endpoint, and
//! AppRole. A login happens once per command, and its token is revoked when the command ends; the
//! JWT, the secret id and the token reach no child, no message and no file.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::bao_server::{BaoServer, add_transit_slot, files_containing, nowhere};
use super::harness::*;
use super::oidc::{IdTokenEndpoint, Issuer, claims};

/// The server as docs/TEAM.md sets it up: a `jwt` mount trusting `issuer`, and role `ci`
/// admitting acme/app's main branch for `audiences`, with the Transit and KV policies.
fn jwt_server(issuer: &Issuer, audiences: &[&str], audit: Option<&Path>) -> Option<BaoServer> {
    let server = match audit {
        Some(log) => BaoServer::start_with_audit(log),
        None => BaoServer::start(),
    }?;
    server.ok(&["auth", "enable", "jwt"]);
    server.write_json(
        "auth/jwt/config",
        &json!({ "jwt_validation_pubkeys": [issuer.public_pem()] }).to_string(),
    );
    server.write_json(
        "auth/jwt/role/ci",
        &json!({
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": audiences,
            "bound_claims": { "repository": "acme/app", "ref": "refs/heads/main" },
            "token_policies": ["unwrap", "kv"],
            "token_ttl": "5m",
        })
        .to_string(),
    );
    server.ok(&["kv", "put", "secret/app", "api_key=bao-login-0001"]);
    Some(server)
}

/// A vault with one secret and a Transit slot, and a first `run` done (the usage log exists).
fn vault_with_transit_slot(server: &BaoServer) -> Sandbox {
    let sb = Sandbox::new();
    sb.add("local", "sk-login-0002");
    add_transit_slot(&sb, server);
    sb.succeeds(["run", "--env", "LOCAL=local", "--", "true"]);
    sb
}

/// `sesame` against `server` with no token and no passphrase: `BAO_AUTH` and `vars`.
fn logging_in(sb: &Sandbox, server_addr: &str, vars: &[(&str, &str)]) -> assert_cmd::Command {
    let mut cmd = sb.bare();
    cmd.env("SESAME_VAULT", &sb.vault)
        .env("BAO_ADDR", server_addr);
    for (name, value) in vars {
        cmd.env(name, value);
    }
    cmd
}

/// `run` with one `bao://` reference, logging in with `vars`.
fn run_reference(
    sb: &Sandbox,
    server_addr: &str,
    vars: &[(&str, &str)],
) -> assert_cmd::assert::Assert {
    logging_in(sb, server_addr, vars)
        .args(["run", "--env", "A=bao://secret/app#api_key", "--", "true"])
        .assert()
}

/// The `run` that needs OpenBao twice: the Transit slot opens the vault, and a `bao://`
/// reference is read. The child prints both values, then its whole environment; no credential
/// variable is in it. Returns the child's output and sesame's stderr.
fn run_both(mut cmd: assert_cmd::Command) -> (String, String) {
    let a = cmd
        .args([
            "run",
            "--env",
            "API=bao://secret/app#api_key",
            "--env",
            "LOCAL=local",
        ])
        .args(["--", "sh", "-c", "echo $API $LOCAL; env"])
        .succeeds();
    let out = stdout(&a);
    assert!(out.starts_with("bao-login-0001 sk-login-0002\n"), "{out}");
    for var in ["BAO_TOKEN", "VAULT_TOKEN", "BAO_JWT=", "BAO_SECRET_ID="] {
        assert!(!out.contains(var), "{var} reached the child: {out}");
    }
    (out, stderr(&a))
}

/// Every file under the sandbox (agents' sockets aside). The usage log beside the vault grows
/// with each command; no other file may appear.
fn tree(sb: &Sandbox) -> Vec<PathBuf> {
    fn walk(dir: &Path, skip: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path == skip {
                continue;
            }
            if path.is_dir() {
                walk(&path, skip, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(sb.dir.path(), &sb.runtime_dir(), &mut out);
    out.sort();
    out
}

/// The accessors of every token the server holds.
fn accessors(server: &BaoServer) -> Vec<String> {
    let listed = server.ok(&["list", "-format=json", "auth/token/accessors"]);
    let mut all: Vec<String> = serde_json::from_str(&listed).unwrap();
    all.sort();
    all
}

/// From the raw audit log: how many logins were asked at `path`, and the tokens they gave.
fn logins(audit: &Path, path: &str) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(audit).unwrap_or_default();
    let mut asked = 0;
    let mut tokens = Vec::new();
    for line in text.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if entry["request"]["path"] != path {
            continue;
        }
        if entry["type"] == "request" {
            asked += 1;
        } else if let Some(token) = entry["response"]["auth"]["client_token"].as_str() {
            tokens.push(token.to_string());
        }
    }
    (asked, tokens)
}

/// Asserts exit `code` and a last line `sesame: error: …needle…` (after the unlock notes).
fn ends_with_error(a: assert_cmd::assert::Assert, code: i32, needle: &str) {
    let a = a.code(code);
    let err = stderr(&a);
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with("sesame: error:") && last.contains(needle),
        "expected an error containing {needle:?}, got: {err}"
    );
}

/// Asserts `text` holds neither `secret` nor any long part of it (a JWT's signature).
fn assert_keeps(text: &str, secret: &str, what: &str) {
    for part in std::iter::once(secret).chain(secret.split('.').filter(|p| p.len() >= 16)) {
        assert!(!text.contains(part), "{what} shows a credential: {text}");
    }
}

/// `BAO_AUTH=jwt`: one login serves both the Transit slot and a `bao://` reference of the same
/// `run`; its token is revoked when sesame is done (OpenBao no longer knows it) and reaches
/// neither the child nor a file; nothing is written beside the vault. `unlock` logs in only to
/// open the slot: the agent works on, the token is gone.
#[test]
fn a_jwt_login_serves_one_command_and_its_token_is_revoked_at_exit() {
    let audit = tempfile::tempdir().unwrap();
    let log = audit.path().join("audit.log");
    let issuer = Issuer::new();
    let Some(server) = jwt_server(&issuer, &["sesame-test"], Some(&log)) else {
        return;
    };
    let sb = vault_with_transit_slot(&server);
    let jwt = issuer.jwt(&claims("acme/app", "sesame-test", 300));
    let (files, vault) = (tree(&sb), sb.vault_bytes());
    let tokens_before = accessors(&server);
    let vars = [("BAO_AUTH", "jwt"), ("BAO_ROLE", "ci"), ("BAO_JWT", &jwt)];

    let (out, err) = run_both(logging_in(&sb, &server.addr, &vars));
    assert_keeps(&out, &jwt, "the child's environment");
    assert_keeps(&err, &jwt, "stderr");

    let (asked, given) = logins(&log, "auth/jwt/login");
    assert_eq!(asked, 1, "one login for the slot and the reference");
    let [token] = &given[..] else {
        panic!("one token given: {given:?}")
    };
    assert!(!out.contains(token.as_str()) && !err.contains(token.as_str()));
    // Revoked at exit: OpenBao refuses it, and holds no token it did not hold before.
    let lookup = server.bao(&["token", "lookup", token]);
    assert!(!lookup.status.success());
    assert_has(&String::from_utf8_lossy(&lookup.stderr), "Code: 403");
    assert_eq!(accessors(&server), tokens_before);

    // BAO_JWT_FILE (a file outside the vault's folder), and `get` through the slot alone.
    let jwt_file = audit.path().join("jwt");
    std::fs::write(&jwt_file, format!("{jwt}\n")).unwrap();
    let got = logging_in(
        &sb,
        &server.addr,
        &[("BAO_AUTH", "jwt"), ("BAO_ROLE", "ci")],
    )
    .env("BAO_JWT_FILE", &jwt_file)
    .args(["get", "local"])
    .succeeds();
    assert_eq!(got.get_output().stdout, b"sk-login-0002\n");

    // `unlock`: the login opens the slot, the agent gets the data key, the token is revoked.
    logging_in(&sb, &server.addr, &vars)
        .args(["unlock", "--timeout", "1m"])
        .succeeds();
    assert_eq!(accessors(&server), tokens_before, "unlock kept its token");
    let got = sb
        .bare()
        .env("SESAME_VAULT", &sb.vault)
        .args(["get", "local"])
        .succeeds();
    assert_eq!(got.get_output().stdout, b"sk-login-0002\n");
    // The agent was started without the JWT in its environment.
    let status = sb
        .bare()
        .env("SESAME_VAULT", &sb.vault)
        .args(["status", "--json"])
        .succeeds();
    let status: Value = serde_json::from_slice(&status.get_output().stdout).unwrap();
    let pid = status["agent_pid"].as_u64().expect("an agent pid");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert_keeps(
        &String::from_utf8_lossy(&environ),
        &jwt,
        "the agent's environment",
    );
    sb.bare()
        .env("SESAME_VAULT", &sb.vault)
        .arg("lock")
        .succeeds();

    let (asked, given) = logins(&log, "auth/jwt/login");
    assert_eq!(asked, 3);
    for token in &given {
        assert!(files_containing(&sb, token).is_empty(), "a token in a file");
    }
    assert!(files_containing(&sb, &jwt).is_empty(), "the JWT in a file");
    assert_eq!(tree(&sb), files, "files written beside the vault");
    assert_eq!(sb.vault_bytes(), vault, "the vault changed");
}

/// A JWT for another repository, an expired one and an unknown role are refused: the line
/// names the mount, the role and OpenBao's reason (never the JWT), and sesame goes on to the
/// passphrase like after a refused token; a reference needing the refused login is exit 3. An
/// unknown `BAO_AUTH` or a missing variable is exit 2; an unreachable server exit 1 with its
/// address.
#[test]
fn a_refused_jwt_login_says_why_and_falls_through_to_the_passphrase() {
    let issuer = Issuer::new();
    let Some(server) = jwt_server(&issuer, &["sesame-test"], None) else {
        return;
    };
    let sb = vault_with_transit_slot(&server);
    let other_repo = issuer.jwt(&claims("evil/app", "sesame-test", 300));
    let expired = issuer.jwt(&claims("acme/app", "sesame-test", -300));
    let good = issuer.jwt(&claims("acme/app", "sesame-test", 300));
    for (jwt, role, reason) in [
        (&other_repo, "ci", "claim \"repository\""),
        (&expired, "ci", "expired"),
        (&good, "nobody", "role \"nobody\""),
    ] {
        let vars = [("BAO_AUTH", "jwt"), ("BAO_ROLE", role), ("BAO_JWT", jwt)];
        let a = logging_in(&sb, &server.addr, &vars)
            .env("SESAME_PASSPHRASE", PASS)
            .args(["get", "local"])
            .succeeds();
        assert_eq!(a.get_output().stdout, b"sk-login-0002\n");
        let err = stderr(&a);
        assert_has(
            &err,
            &format!(
                "bao-transit key slot was not used, trying the next source: OpenBao at {} \
                 refused the login to auth/jwt as role \"{role}\"",
                server.addr
            ),
        );
        assert_has(&err, reason);
        assert_keeps(&err, jwt, "the message");
        // With no passphrase: the refusal, then "no passphrase source".
        let a = logging_in(&sb, &server.addr, &vars)
            .args(["get", "local"])
            .assert()
            .code(2);
        assert_has(&stderr(&a), "refused the login");
        assert_has(&stderr(&a), "no passphrase source");
        // A reference needs the token: exit 3 (the login refused for the slot is not asked
        // again: its refusal is the reference's error).
        let with_pass = [&vars[..], &[("SESAME_PASSPHRASE", PASS)]].concat();
        let a = run_reference(&sb, &server.addr, &with_pass).code(3);
        assert_has(
            &stderr(&a),
            &format!(
                "sesame: error: OpenBao at {} refused the login to auth/jwt",
                server.addr
            ),
        );
        assert_keeps(&stderr(&a), jwt, "the message");
    }

    let a = run_reference(&sb, &server.addr, &[("BAO_AUTH", "kerberos")]);
    ends_with_error(a, 2, "BAO_AUTH is not a login sesame knows");
    let a = run_reference(
        &sb,
        &server.addr,
        &[("BAO_AUTH", "jwt"), ("BAO_ROLE", "ci")],
    );
    ends_with_error(a, 2, "needs the JWT in BAO_JWT");
    let a = run_reference(
        &sb,
        &server.addr,
        &[("BAO_AUTH", "jwt"), ("BAO_JWT", &good)],
    );
    ends_with_error(a, 2, "needs BAO_ROLE");
    let nowhere = nowhere();
    let vars = [
        ("BAO_AUTH", "jwt"),
        ("BAO_ROLE", "ci"),
        ("BAO_JWT", &good),
        ("SESAME_PASSPHRASE", PASS),
    ];
    let a = run_reference(&sb, &nowhere, &vars);
    ends_with_error(a, 1, &format!("cannot reach OpenBao at {nowhere}"));
}

/// `BAO_AUTH=github-actions`: sesame asks the ID-token endpoint with the job's bearer token and
/// the audience (`BAO_JWT_AUDIENCE`, else `BAO_ADDR`), then logs in with the JWT. A refused
/// request says what the job needs; a plain-http endpoint off this machine is refused.
#[test]
fn a_github_actions_login_asks_the_id_token_with_the_bearer_and_audience() {
    let issuer = Issuer::new();
    let Some(server) = jwt_server(&issuer, &["sesame-ci"], None) else {
        return;
    };
    // The default audience is BAO_ADDR: the role admits it too.
    server.write_json(
        "auth/jwt/role/ci",
        &json!({
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": ["sesame-ci", server.addr],
            "bound_claims": { "repository": "acme/app", "ref": "refs/heads/main" },
            "token_policies": ["unwrap", "kv"],
            "token_ttl": "5m",
        })
        .to_string(),
    );
    let sb = vault_with_transit_slot(&server);
    let tokens_before = accessors(&server);
    let request_token = "ghs-request-token-0001";
    for audience in [None, Some("sesame-ci")] {
        let expected = audience.unwrap_or(&server.addr);
        let jwt = issuer.jwt(&claims("acme/app", expected, 300));
        let endpoint = IdTokenEndpoint::start(request_token, expected, jwt.clone());
        let mut cmd = logging_in(
            &sb,
            &server.addr,
            &[
                ("BAO_AUTH", "github-actions"),
                ("BAO_ROLE", "ci"),
                ("ACTIONS_ID_TOKEN_REQUEST_URL", &endpoint.url),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token),
            ],
        );
        if let Some(audience) = audience {
            cmd.env("BAO_JWT_AUDIENCE", audience);
        }
        let (out, err) = run_both(cmd);
        assert_keeps(&out, &jwt, "the child's environment");
        assert_keeps(&err, &jwt, "stderr");
        // The job's request token (an ID token for any audience) reaches no child.
        assert_keeps(&out, request_token, "the child's environment");
        let asked: Vec<String> = endpoint.asked.try_iter().collect();
        assert_eq!(asked.len(), 1, "one ID token per command: {asked:?}");
        assert!(!err.contains(request_token));
    }
    assert_eq!(
        accessors(&server),
        tokens_before,
        "a login token outlived sesame"
    );

    // A refused request (the wrong bearer): exit 1, saying what the job needs.
    let endpoint = IdTokenEndpoint::start("another-token", &server.addr, "x.y.z".into());
    let vars = [
        ("BAO_AUTH", "github-actions"),
        ("BAO_ROLE", "ci"),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", &endpoint.url),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token),
        ("SESAME_PASSPHRASE", PASS),
    ];
    let a = run_reference(&sb, &server.addr, &vars).code(1);
    assert_has(
        &stderr(&a),
        "sesame: error: GitHub Actions' ID-token endpoint at http://127.0.0.1:",
    );
    assert_has(&stderr(&a), "answered 401");
    assert_has(&stderr(&a), "id-token: write");
    assert!(!stderr(&a).contains(request_token));

    // Without the variables GitHub sets: exit 2, naming the permission.
    let a = run_reference(
        &sb,
        &server.addr,
        &[("BAO_AUTH", "github-actions"), ("BAO_ROLE", "ci")],
    );
    ends_with_error(a, 2, "permissions: id-token: write");
    // The request token never goes in clear off this machine.
    let far = [
        ("BAO_AUTH", "github-actions"),
        ("BAO_ROLE", "ci"),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "http://example.com/idtoken?x=1",
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token),
    ];
    let a = run_reference(&sb, &server.addr, &far);
    ends_with_error(a, 2, "plain http to a host that is not this machine");
}

/// `BAO_AUTH=approle` with a fresh secret id allowed one use: the `run` that opens the Transit
/// slot and reads a reference logs in once (a second login would be refused). Used up, it is
/// refused with the AppRole hint and never shown; `BAO_SECRET_ID_FILE` works too. The secret id
/// reaches no child, and the login's token is revoked at exit.
#[test]
fn an_approle_login_with_a_fresh_secret_id_opens_the_vault_once_per_command() {
    let issuer = Issuer::new();
    let Some(server) = jwt_server(&issuer, &["unused"], None) else {
        return;
    };
    server.ok(&["auth", "enable", "approle"]);
    server.write_json(
        "auth/approle/role/ci",
        &json!({
            "token_policies": ["unwrap", "kv"],
            "secret_id_num_uses": 1,
            "token_ttl": "5m",
        })
        .to_string(),
    );
    let role_id = server.ok(&["read", "-field=role_id", "auth/approle/role/ci/role-id"]);
    let fresh = || {
        server.ok(&[
            "write",
            "-f",
            "-field=secret_id",
            "auth/approle/role/ci/secret-id",
        ])
    };
    let sb = vault_with_transit_slot(&server);
    let (files, vault) = (tree(&sb), sb.vault_bytes());
    let tokens_before = accessors(&server);

    let secret_id = fresh();
    let vars = [
        ("BAO_AUTH", "approle"),
        ("BAO_ROLE_ID", role_id.as_str()),
        ("BAO_SECRET_ID", secret_id.as_str()),
    ];
    let (out, err) = run_both(logging_in(&sb, &server.addr, &vars));
    assert!(
        !out.contains(&secret_id) && !err.contains(&secret_id),
        "{out}{err}"
    );
    assert_eq!(
        accessors(&server),
        tokens_before,
        "the login token outlived sesame"
    );

    // Used up: refused, the passphrase opens the vault, nothing shows the ids.
    let a = logging_in(&sb, &server.addr, &vars)
        .env("SESAME_PASSPHRASE", PASS)
        .args(["get", "local"])
        .succeeds();
    let err = stderr(&a);
    assert_has(
        &err,
        "refused the login to auth/approle as the role of BAO_ROLE_ID",
    );
    assert_has(&err, "secret_id_num_uses");
    assert!(
        !err.contains(&secret_id) && !err.contains(&role_id),
        "{err}"
    );

    // A fresh one, from a file outside the vault's folder.
    let outside = tempfile::tempdir().unwrap();
    let file = outside.path().join("secret-id");
    std::fs::write(&file, fresh()).unwrap();
    let got = logging_in(
        &sb,
        &server.addr,
        &[("BAO_AUTH", "approle"), ("BAO_ROLE_ID", role_id.as_str())],
    )
    .env("BAO_SECRET_ID_FILE", &file)
    .args(["get", "local"])
    .succeeds();
    assert_eq!(got.get_output().stdout, b"sk-login-0002\n");
    assert_eq!(accessors(&server), tokens_before);
    assert!(files_containing(&sb, &secret_id).is_empty());
    assert_eq!(tree(&sb), files, "files written beside the vault");
    assert_eq!(sb.vault_bytes(), vault, "the vault changed");
}
