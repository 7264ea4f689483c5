//! `merge`, `conflicts`, `resolve` and the sync tools' conflict copies: two copies of one vault
//! changed apart come back together, and nothing is lost.

use std::path::{Path, PathBuf};

use assert_cmd::assert::Assert;

use super::harness::*;

/// A vault holding `a` and `b`, and a copy of it in another folder (another machine's file).
fn vault_and_copy() -> (Sandbox, PathBuf) {
    let sb = Sandbox::with_secrets(&[("a", "a-first"), ("b", "b-first")]);
    let other = sb.dir.path().join("laptop").join("vault.sesame");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::copy(&sb.vault, &other).unwrap();
    (sb, other)
}

/// `sesame --vault OTHER ARGS` with `input` on stdin, which must succeed.
fn on_copy(sb: &Sandbox, other: &Path, args: &[&str], input: &str) {
    sb.cmd()
        .arg("--vault")
        .arg(other)
        .args(args)
        .write_stdin(input)
        .succeeds();
}

#[test]
fn merge_brings_in_a_copy_s_changes_and_keeps_both_values_set_apart_in_conflict() {
    let (sb, other) = vault_and_copy();
    on_copy(&sb, &other, &["add", "c"], "c-laptop");
    on_copy(&sb, &other, &["rotate", "a"], "a-laptop");
    on_copy(&sb, &other, &["edit", "b", "--note", "from the laptop"], "");
    sb.with_stdin(["rotate", "a"], "a-desktop").succeeds();

    let merged = sb.cmd().arg("merge").arg(&other).assert().code(12);
    let out = stdout(&merged);
    assert_has(&out, "added: c");
    assert_has(&out, "in conflict: a");
    assert_lacks(&out, "laptop\n");
    assert_lacks(&stderr(&merged), "a-laptop");
    assert_eq!(sb.get("c").trim_end(), "c-laptop");
    assert_eq!(sb.secret_json("b")["note"], "from the laptop");

    // Both values of `a` are kept; `conflicts` names it and `resolve` clears it.
    let listed = sb.succeeds(["conflicts"]);
    assert_has(&stdout(&listed), "a");
    let conflicts = sb.json(["conflicts", "--json"]);
    let versions = conflicts[0]["versions"].as_array().unwrap();
    assert_eq!(conflicts[0]["label"], "a");
    assert_eq!(versions.len(), 3, "{conflicts}");
    let values: Vec<String> = versions
        .iter()
        .map(|v| {
            let n = v["version"].to_string();
            sb.ok(["get", "-n", "a", "--version", &n])
        })
        .collect();
    assert!(values.contains(&"a-laptop".to_string()), "{values:?}");
    assert!(values.contains(&"a-desktop".to_string()), "{values:?}");
    let laptop = versions
        .iter()
        .zip(&values)
        .find(|(_, value)| value.as_str() == "a-laptop")
        .map(|(v, _)| v["version"].to_string())
        .unwrap();
    sb.succeeds(["resolve", "a", "--keep", &laptop]);
    assert_eq!(sb.get("a").trim_end(), "a-laptop");
    sb.succeeds(["conflicts"]);

    // Merging the same copy again changes nothing.
    let again = merge(&sb, &other);
    assert_has(&stderr(&again), "Nothing to merge");
}

#[test]
fn merge_dry_run_says_what_would_change_and_writes_nothing() {
    let (sb, other) = vault_and_copy();
    on_copy(&sb, &other, &["add", "c"], "c-laptop");
    let before = sb.vault_bytes();
    let out = sb.cmd().args(["merge", "--dry-run"]).arg(&other).succeeds();
    assert_has(&stdout(&out), "would be added: c");
    assert_eq!(sb.vault_bytes(), before);
}

#[test]
fn merge_follows_a_removal_and_a_rename_made_on_the_copy() {
    let (sb, other) = vault_and_copy();
    on_copy(&sb, &other, &["rm", "b", "--yes"], "");
    on_copy(&sb, &other, &["edit", "a", "--rename", "a2"], "");
    merge(&sb, &other);
    assert_eq!(sb.labels(), ["a2"]);
    assert_eq!(sb.get("a2").trim_end(), "a-first");
}

#[test]
fn merge_refuses_a_copy_of_another_vault() {
    let sb = Sandbox::with_secrets(&[("a", "one")]);
    let stranger = Sandbox::with_secrets(&[("a", "two")]);
    sb.cmd()
        .arg("merge")
        .arg(&stranger.vault)
        .fails_with(2, "not a copy of this vault");
}

#[test]
fn merge_opens_a_rekeyed_copy_with_its_own_passphrase() {
    let (sb, other) = vault_and_copy();
    // The copy gets another passphrase and data key; this vault is unlocked through its agent.
    sb.cmd()
        .arg("--vault")
        .arg(&other)
        .args(["passwd", "--kdf-memory", "8MiB", "--kdf-iterations", "1"])
        .env("SESAME_NEW_PASSPHRASE", "the laptop's own passphrase")
        .succeeds();
    sb.cmd()
        .arg("--vault")
        .arg(&other)
        .env("SESAME_PASSPHRASE", "the laptop's own passphrase")
        .args(["rekey", "--no-recovery"])
        .succeeds();
    sb.cmd()
        .arg("--vault")
        .arg(&other)
        .env("SESAME_PASSPHRASE", "the laptop's own passphrase")
        .args(["add", "c"])
        .write_stdin("c-laptop")
        .succeeds();
    sb.succeeds(["unlock"]);
    // Without the copy's passphrase, the message says that is what is missing.
    sb.cmd()
        .env_remove("SESAME_PASSPHRASE")
        .arg("merge")
        .arg(&other)
        .fails_with(2, "does not open with this vault's key");
    sb.cmd()
        .env("SESAME_PASSPHRASE", "the laptop's own passphrase")
        .arg("merge")
        .arg(&other)
        .succeeds();
    sb.succeeds(["lock"]);
    // The merged file keeps this vault's own passphrase.
    assert_eq!(sb.get("c").trim_end(), "c-laptop");
}

#[test]
fn merge_of_a_rekeyed_copy_keeps_its_confirmed_values_readable() {
    let (sb, other) = confirmed_vault_and_rekeyed_copy();
    merge(&sb, &other);
    // Both versions open with this vault's key (the passphrase is in this process).
    assert_eq!(sb.get("a").trim_end(), "a-from-the-laptop");
    sb.succeeds(["get", "a", "--version", "1"])
        .stdout("a-first\n");
    assert_eq!(sb.json(["show", "a", "--json"])["confirm"], true);
}

/// `sesame merge COPY`, which must succeed.
fn merge(sb: &Sandbox, copy: &Path) -> Assert {
    sb.cmd().arg("merge").arg(copy).succeeds()
}

/// A vault holding `a` = `one`, and a byte-for-byte copy of it beside it named `name`, as a
/// sync tool leaves one.
fn vault_and_conflict_copy(name: &str) -> (Sandbox, PathBuf) {
    let sb = Sandbox::with_secrets(&[("a", "one")]);
    let copy = sb.vault.with_file_name(name);
    std::fs::copy(&sb.vault, &copy).expect("copy the vault");
    (sb, copy)
}

#[test]
fn status_names_a_syncthing_conflict_copy_with_the_merge_command() {
    let (sb, copy) = vault_and_conflict_copy("vault.sync-conflict-20261206-081500-ABCDEFG.sesame");
    // The same bytes as the vault: nothing to bring in.
    assert_has(
        &stdout(&sb.succeeds(["status"])),
        "already merged; it can be deleted",
    );
    // Changed on the other side: named with the command that merges it, then as done with.
    on_copy(&sb, &copy, &["rotate", "a"], "two");
    let out = stdout(&sb.succeeds(["status"]));
    assert_has(&out, "Syncthing conflict copy");
    assert_has(&out, &format!("sesame merge {}", copy.display()));
    let json = sb.json(["status", "--json"]);
    assert_eq!(json["conflict_copies"][0]["tool"], "Syncthing");
    assert_eq!(json["conflict_copies"][0]["merged"], false);
    merge(&sb, &copy);
    assert_has(
        &stdout(&sb.succeeds(["status"])),
        "already merged; it can be deleted",
    );
    assert_eq!(
        sb.json(["status", "--json"])["conflict_copies"][0]["merged"],
        true
    );
}

#[test]
fn a_command_on_a_terminal_names_a_conflict_copy_and_a_script_is_not_told() {
    let (sb, copy) = vault_and_conflict_copy("vault (Ann's conflicted copy 2026-12-06).sesame");
    on_copy(&sb, &copy, &["rotate", "a"], "two");
    let shown = sb.shown_on_pty("\"$SESAME\" list");
    assert_has(&shown, "Dropbox conflict copy of this vault");
    assert_has(&shown, "sesame merge '");
    let piped = sb.succeeds(["list"]);
    assert_lacks(&stderr(&piped), "conflict copy");
}

/// The labels of each event of `log --json` with `action`, sorted.
fn logged(sb: &Sandbox, action: &str) -> Vec<String> {
    let log = sb.json(["log", "--json"]);
    let mut found: Vec<String> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .map(|e| e["labels"].to_string())
        .collect();
    found.sort();
    found
}

#[test]
fn merge_combines_the_usage_logs_of_both_copies_keeping_each_event_once() {
    let (sb, other) = vault_and_copy();
    sb.succeeds(["get", "a"]);
    sb.succeeds_on(&other, ["get", "b"]);
    on_copy(&sb, &other, &["add", "c"], "c-laptop");

    merge(&sb, &other);
    assert_eq!(logged(&sb, "get"), ["[\"a\"]", "[\"b\"]"]);
    assert_eq!(logged(&sb, "add").len(), 3, "a and b here, c from the copy");

    // Merged again after one more change there: the events already here are not added twice.
    on_copy(&sb, &other, &["add", "d"], "d-laptop");
    merge(&sb, &other);
    assert_eq!(logged(&sb, "get"), ["[\"a\"]", "[\"b\"]"]);
    assert_eq!(logged(&sb, "add").len(), 4);
    assert_eq!(logged(&sb, "merge").len(), 2);
}

/// A vault whose `a` is confirmed, and a copy of it rekeyed apart (another data key) that gave
/// `a` a new value, sealed under that key.
fn confirmed_vault_and_rekeyed_copy() -> (Sandbox, PathBuf) {
    let (sb, other) = vault_and_copy();
    sb.succeeds(["edit", "a", "--confirm"]);
    std::fs::copy(&sb.vault, &other).unwrap();
    sb.succeeds_on(&other, ["rekey", "--no-recovery"]);
    on_copy(&sb, &other, &["rotate", "a"], "a-from-the-laptop");
    (sb, other)
}

/// Asserts that `a` is sealed: an agent started for the vault, with no approval console,
/// refuses it (exit 3), where a value in the clear would be given.
fn assert_a_is_sealed(sb: &Sandbox) {
    sb.succeeds(["unlock"]);
    sb.cmd()
        .env_remove("SESAME_PASSPHRASE")
        .args(["get", "a"])
        .fails_with(3, "no approval console is attached");
    sb.succeeds(["lock"]);
}

#[test]
fn merge_driver_seals_again_the_confirmed_values_a_rekeyed_copy_brings() {
    let (sb, theirs) = confirmed_vault_and_rekeyed_copy();
    let ours = sb.dir.path().join("ours.sesame");
    std::fs::copy(&sb.vault, &ours).unwrap();
    let base = sb.write_file("base.sesame", "");
    sb.cmd()
        .arg("merge-driver")
        .args([&base, &ours, &theirs])
        .succeeds();
    std::fs::copy(&ours, &sb.vault).unwrap();
    assert_a_is_sealed(&sb);
    assert_eq!(sb.get("a").trim_end(), "a-from-the-laptop");
}

#[test]
fn restore_of_a_rekeyed_copy_keeps_its_confirmed_values_readable() {
    let (sb, other) = confirmed_vault_and_rekeyed_copy();
    sb.cmd()
        .arg("restore")
        .arg(&other)
        .arg("--force")
        .succeeds();
    assert_eq!(sb.get("a").trim_end(), "a-from-the-laptop");
    assert_a_is_sealed(&sb);
}

#[test]
fn merge_of_a_missing_copy_names_the_copy_not_the_vault() {
    let (sb, other) = vault_and_copy();
    let missing = other.with_file_name("nofile.sesame");
    let a = sb.cmd().arg("merge").arg(&missing).assert();
    let a = a.code(1);
    assert_has(&stderr(&a), "nofile.sesame: no such file");
    assert_lacks(&stderr(&a), "sesame init");
}
