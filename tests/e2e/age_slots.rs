//! Age slots with keys made by the real tools: `age-keygen` and OpenSSH's `ssh-keygen` (Debian
//! packages `age` and `openssh-client`, installed by `.ci/run`). A user adds the slot with the
//! passphrase, then opens the vault with only the identity.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use super::harness::{
    Sandbox, assert_has, assert_lacks, script_missing, stderr, stdout, typed_into,
};

/// Runs a key tool; panics with its output when it fails (the tools are part of the test bed).
pub(super) fn tool(program: &str, args: &[&str]) -> String {
    let out = Process::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} could not start ({e}): install age and openssh-client")
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs the shell command `line` (`$SESAME` is the binary under test) on a pseudo-terminal
/// (util-linux `script`) with `path` as PATH, types `input` there, and returns what the terminal
/// showed. `None` without `script`.
pub(super) fn on_pty(sb: &Sandbox, line: &str, input: &str, path: &str) -> Option<String> {
    if script_missing() {
        return None;
    }
    let mut cmd = sb.on_pty_asking(line);
    cmd.env("PATH", path);
    Some(typed_into(cmd, input))
}

/// A new age identity file from `age-keygen`, and its recipient.
pub(super) fn age_key(sb: &Sandbox, name: &str) -> (PathBuf, String) {
    let path = sb.path(name);
    tool("age-keygen", &["-o", &path.display().to_string()]);
    let recipient = tool("age-keygen", &["-y", &path.display().to_string()]);
    (path, recipient)
}

/// A new SSH key pair from `ssh-keygen` (no passphrase unless `passphrase` is not empty).
pub(super) fn ssh_key(sb: &Sandbox, name: &str, kind: &str, passphrase: &str) -> PathBuf {
    let path = sb.path(name);
    let mut args = vec![
        "-q",
        "-t",
        kind,
        "-N",
        passphrase,
        "-C",
        "test@sesame",
        "-f",
    ];
    let shown = path.display().to_string();
    args.push(&shown);
    if kind == "rsa" {
        args.extend(["-b", "2048"]);
    }
    tool("ssh-keygen", &args);
    path
}

pub(super) fn pub_file(key: &Path) -> String {
    format!("{}.pub", key.display())
}

/// A sandbox with one secret and an age slot to `recipient`.
fn vault_with_age_slot(recipient: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.add("api/key", "s3cret-value");
    sb.succeeds(["slot", "add", "age", "--recipient", recipient]);
    sb
}

#[test]
fn an_age_keygen_identity_opens_the_vault_without_a_passphrase() {
    let sb = Sandbox::empty();
    let (identity, recipient) = age_key(&sb, "me.txt");
    let sb2 = vault_with_age_slot(&recipient);
    let got = sb2.get_with_identity("api/key", &identity).success();
    assert_eq!(stdout(&got), "s3cret-value\n");
    // `status` and `slot list` say which slot opened it this time.
    let status = sb2
        .bare()
        .env("SESAME_VAULT", &sb2.vault)
        .env("SESAME_AGE_IDENTITY", &identity)
        .arg("status")
        .assert()
        .success();
    assert_has(&stdout(&status), "opened by  slot 1 (age)");
    let list = sb2
        .bare()
        .env("SESAME_VAULT", &sb2.vault)
        .env("SESAME_AGE_IDENTITY", &identity)
        .args(["slot", "list"])
        .assert()
        .success();
    let list = stdout(&list);
    let age_row = list
        .lines()
        .find(|l| l.starts_with("1 "))
        .unwrap_or_default();
    assert!(age_row.contains(&recipient), "{list}");
    assert!(age_row.contains("opened the vault this time"), "{list}");
}

#[test]
fn ssh_ed25519_and_rsa_keys_from_ssh_keygen_open_an_age_slot() {
    let sb = Sandbox::new();
    sb.add("api/key", "s3cret-value");
    let ed = ssh_key(&sb, "id_ed25519", "ed25519", "");
    let rsa = ssh_key(&sb, "id_rsa", "rsa", "");
    sb.cmd()
        .args([
            "slot",
            "add",
            "age",
            "--name",
            "laptop",
            "--recipients-file",
        ])
        .arg(pub_file(&ed))
        .args(["--recipients-file", &pub_file(&rsa)])
        .assert()
        .success();
    let list = sb.succeeds(["slot", "list"]);
    let list = stdout(&list);
    let fingerprint = tool("ssh-keygen", &["-l", "-f", &pub_file(&ed)]);
    let sha = fingerprint.split(' ').nth(1).unwrap_or_default();
    assert!(
        list.contains(&format!("ssh-ed25519 {sha}")),
        "{list}\n{fingerprint}"
    );
    assert_has(&list, "ssh-rsa SHA256:");
    for key in [&ed, &rsa] {
        let got = sb
            .bare()
            .env("SESAME_VAULT", &sb.vault)
            .env("SESAME_AGE_IDENTITY", key)
            .args(["get", "api/key"])
            .assert()
            .success();
        assert_eq!(stdout(&got), "s3cret-value\n", "{}", key.display());
    }
}

#[test]
fn an_identity_list_in_sesame_age_identity_is_split_on_colons() {
    let sb = Sandbox::empty();
    let (other, _) = age_key(&sb, "other.txt");
    let (identity, recipient) = age_key(&sb, "me.txt");
    let sb2 = vault_with_age_slot(&recipient);
    let got = sb2
        .bare()
        .env("SESAME_VAULT", &sb2.vault)
        .env(
            "SESAME_AGE_IDENTITY",
            format!("{}:{}", other.display(), identity.display()),
        )
        .args(["get", "api/key"])
        .assert()
        .success();
    assert_eq!(stdout(&got), "s3cret-value\n");
}

#[test]
fn an_encrypted_ssh_key_without_a_terminal_is_refused_with_the_reason() {
    let sb = Sandbox::new();
    sb.add("api/key", "s3cret-value");
    let key = ssh_key(&sb, "id_locked", "ed25519", "key passphrase");
    sb.succeeds(["slot", "add", "age", "-R", &pub_file(&key)]);
    let out = sb.get_with_identity("api/key", &key).code(2);
    let err = stderr(&out);
    assert_has(
        &err,
        "is encrypted and there is no terminal to ask its passphrase",
    );
    assert!(
        !err.contains("key passphrase") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn ecdsa_keys_are_refused_as_recipients_and_as_identities() {
    let sb = Sandbox::new();
    let key = ssh_key(&sb, "id_ecdsa", "ecdsa", "");
    let out = sb
        .cmd()
        .args(["slot", "add", "age", "-R", &pub_file(&key)])
        .assert()
        .code(2);
    assert_has(
        &stderr(&out),
        "ecdsa-sha2-nistp256 keys cannot be age recipients",
    );
    let (_, recipient) = age_key(&sb, "me.txt");
    sb.succeeds(["slot", "add", "age", "-r", &recipient]);
    let out = sb
        .bare()
        .env("SESAME_VAULT", &sb.vault)
        .args(["get", "x", "--identity"])
        .arg(&key)
        .assert()
        .failure();
    assert!(
        stderr(&out)
            .contains("keys cannot open age slots: age decrypts with ed25519 and RSA keys only")
            || stderr(&out).contains("not an OpenSSH or PEM private key"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_identity_that_opens_no_slot_exits_3() {
    let sb = Sandbox::empty();
    let (_, recipient) = age_key(&sb, "me.txt");
    let (stranger, _) = age_key(&sb, "stranger.txt");
    let sb2 = vault_with_age_slot(&recipient);
    let out = sb2.get_with_identity("api/key", &stranger).code(3);
    let err = stderr(&out);
    assert!(
        err.contains("no identity in") && err.contains("opens the age slot"),
        "{err}"
    );
    // With a passphrase at hand, the next source opens it.
    let got = sb2
        .cmd()
        .args(["get", "api/key", "--identity"])
        .arg(&stranger)
        .assert()
        .success();
    assert_eq!(stdout(&got), "s3cret-value\n");
    assert!(stderr(&got).contains("the age key slot was not used, trying the next source"));
}

#[test]
fn rekey_re_encrypts_age_slots_to_their_recipients_without_an_identity() {
    let sb = Sandbox::empty();
    let (identity, recipient) = age_key(&sb, "me.txt");
    let sb2 = vault_with_age_slot(&recipient);
    let ssh = ssh_key(&sb2, "id_ed25519", "ed25519", "");
    sb2.succeeds(["slot", "add", "age", "--name", "ssh", "-R", &pub_file(&ssh)]);
    let before = sb2.data_key_hex();
    sb2.succeeds(["rekey", "--no-recovery"]);
    assert_ne!(before, sb2.data_key_hex());
    let list = sb2.succeeds(["slot", "list"]);
    let list = stdout(&list);
    assert!(
        list.contains("name=age") && list.contains("name=ssh"),
        "{list}"
    );
    for key in [&identity, &ssh] {
        let got = sb2.get_with_identity("api/key", key).success();
        assert_eq!(stdout(&got), "s3cret-value\n");
    }
}

#[test]
fn an_age_slot_copied_from_another_vault_is_refused() {
    let sb = Sandbox::empty();
    let (identity, recipient) = age_key(&sb, "me.txt");
    let a = vault_with_age_slot(&recipient);
    let b = vault_with_age_slot(&recipient);
    // Put B's age slot record (kind 4, body length, body) in place of A's: the slot opens with
    // the identity, to B's key.
    let record = |bytes: &[u8]| {
        let at = bytes
            .windows(10)
            .position(|w| w[..2] == [4, 0] && &w[6..] == b"\x03age")
            .expect("an age slot record");
        let len = u32::from_le_bytes([bytes[at + 2], bytes[at + 3], bytes[at + 4], bytes[at + 5]]);
        at..at + 6 + len as usize
    };
    let a_bytes = a.vault_bytes();
    let b_bytes = b.vault_bytes();
    let (in_a, in_b) = (record(&a_bytes), record(&b_bytes));
    let mut a_bytes_moved = a_bytes[..in_a.start].to_vec();
    a_bytes_moved.extend_from_slice(&b_bytes[in_b]);
    a_bytes_moved.extend_from_slice(&a_bytes[in_a.end..]);
    let a_bytes = a_bytes_moved;
    std::fs::write(&a.vault, &a_bytes).expect("write");
    let out = a.get_with_identity("api/key", &identity).code(4);
    assert_has(&stderr(&out), "bound to another vault");
}

#[test]
fn slot_add_age_refuses_a_second_slot_with_the_same_name() {
    let sb = Sandbox::empty();
    let (_, first) = age_key(&sb, "one.txt");
    let (_, second) = age_key(&sb, "two.txt");
    let sb2 = vault_with_age_slot(&first);
    let out = sb2
        .cmd()
        .args(["slot", "add", "age", "-r", &second])
        .assert()
        .code(2);
    assert_has(&stderr(&out), "slot 1 (age) has that name already");
    sb2.succeeds(["slot", "add", "age", "--name", "second", "-r", &second]);
}

#[test]
fn unlock_starts_the_agent_through_an_age_identity() {
    let sb = Sandbox::empty();
    let (identity, recipient) = age_key(&sb, "me.txt");
    let sb2 = vault_with_age_slot(&recipient);
    sb2.bare()
        .env("SESAME_VAULT", &sb2.vault)
        .args(["unlock", "--identity"])
        .arg(&identity)
        .assert()
        .success();
    let got = sb2
        .bare()
        .env("SESAME_VAULT", &sb2.vault)
        .args(["get", "api/key"])
        .assert()
        .success();
    assert_eq!(stdout(&got), "s3cret-value\n");
    sb2.bare()
        .env("SESAME_VAULT", &sb2.vault)
        .arg("lock")
        .assert()
        .success();
}

#[test]
fn a_plugin_recipient_whose_plugin_is_missing_is_refused_with_what_to_install() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args(["slot", "add", "age", "-r", "age1sesametest1qpskyccvuvlr9"])
        .assert()
        .code(1);
    let err = stderr(&out);
    assert_has(&err, "install age-plugin-sesametest on PATH");
    assert_lacks(&err, "panicked");
}

#[test]
fn a_plugin_name_age_would_run_but_sesame_does_not_allow_is_refused() {
    // `+` is allowed by the age crate in a plugin name; sesame allows only letters, digits,
    // `-`, `_` and `.` before a name becomes the program `age-plugin-NAME`.
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args(["slot", "add", "age", "-r", "age1x+y1qpskycc55elm4"])
        .assert()
        .code(2);
    let err = stderr(&out);
    assert_has(&err, "the age plugin name \"x+y\" is not letters, digits");
}

#[test]
fn an_encrypted_ssh_key_asks_its_passphrase_on_the_terminal() {
    let sb = Sandbox::new();
    sb.add("api/key", "s3cret-value");
    let key = ssh_key(&sb, "id_locked", "ed25519", "key passphrase");
    sb.succeeds(["slot", "add", "age", "-R", &pub_file(&key)]);
    let path = std::env::var("PATH").unwrap_or_default();
    let line = format!("\"$SESAME\" get api/key --identity {}", key.display());
    let Some(shown) = on_pty(&sb, &line, "key passphrase\n", &path) else {
        return;
    };
    assert_has(&shown, "Passphrase for the SSH key");
    assert_has(&shown, "s3cret-value");
}
