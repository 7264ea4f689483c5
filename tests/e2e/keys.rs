//! The vault's own keys: the recovery code from init, passwd, recover, rekey.

use super::harness::*;
use sesame::format::Slot;
use sesame::format::read::parse_file;
use sesame::slots::passphrase::PassphraseSlot;

/// A vault made with a recovery code; returns the sandbox and the code as printed.
fn with_recovery() -> (Sandbox, String) {
    let sb = Sandbox::empty();
    let a = sb.cmd().args(FAST_KDF).succeeds();
    let out = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert_eq!(
        out.lines().count(),
        1,
        "the code alone on one stdout line: {out:?}"
    );
    assert!(stderr(&a).contains("shown only this once"));
    (sb, out.trim_end().to_string())
}

fn code_shape_ok(code: &str) -> bool {
    let groups: Vec<&str> = code.split('-').collect();
    groups.len() == 7
        && groups.iter().all(|g| {
            g.len() == 4
                && g.bytes()
                    .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
        })
}

fn recover(sb: &Sandbox, code: &str, new: &str) -> assert_cmd::assert::Assert {
    sb.cmd()
        .env_remove("SESAME_PASSPHRASE")
        .env("SESAME_RECOVERY_CODE", code)
        .env("SESAME_NEW_PASSPHRASE", new)
        .arg("recover")
        .assert()
}

fn with_pass(sb: &Sandbox, pass: &str, args: &[&str]) -> assert_cmd::assert::Assert {
    sb.with_pass(pass).args(args).assert()
}

#[test]
fn init_prints_a_recovery_code_in_groups() {
    let (sb, code) = with_recovery();
    assert!(code_shape_ok(&code), "{code}");
    let bytes = sb.vault_bytes();
    let kinds: Vec<u16> = parse_file(&bytes)
        .unwrap()
        .header
        .slots
        .iter()
        .map(Slot::kind)
        .collect();
    assert_eq!(kinds, [1, 2]);
    // --no-recovery: no code, no recovery slot.
    let plain = Sandbox::new();
    let bytes = plain.vault_bytes();
    assert_eq!(parse_file(&bytes).unwrap().header.slots.len(), 1);
    // Exit 4, as for a vault with no passphrase slot: without a slot of the kind being used
    // nothing in the file can be authenticated (FORMAT.md, "Key slots").
    fails(recover(&plain, &code, "x"), 4, "no recovery slot");
}

#[test]
fn passwd_changes_the_passphrase_and_keeps_the_data_key() {
    let (sb, code) = with_recovery();
    sb.add("k", "value");
    let before = parse_file(&sb.vault_bytes()).unwrap().header;
    sb.cmd()
        .env("SESAME_NEW_PASSPHRASE", "new pass phrase tango")
        .arg("passwd")
        .succeeds();
    sb.fails_with(["list"], 3, "wrong passphrase");
    with_pass(&sb, "new pass phrase tango", &["get", "k"])
        .success()
        .stdout("value\n");
    let bytes = sb.vault_bytes();
    let after = parse_file(&bytes).unwrap().header;
    assert_eq!(after.key_generation, before.key_generation);
    assert_ne!(
        after.slots[0], before.slots[0],
        "the passphrase slot is re-wrapped"
    );
    assert_eq!(
        after.slots[1], before.slots[1],
        "the recovery slot is untouched"
    );
    // The recovery code still opens it.
    recover(&sb, &code, "third pass phrase kilo").success();
    with_pass(&sb, "third pass phrase kilo", &["get", "k"]).success();
}

#[test]
fn passwd_can_upgrade_the_kdf_parameters() {
    let sb = Sandbox::new();
    sb.cmd()
        .env("SESAME_NEW_PASSPHRASE", "second passphrase delta")
        .args(["passwd", "--kdf-memory", "16MiB", "--kdf-iterations", "2"])
        .succeeds();
    let bytes = sb.vault_bytes();
    let slot = PassphraseSlot::parse(&parse_file(&bytes).unwrap().header.slots[0].body).unwrap();
    assert_eq!(
        (
            slot.kdf.memory_kib,
            slot.kdf.iterations,
            slot.kdf.parallelism
        ),
        (16384, 2, 1)
    );
    with_pass(&sb, "second passphrase delta", &["list"]).success();
}

#[test]
fn passwd_needs_a_new_passphrase_source_and_the_current_passphrase() {
    let sb = Sandbox::new();
    sb.fails_with(["passwd"], 2, "SESAME_NEW_PASSPHRASE");
    sb.with_pass("wrong")
        .env("SESAME_NEW_PASSPHRASE", "x")
        .arg("passwd")
        .fails_with(3, "wrong passphrase");
    // The new passphrase may also come from a descriptor (here stdin) or a file.
    sb.with_stdin(["passwd", "--new-passphrase-fd", "0"], "from the fd echo\n")
        .succeeds();
    with_pass(&sb, "from the fd echo", &["list"]).success();
    let file = sb.path("newpass");
    write_private(&file, "from the file foxtrot\n");
    sb.with_pass("from the fd echo")
        .env("SESAME_NEW_PASSPHRASE_FILE", &file)
        .arg("passwd")
        .succeeds();
    with_pass(&sb, "from the file foxtrot", &["list"]).success();
}

#[test]
fn recover_tells_a_typo_from_a_wrong_code() {
    let (sb, code) = with_recovery();
    sb.add("k", "value");
    // A typo: one symbol changed, so the checksum fails (exit 2).
    let mut typo = code.clone().into_bytes();
    typo[0] = if typo[0] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    let a = recover(&sb, &typo, "new phrase lima");
    if a.get_output().status.code() == Some(2) {
        assert_has(&stderr(&a), "typo");
    } else {
        // 1 typo in 1024 passes the checksum; then it is simply a wrong code.
        a.code(3);
    }
    fails(recover(&sb, "ABCD-EFGH", "new phrase lima"), 2, "typo");
    // A well-formed code of another vault: wrong code (exit 3).
    let (_, other) = with_recovery();
    fails(
        recover(&sb, &other, "new phrase lima"),
        3,
        "wrong recovery code",
    );
    // Sloppy typing of the right code still works.
    recover(
        &sb,
        &code.to_lowercase().replace('-', " "),
        "new phrase lima",
    )
    .success();
    with_pass(&sb, "new phrase lima", &["get", "k"])
        .success()
        .stdout("value\n");
}

#[test]
fn recover_reads_the_code_from_a_descriptor() {
    let (sb, code) = with_recovery();
    sb.cmd()
        .env_remove("SESAME_PASSPHRASE")
        .env("SESAME_NEW_PASSPHRASE", "via the fd golf")
        .args(["recover", "--recovery-code-fd", "0"])
        .write_stdin(format!("{code}\n"))
        .succeeds();
    with_pass(&sb, "via the fd golf", &["list"]).success();
    sb.cmd()
        .env_remove("SESAME_PASSPHRASE")
        .env("SESAME_NEW_PASSPHRASE", "x")
        .arg("recover")
        .fails_with(2, "SESAME_RECOVERY_CODE");
}

#[test]
fn rekey_changes_the_data_key_and_retires_the_old_recovery_code() {
    let (sb, old_code) = with_recovery();
    sb.add("a", "alpha");
    sb.add("b", "beta");
    sb.with_stdin(["rotate", "b"], "beta-2").succeeds();
    let before = parse_file(&sb.vault_bytes()).unwrap().header;
    let a = sb.succeeds(["rekey"]);
    let new_code = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    let new_code = new_code.trim_end();
    assert!(code_shape_ok(new_code), "{new_code}");
    assert_ne!(new_code, old_code);
    let after = parse_file(&sb.vault_bytes()).unwrap().header;
    assert_eq!(after.key_generation, before.key_generation + 1);
    assert_eq!(after.vault_id, before.vault_id);
    // The values are intact, history included.
    assert_eq!(sb.get("a"), "alpha\n");
    sb.cmd()
        .args(["get", "b", "--version", "1"])
        .assert()
        .stdout("beta\n");
    fails(recover(&sb, &old_code, "x"), 3, "wrong recovery code");
    recover(&sb, new_code, "fresh phrase hotel").success();
    with_pass(&sb, "fresh phrase hotel", &["get", "b"])
        .success()
        .stdout("beta-2\n");
}

#[test]
fn rekey_no_recovery_leaves_no_recovery_slot() {
    let (sb, code) = with_recovery();
    let a = sb.succeeds(["rekey", "--no-recovery"]);
    assert!(a.get_output().stdout.is_empty());
    fails(recover(&sb, &code, "x"), 4, "no recovery slot");
}

#[test]
fn a_log_left_by_an_interrupted_rekey_is_set_aside_not_appended_to() {
    // What broke: the log header named the vault id but not the key generation, so a log of the
    // old generation (a crash between `rekey` saving the vault and re-sealing the log) was
    // appended to under the new key: `log` said "No events recorded yet" forever while the file
    // grew. Now the header carries the generation and such a log is kept aside.
    let sb = Sandbox::new();
    sb.add("a", "alpha");
    let log = sb.vault.with_file_name("vault.sesame.log");
    let aside = sb.vault.with_file_name("vault.sesame.log.old");
    let old_log = std::fs::read(&log).unwrap();
    sb.succeeds(["rekey"]);
    // The re-sealed log is format 3 with generation 2 in its header.
    let resealed = std::fs::read(&log).unwrap();
    assert_eq!(resealed[8..10], 3u16.to_le_bytes());
    assert_eq!(resealed[26..30], 2u32.to_le_bytes());
    // As if the crash came before the log was re-sealed.
    std::fs::write(&log, &old_log).unwrap();
    let (_, err) = sb.log_actions();
    assert_has(&err, "another key generation");
    let a = sb.succeeds(["get", "a"]);
    let err = stderr(&a);
    assert!(
        err.starts_with("sesame: warning: the usage log was sealed under another key generation")
            && err.contains("vault.sesame.log.old"),
        "{err}"
    );
    assert_eq!(std::fs::read(&aside).unwrap(), old_log);
    let (actions, err) = sb.log_actions();
    assert_eq!(actions, ["get"]);
    assert!(err.is_empty(), "{err}");
    // A second stale log does not overwrite the first one kept aside.
    std::fs::write(&log, &old_log).unwrap();
    sb.get("a");
    assert_eq!(std::fs::read(&aside).unwrap(), old_log);
    assert_eq!(
        std::fs::read(sb.vault.with_file_name("vault.sesame.log.old.2")).unwrap(),
        old_log
    );
    assert_eq!(sb.log_actions().0, ["get"]);
}
