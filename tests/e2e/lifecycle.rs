//! rotate, history, rollback, check: a secret's versions and its rotation policy, rotating to
//! the same value, and `rotate --verify` commands that fail.

use super::harness::*;

fn history(sb: &Sandbox, label: &str) -> serde_json::Value {
    sb.json(["history", label, "--json"])
}

fn rotate(sb: &Sandbox, label: &str, value: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    sb.cmd()
        .args(["rotate", label])
        .args(extra)
        .write_stdin(value)
        .assert()
}

#[test]
fn rotate_moves_the_old_value_to_history() {
    let sb = Sandbox::new();
    sb.add("svc", "first-value-0001");
    rotate(&sb, "svc", "second-value-0002\n", &[]).success();
    assert_eq!(sb.get("svc"), "second-value-0002\n");
    let h = history(&sb, "svc");
    assert_eq!(h[0]["version"], 2);
    assert_eq!(h[0]["current"], true);
    assert!(h[0]["retired"].is_null());
    assert_eq!(h[1]["version"], 1);
    assert_eq!(h[1]["current"], false);
    assert!(h[1]["retired"].as_str().unwrap().ends_with('Z'));
    sb.succeeds(["get", "svc", "--version", "1", "-n"])
        .stdout("first-value-0001");
    assert_eq!(sb.list_json()[0]["version"], 2);
}

/// Audit 1 (low): a hint showed the first 3 and last 4 characters of any value of 12 or more
/// (`Xk9mP2avL7qZ` → `Xk9…L7qZ`, 7 of 12 characters). Now only values of 24 characters or more
/// get a hint, and it is `…` and their last 4 characters.
#[test]
fn history_hints_show_only_the_last_4_characters_of_values_of_24_or_more() {
    let sb = Sandbox::new();
    sb.add("k", "sk-proj-0123456789abcda1b2"); // 26 characters
    rotate(&sb, "k", "Xk9mP2avL7qZ", &[]).success();
    rotate(&sb, "k", "sk-proj-0123456789abc123", &[]).success(); // exactly 24
    rotate(&sb, "k", "sk-proj-0123456789ab1234", &[]).success();
    rotate(&sb, "k", "sk-proj-0123456789a123", &[]).success(); // 22: no hint
    let h = history(&sb, "k");
    let hints: Vec<&serde_json::Value> = h.as_array().unwrap().iter().map(|v| &v["hint"]).collect();
    assert!(hints[0].is_null(), "22 characters get no hint");
    assert_eq!(hints[1], "…1234");
    assert_eq!(hints[2], "…c123");
    assert!(hints[3].is_null(), "a 12-character value gets no hint");
    assert_eq!(hints[4], "…a1b2");
    let table = sb.succeeds(["history", "k"]);
    let out = String::from_utf8_lossy(&table.get_output().stdout).into_owned();
    assert!(out.contains("current") && out.contains("…a1b2"), "{out}");
    assert!(
        !out.contains("sk-") && !out.contains("Xk9") && !out.contains("L7qZ"),
        "{out}"
    );
}

#[test]
fn history_keeps_the_last_n_and_wipes_older_versions() {
    let sb = Sandbox::new();
    sb.add("k", "version-1");
    for i in 2..=8 {
        rotate(&sb, "k", &format!("version-{i}"), &[]).success();
    }
    let h = history(&sb, "k");
    let numbers: Vec<u64> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [8, 7, 6, 5, 4, 3], "current plus the default 5");
    sb.fails_with(["get", "k", "--version", "2"], 5, "no version 2");

    rotate(&sb, "k", "version-9", &["--keep", "1"]).success();
    assert_eq!(history(&sb, "k").as_array().unwrap().len(), 2);
    // Wiped means gone from the file too, not only hidden.
    let bytes = sb.vault_bytes();
    assert!(!bytes.windows(9).any(|w| w == b"version-7"));
    let pass = sesame::secret::Passphrase::from_string(PASS.to_string());
    let opened = sesame::container::UnlockedVault::open(&bytes, &pass, &sb.vault).unwrap();
    let secret = &opened.vault.secrets[0];
    assert_eq!(secret.history.len(), 1);
    assert_eq!(
        secret.history[0].value.plain().map(|v| v.expose()),
        Some(&b"version-8"[..])
    );
}

#[test]
fn rotate_verify_saves_only_when_the_command_succeeds() {
    let sb = Sandbox::new();
    sb.with_stdin(["add", "api", "--env", "API_TOKEN"], "old-token")
        .succeeds();
    let seen = sb.path("seen");
    let expected = sb.write_file("expected", "new-token");
    let script = format!(
        "printf %s \"$API_TOKEN\" > '{seen}'; tr '\\0' ' ' < /proc/$$/cmdline >> '{seen}'; \
         test \"$API_TOKEN\" = \"$(cat '{expected}')\"",
        seen = seen.display(),
        expected = expected.display()
    );
    rotate(&sb, "api", "new-token", &["--verify", &script]).success();
    let seen_text = std::fs::read_to_string(&seen).unwrap();
    assert!(seen_text.starts_with("new-token"), "{seen_text}");
    // The value reached the command through its environment, never its argv.
    assert!(
        !seen_text["new-token".len()..].contains("new-token"),
        "{seen_text}"
    );
    assert_eq!(sb.get("api"), "new-token\n");

    let before = sb.vault_bytes();
    fails(
        rotate(&sb, "api", "rejected-token", &["--verify", "exit 7"]),
        1,
        "nothing was changed",
    );
    assert_eq!(sb.vault_bytes(), before);
    assert_eq!(sb.get("api"), "new-token\n");
}

#[test]
fn the_verify_command_does_not_get_sesame_passphrase_variables() {
    let sb = Sandbox::new();
    sb.add("k", "v1");
    let out = sb.path("env");
    rotate(
        &sb,
        "k",
        "v2",
        &["--verify", &format!("env > '{}'", out.display())],
    )
    .success();
    let env = std::fs::read_to_string(out).unwrap();
    assert_has(&env, "K=v2");
    assert_lacks(&env, "SESAME_PASSPHRASE");
    assert_lacks(&env, PASS);
}

#[test]
fn rotate_errors_have_their_exit_codes() {
    let sb = Sandbox::new();
    sb.add("k", "v");
    fails(rotate(&sb, "nope", "v", &[]), 5, "no secret labelled");
    fails(rotate(&sb, "k", "", &[]), 2, "empty");
    fails(rotate(&sb, "k", "v2", &["--keep", "101"]), 2, "--keep");
    sb.with_pass("wrong")
        .args(["rotate", "k"])
        .write_stdin("v2")
        .fails_with(3, "wrong passphrase");
}

#[test]
fn rollback_makes_an_older_version_current_and_loses_nothing() {
    let sb = Sandbox::new();
    sb.add("k", "one");
    rotate(&sb, "k", "two", &[]).success();
    rotate(&sb, "k", "three", &[]).success();
    sb.succeeds(["rollback", "k"]);
    assert_eq!(sb.get("k"), "two\n");
    let numbers: Vec<u64> = history(&sb, "k")
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 3, 1]);

    sb.succeeds(["rollback", "k", "--to", "1"]);
    assert_eq!(sb.get("k"), "one\n");
    sb.fails_with(["rollback", "k", "--to", "9"], 5, "no version 9");
    sb.fails_with(["rollback", "k", "--to", "1"], 2, "already the current");
    // A new rotation continues the numbering.
    rotate(&sb, "k", "four", &[]).success();
    assert_eq!(history(&sb, "k")[0]["version"], 4);

    sb.add("fresh", "only");
    sb.fails_with(["rollback", "fresh"], 2, "no older version");
}

/// A field of the secret labelled "soon" in `list --json`, as text.
fn soon_field(sb: &Sandbox, field: &str) -> String {
    sb.secret_json("soon")[field]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn check_exits_10_once_a_rotation_period_has_passed() {
    let sb = Sandbox::new();
    sb.with_stdin(["add", "soon", "--rotate-every", "1s"], "v")
        .succeeds();
    sb.with_stdin(["add", "later", "--rotate-every", "90d"], "v")
        .succeeds();
    sb.add("never", "v");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let a = sb.cmd().args(["check"]).assert().code(10);
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        out.contains("soon") && !out.contains("later") && !out.contains("never"),
        "{out}"
    );
    let a = sb.cmd().args(["check", "--json"]).assert().code(10);
    let json: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["label"], "soon");
    assert!(json[0]["overdue_seconds"].as_i64().unwrap() >= 1);
    let soon = sb.secret_json("soon");
    assert_eq!(soon["overdue"], true, "list marks it too");

    // Rotating restarts the clock from the new value (compared as due dates, not against the wall
    // clock: a 1 s period may well pass again on a busy machine before `check` runs).
    let due = |sb: &Sandbox| soon_field(sb, "rotation_due");
    let before = due(&sb);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    rotate(&sb, "soon", "v2", &[]).success();
    assert!(due(&sb) > before, "{} !> {before}", due(&sb));
    // Nothing overdue: exit 0 and an empty JSON list.
    sb.succeeds(["edit", "soon", "--rotate-every", "90d"]);
    sb.succeeds(["check"]);
    let a = sb.succeeds(["check", "--json"]);
    assert_eq!(a.get_output().stdout, b"[]\n");
}

#[test]
fn a_period_set_by_edit_counts_from_the_current_value() {
    let sb = Sandbox::new();
    sb.add("k", "v");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    sb.succeeds(["edit", "k", "--rotate-every", "1s"]);
    sb.cmd().args(["check"]).assert().code(10);
    sb.succeeds(["edit", "k", "--rotate-every", "never"]);
    sb.succeeds(["check"]);
}

/// Rotating to the value already current used to be accepted and reset the due date, which
/// silenced `check` while the old key stayed in use.
#[test]
fn rotating_to_the_identical_value_is_refused_unless_same() {
    let sb = Sandbox::new();
    sb.with_stdin(["add", "api", "--rotate-every", "1s"], "sk-unchanged-value")
        .succeeds();
    let before = sb.vault_bytes();
    sb.with_stdin(["rotate", "api"], "sk-unchanged-value\n")
        .fails_with(2, "--same");
    assert_eq!(sb.vault_bytes(), before);
    sb.with_stdin(["rotate", "api", "--same"], "sk-unchanged-value")
        .succeeds();
    let list = sb.list_json();
    assert_eq!(list[0]["version"], 2);
}

/// A failed `rotate --verify` said "(exit status: 7)", Rust's wording, not what happened.
#[test]
fn a_failed_verify_command_says_how_it_exited() {
    let sb = Sandbox::new();
    sb.add("api", "old");
    let a = sb
        .with_stdin(["rotate", "api", "--verify", "exit 7"], "new")
        .fails_with(1, "it exited with 7; nothing was changed");
    assert_lacks(&stderr(&a), "exit status");
    let a = sb
        .with_stdin(["rotate", "api", "--verify", "kill -9 $$"], "new")
        .fails_with(1, "was killed by signal 9 (SIGKILL)");
    assert_lacks(&stderr(&a), "exit status");
    assert_eq!(sb.get("api"), "old\n");
}
