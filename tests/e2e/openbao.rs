//! Team use through OpenBao, against a real `bao server -dev` (`bao_server`): the Transit key
//! slot, `bao://` references in `run`, `push`/`pull`, and where the token must not go.

use super::bao_server::*;
use super::harness::*;

/// The Transit slot: a token whose policy allows decrypt opens the vault with no passphrase; a
/// token without it, a revoked token and a stopped server fall through to the passphrase with
/// one line saying why (and with no passphrase: exit 2); `unlock` works through the slot; `rekey`
/// re-wraps through it, or refuses without a token.
#[test]
fn a_transit_slot_opens_with_a_decrypt_token_and_falls_through_to_the_passphrase() {
    let Some(mut server) = BaoServer::start() else {
        return;
    };
    let sb = Sandbox::new();
    sb.add("api/key", "sk-transit-0001");
    add_transit_slot(&sb, &server);
    let list = sb.succeeds(["slot", "list"]);
    let list = String::from_utf8_lossy(&list.get_output().stdout).into_owned();
    assert!(
        list.contains("bao-transit") && list.contains("mount=transit key=sesame"),
        "{list}"
    );
    assert!(files_containing(&sb, ROOT).is_empty(), "root token on disk");

    let ci = server.token(&["unwrap"]);
    let got = with_token(&sb, &server, &ci)
        .args(["get", "api/key"])
        .succeeds();
    assert_eq!(got.get_output().stdout, b"sk-transit-0001\n");
    // Nothing on stderr but the one line every plain-http command says (the dev server).
    let said = stderr(&got);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert_has(&said, "over plain http");

    // A token without the decrypt policy: refused, so the passphrase opens it, said on stderr.
    let nobody = server.token(&[]);
    let a = with_token(&sb, &server, &nobody)
        .env("SESAME_PASSPHRASE", PASS)
        .args(["get", "api/key"])
        .succeeds();
    assert_has(&stderr(&a), "refused the token");
    assert!(!stderr(&a).contains(&nobody), "the token in a message");
    let a = with_token(&sb, &server, &nobody)
        .args(["get", "api/key"])
        .assert()
        .code(2);
    let err = stderr(&a);
    assert!(
        err.contains("refused the token") && err.contains("sesame: error: no passphrase source"),
        "{err}"
    );

    // `unlock` through the slot: later commands need neither token nor passphrase.
    with_token(&sb, &server, &ci)
        .args(["unlock", "--timeout", "1m"])
        .succeeds();
    let mut plain = sb.bare();
    plain.env("SESAME_VAULT", &sb.vault);
    plain.args(["get", "api/key"]).succeeds();
    sb.bare()
        .env("SESAME_VAULT", &sb.vault)
        .arg("lock")
        .succeeds();

    // rekey without a token refuses, nothing changed; with one, the new key is re-wrapped.
    let before = sb.vault_bytes();
    sb.fails_with(["rekey", "--no-recovery"], 2, "--drop-unreachable");
    assert_eq!(sb.vault_bytes(), before);
    sb.with_bao(&server.addr, &ci)
        .args(["rekey", "--no-recovery"])
        .succeeds();
    assert_ne!(sb.vault_bytes(), before);
    let got = with_token(&sb, &server, &ci)
        .args(["get", "api/key"])
        .succeeds();
    assert_eq!(got.get_output().stdout, b"sk-transit-0001\n");

    // A revoked token falls through too.
    server.ok(&["token", "revoke", &ci]);
    let a = with_token(&sb, &server, &ci)
        .env("SESAME_PASSPHRASE", PASS)
        .args(["get", "api/key"])
        .succeeds();
    assert_has(&stderr(&a), "bao-transit key slot was not used");

    // A stopped server: the line names its address; without a passphrase, exit 2.
    let ci = server.token(&["unwrap"]);
    let addr = server.addr.clone();
    server.stop();
    let a = with_token(&sb, &server, &ci)
        .env("SESAME_PASSPHRASE", PASS)
        .args(["get", "api/key"])
        .succeeds();
    assert_has(&stderr(&a), &format!("cannot reach OpenBao at {addr}"));
    let a = with_token(&sb, &server, &ci)
        .args(["get", "api/key"])
        .assert()
        .code(2);
    assert_has(&stderr(&a), "no passphrase source");
    // With the server gone, rekey refuses unless told to drop the slot.
    sb.with_bao(&addr, &ci)
        .args(["rekey", "--no-recovery"])
        .fails_with(1, &addr);
    let a = sb
        .with_bao(&addr, &ci)
        .args(["rekey", "--no-recovery", "--drop-unreachable"])
        .succeeds();
    assert_has(&stderr(&a), "1 bao-transit slot(s)");
    let list = sb.succeeds(["slot", "list"]);
    assert!(!String::from_utf8_lossy(&list.get_output().stdout).contains("bao-transit"));
}

/// `bao://` references in `--env`, env files and inherited variables: read at run time, masked,
/// logged as the reference; a missing path or field is exit 5, a refused token exit 3, a server
/// that is not there exit 1 with its address. The token reaches no child and no file.
#[test]
fn bao_references_reach_the_child_and_the_token_does_not() {
    let Some(server) = BaoServer::start() else {
        return;
    };
    server.ok(&[
        "kv",
        "put",
        "secret/app",
        "api_key=bao-value-0001",
        "db=bao-db-0002",
    ]);
    let sb = Sandbox::new();
    sb.add("local", "local-value-0003");
    let token = server.token(&["kv"]);
    std::fs::write(
        sb.path("app.env"),
        "DB=bao://secret/app#db\nLOCAL=sesame://local\n",
    )
    .unwrap();
    let run = |extra: &[&str], script: &str| {
        let mut cmd = sb.cmd();
        cmd.env("BAO_ADDR", &server.addr)
            .env("BAO_TOKEN", &token)
            .env("VAULT_TOKEN", &token)
            .env("INHERITED", "bao://secret/app#api_key")
            .args([
                "run",
                "--env",
                "API=bao://secret/app#api_key",
                "--env-file",
                "app.env",
            ])
            .args(extra)
            .args(["--", "sh", "-c", script]);
        cmd.assert()
    };
    let a = run(&[], "echo $API $DB $LOCAL $INHERITED; env").success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        out.starts_with("bao-value-0001 bao-db-0002 local-value-0003 bao-value-0001\n"),
        "{out}"
    );
    assert!(!out.contains(&token), "the token reached the child: {out}");
    assert!(
        !out.contains("BAO_TOKEN") && !out.contains("VAULT_TOKEN"),
        "{out}"
    );

    let a = run(&["--mask"], "echo $API $DB").success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        !out.contains("bao-value") && out.contains("<concealed by sesame>"),
        "{out}"
    );

    let log = sb.succeeds(["log"]);
    let log = String::from_utf8_lossy(&log.get_output().stdout).into_owned();
    assert_has(&log, "bao://secret/app#api_key");

    let fail = |reference: &str, token: &str, addr: &str| {
        sb.with_bao(addr, token)
            .args(["run", "--env", &format!("X={reference}"), "--", "true"])
            .assert()
    };
    fails(
        fail("bao://secret/nothing#x", &token, &server.addr),
        5,
        "does not exist",
    );
    fails(
        fail("bao://secret/app#nofield", &token, &server.addr),
        5,
        "nofield",
    );
    let stranger = server.token(&[]);
    let a = fails(
        fail("bao://secret/app#db", &stranger, &server.addr),
        3,
        "refused the token",
    );
    assert!(!stderr(&a).contains(&stranger));
    let nowhere = nowhere();
    fails(fail("bao://secret/app#db", &token, &nowhere), 1, &nowhere);

    assert!(
        files_containing(&sb, &token).is_empty(),
        "the token is in a file"
    );
    assert!(
        files_containing(&sb, "bao-value-0001").is_empty(),
        "a bao value was stored"
    );
}

/// `push` writes the current values as fields of one KV v2 secret (other fields kept), `pull`
/// brings them into another vault under a prefix, skipping a field that is no label.
#[test]
fn push_and_pull_round_trip_through_a_kv_secret() {
    let Some(server) = BaoServer::start() else {
        return;
    };
    server.ok(&["kv", "put", "secret/team", "keep=kept-0001", "bad name=x"]);
    let token = server.token(&["kv"]);
    let alice = Sandbox::new();
    alice.add("openai", "sk-team-0001");
    alice.add("stripe", "sk-team-0002");
    alice
        .with_bao(&server.addr, &token)
        .args(["push", "openai", "stripe", "--to", "bao://secret/team"])
        .succeeds();
    assert_eq!(
        server.ok(&["kv", "get", "-field=keep", "secret/team"]),
        "kept-0001"
    );
    assert_eq!(
        server.ok(&["kv", "get", "-field=openai", "secret/team"]),
        "sk-team-0001"
    );

    let bob = Sandbox::new();
    bob.add("team/openai", "old-value");
    let pull = |extra: &[&str]| {
        bob.with_bao(&server.addr, &token)
            .args(["pull", "bao://secret/team", "--prefix", "team"])
            .args(extra)
            .succeeds()
    };
    let a = pull(&[]);
    assert_has(&stderr(&a), "\"bad name\" skipped");
    assert_eq!(bob.get("team/stripe"), "sk-team-0002\n");
    assert_eq!(bob.get("team/keep"), "kept-0001\n");
    assert_eq!(
        bob.get("team/openai"),
        "old-value\n",
        "an existing label is skipped"
    );
    pull(&["--overwrite"]);
    assert_eq!(bob.get("team/openai"), "sk-team-0001\n");
    bob.with_bao(&server.addr, &token)
        .args(["pull", "bao://secret/absent"])
        .fails_with(5, "does not exist");
}

/// `pull` from a team KV path anyone on the team can write: a field `LD_AUDIT` reached ld.so
/// and `PATH` replaced the child's PATH under `run --all`. Such fields are skipped, named.
#[test]
fn pull_skips_fields_that_load_or_run_code() {
    let Some(server) = BaoServer::start() else {
        return;
    };
    server.ok(&[
        "kv",
        "put",
        "secret/hostile",
        "LD_AUDIT=/tmp/evil.so",
        "PATH=/tmp/evil",
        "bash_env=/tmp/evil.sh",
        "api=sk-pulled-0001",
    ]);
    let token = server.token(&["kv"]);
    let sb = Sandbox::new();
    let a = sb
        .with_bao(&server.addr, &token)
        .args(["pull", "bao://secret/hostile"])
        .succeeds();
    let err = stderr(&a);
    for field in ["LD_AUDIT", "PATH", "bash_env"] {
        assert!(
            err.contains(&format!("field \"{field}\" skipped")),
            "{field}: {err}"
        );
    }
    assert_eq!(sb.labels(), ["api"]);
}

/// `slot add bao-transit --mount kv1` on a KV version 1 mount wrote `{"plaintext": base64(AAD ‖
/// data key)}` into KV. Now a random test value goes first and must come back as a Transit
/// ciphertext that decrypts to it; KV answers otherwise, so the data key is never sent.
#[test]
fn slot_add_on_a_kv_mount_never_sends_the_data_key() {
    let Some(server) = BaoServer::start() else {
        return;
    };
    server.ok(&["secrets", "enable", "-path=kv1", "-version=1", "kv"]);
    let sb = Sandbox::new();
    sb.add("api", "sk-never-in-kv-0001");
    let a = sb
        .with_bao(&server.addr, ROOT)
        .env("SESAME_BAO_TRANSIT_MOUNTS", "transit,kv1")
        .args(transit_slot_add("kv1"))
        .fails_with(
            1,
            "does not behave as a Transit mount, so the vault's key was not sent",
        );
    assert_has(&stderr(&a), "kv1/encrypt/sesame");
    // Whatever KV now holds there is the random test value, not the data key.
    let stored = server.bao(&["read", "-field=plaintext", "kv1/encrypt/sesame"]);
    let text = String::from_utf8_lossy(&stored.stdout).trim().to_string();
    let key = sb.data_key_hex();
    let decoded = base64_decode(&text);
    assert!(
        !super::harness::hex(&decoded).contains(&key),
        "the data key was written to KV"
    );
    let list = sb.succeeds(["slot", "list"]);
    assert!(!String::from_utf8_lossy(&list.get_output().stdout).contains("bao-transit"));
}

/// A slot is read from the vault file, which may be someone else's: its mount is used only when
/// allowed (default `transit`, more through SESAME_BAO_TRANSIT_MOUNTS). A slot naming another
/// mount is not tried (nothing is sent there) and the passphrase opens the vault.
#[test]
fn a_transit_slot_naming_a_mount_not_allowed_is_not_tried() {
    let Some(server) = BaoServer::start() else {
        return;
    };
    server.ok(&["secrets", "enable", "-path=team-transit", "transit"]);
    server.ok(&["write", "-f", "team-transit/keys/sesame"]);
    let sb = Sandbox::new();
    sb.add("api", "sk-mount-0001");
    sb.with_bao(&server.addr, ROOT)
        .env("SESAME_BAO_TRANSIT_MOUNTS", "team-transit")
        .args(transit_slot_add("team-transit"))
        .succeeds();
    // Allowed: opens with the token alone.
    let got = with_token(&sb, &server, ROOT)
        .env("SESAME_BAO_TRANSIT_MOUNTS", "transit, team-transit")
        .args(["get", "api"])
        .succeeds();
    assert_eq!(got.get_output().stdout, b"sk-mount-0001\n");
    // Not allowed: not tried; one line, then the passphrase.
    let a = with_token(&sb, &server, ROOT)
        .env("SESAME_PASSPHRASE", PASS)
        .args(["get", "api"])
        .succeeds();
    let err = stderr(&a);
    assert!(
        err.contains("names the OpenBao mount \"team-transit\"")
            && err.contains("SESAME_BAO_TRANSIT_MOUNTS"),
        "{err}"
    );
}

/// A Transit answer whose plaintext has the wrong length exited 4 ("restore it from a backup"):
/// the file is fine, the answer is bad. One line, then the passphrase.
#[test]
fn a_transit_answer_of_the_wrong_length_falls_through_to_the_passphrase() {
    use base64::Engine;
    let Some(server) = BaoServer::start() else {
        return;
    };
    let sb = Sandbox::new();
    sb.add("api", "sk-length-0001");
    add_transit_slot(&sb, &server);
    for len in [31usize, 33, 70] {
        let plaintext = base64::engine::general_purpose::STANDARD.encode(vec![7u8; len]);
        let fake = super::openbao_client::FakeBao::start(vec![(
            200,
            format!(r#"{{"data":{{"plaintext":"{plaintext}"}}}}"#),
        )]);
        let a = sb
            .with_bao(&fake.addr, ROOT)
            .args(["get", "api"])
            .succeeds();
        assert_eq!(a.get_output().stdout, b"sk-length-0001\n");
        let err = stderr(&a);
        assert!(
            err.contains("bao-transit key slot was not used")
                && err.contains("not this vault's key"),
            "{len}: {err}"
        );
        assert!(!err.contains("backup"), "{len}: {err}");
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_default()
}

/// `inject` and `run --template` read `{{ bao://MOUNT/PATH#FIELD }}` at render time, beside
/// `{{ sesame://LABEL }}`; a field OpenBao does not have is exit 5 with nothing written.
#[test]
fn templates_render_bao_fields_and_a_missing_field_writes_nothing() {
    let Some(server) = BaoServer::start() else {
        return;
    };
    server.ok(&["kv", "put", "secret/app", "api_key=bao-value-0101"]);
    let sb = Sandbox::new();
    sb.add("local", "local-value-0102");
    let token = server.token(&["kv"]);
    let tpl = sb.write_file(
        "conf.tpl",
        "api: {{ bao://secret/app#api_key }}\nlocal: {{ sesame://local }}\n",
    );
    let out = sb.path("conf");
    let inject = |template: &std::path::Path| {
        let mut cmd = sb.cmd();
        cmd.env("BAO_ADDR", &server.addr)
            .env("BAO_TOKEN", &token)
            .arg("inject")
            .arg("-i")
            .arg(template)
            .arg("-o")
            .arg(&out);
        cmd.assert()
    };
    inject(&tpl).success();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "api: bao-value-0101\nlocal: local-value-0102\n"
    );
    let a = sb
        .with_bao(&server.addr, &token)
        .arg("run")
        .arg("--template")
        .arg(format!("CONF={}", tpl.display()))
        .args(["--", "sh", "-c", "cat \"$CONF\""])
        .succeeds();
    assert_eq!(
        String::from_utf8_lossy(&a.get_output().stdout),
        "api: bao-value-0101\nlocal: local-value-0102\n"
    );
    std::fs::remove_file(&out).unwrap();
    let bad = sb.write_file(
        "bad.tpl",
        "{{ sesame://local }} {{ bao://secret/app#nope }}\n",
    );
    fails(inject(&bad), 5, "nope");
    assert!(!out.exists());
}
