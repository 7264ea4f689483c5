//! The rough edges a new user hit (issue 18), each named after what went wrong.

use super::harness::*;

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

/// `sesame add label sk-...` echoed the value back in clap's error, into terminals and CI logs.
#[test]
fn a_value_passed_as_an_argument_is_never_echoed() {
    let sb = Sandbox::new();
    for args in [
        vec!["add", "label", "sk-live-SECRET-123"],
        vec!["rotate", "label", "sk-live-SECRET-123"],
        vec!["get", "label", "sk-live-SECRET-123"],
    ] {
        let a = sb.cmd().args(&args).fails_with(2, "not shown");
        assert_lacks(&stderr(&a), "SECRET");
        assert!(stderr(&a).contains("stdin"));
    }
    // Unknown flags are still named: they are not secrets.
    sb.fails_with(["list", "--bogus"], 2, "--bogus");
}

/// Bare `sesame` printed "error: requires a subcommand".
#[test]
fn bare_sesame_prints_help_and_suggests_init_when_there_is_no_vault() {
    let sb = Sandbox::empty();
    let a = sb.bare().succeeds();
    let err = stderr(&a);
    assert!(!err.contains("error:"), "{err}");
    let all = format!("{}{err}", stdout(&a));
    assert!(all.contains("Usage: sesame"), "{all}");
    assert!(all.contains("sesame init"), "{all}");
}

#[test]
fn show_prints_one_secrets_metadata_never_its_value() {
    let sb = Sandbox::new();
    sb.with_stdin(
        [
            "add",
            "openai/prod",
            "--note",
            "billing account",
            "--rotate-every",
            "90d",
        ],
        "sk-proj-do-not-print",
    )
    .succeeds();
    sb.succeeds(["profile", "set", "dev", "OPENAI_API_KEY=openai/prod"]);
    sb.get("openai/prod");
    let a = sb.ok(["show", "openai/prod"]);
    let out = a;
    for want in ["OPENAI_PROD", "billing account", "90d", "dev", "(1×)"] {
        assert!(out.contains(want), "{want} missing from: {out}");
    }
    assert!(!out.contains("sk-proj"));
    let json = sb.json(["show", "openai/prod", "--json"]);
    assert_eq!(json["note"], "billing account");
    assert_eq!(json["profiles"][0], "dev");
    assert_eq!(json["use_count"], 1);
    sb.fails_with(["show", "openai/prd"], 5, "openai/prod");
}

#[test]
fn list_takes_a_substring_or_a_glob() {
    let sb = Sandbox::new();
    for label in ["aws/prod", "aws/dev", "openai/prod", "github"] {
        sb.add(label, "v");
    }
    let labels = |pattern: &str| -> Vec<String> {
        let json = sb.json(["list", pattern, "--json"]);
        json.as_array()
            .unwrap()
            .iter()
            .map(|s| s["label"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(labels("prod"), vec!["aws/prod", "openai/prod"]);
    assert_eq!(labels("aws/*"), vec!["aws/dev", "aws/prod"]);
    assert_eq!(labels("*/pro?"), vec!["aws/prod", "openai/prod"]);
    assert!(labels("nothing").is_empty());
}

/// Two secrets could share an env name silently; `run --all` then picked one.
#[test]
fn add_and_edit_warn_when_an_env_name_is_already_used() {
    let sb = Sandbox::new();
    sb.with_stdin(["add", "a", "--env", "DUPX"], "1").succeeds();
    let a = sb.with_stdin(["add", "b", "--env", "DUPX"], "2").succeeds();
    assert_has(&stderr(&a), "a already uses the env name DUPX");
    sb.add("c", "3");
    let a = sb.succeeds(["edit", "c", "--env", "DUPX"]);
    assert_has(&stderr(&a), "a, b already use the env name DUPX");
}

/// `init` with no passphrase source and no terminal said "run `sesame unlock` on a terminal
/// first": wrong advice for a vault that does not exist yet.
#[test]
fn init_without_a_terminal_names_the_sources_of_a_new_passphrase() {
    let sb = Sandbox::empty();
    let a = sb
        .bare()
        .env("SESAME_VAULT", &sb.vault)
        .args(["init", "--no-recovery"])
        .fails_with(2, "no passphrase for the new vault");
    let err = stderr(&a);
    assert!(!err.contains("sesame unlock"), "{err}");
    for source in [
        "--new-passphrase-fd",
        "SESAME_NEW_PASSPHRASE",
        "sesame init` on a terminal",
    ] {
        assert!(err.contains(source), "{source} missing: {err}");
    }
}

/// `init` ignored `--new-passphrase-fd` and `SESAME_NEW_PASSPHRASE`, the sources documented for
/// a passphrase being set.
#[test]
fn init_honours_new_passphrase_fd_and_variables() {
    let new = "vivid otter mango quartz";
    let opens_with = |sb: &Sandbox, pass: &str| {
        sb.bare()
            .env("SESAME_VAULT", &sb.vault)
            .env("SESAME_PASSPHRASE", pass)
            .arg("list")
            .succeeds();
    };
    let sb = Sandbox::empty();
    sb.bare()
        .env("SESAME_VAULT", &sb.vault)
        .args(FAST_KDF)
        .args(["--no-recovery", "--new-passphrase-fd", "0"])
        .write_stdin(format!("{new}\n"))
        .succeeds();
    opens_with(&sb, new);
    let sb = Sandbox::empty();
    // SESAME_NEW_PASSPHRASE wins over SESAME_PASSPHRASE for the passphrase init sets.
    sb.cmd()
        .env("SESAME_NEW_PASSPHRASE", new)
        .args(FAST_KDF)
        .arg("--no-recovery")
        .succeeds();
    opens_with(&sb, new);
    let sb = Sandbox::empty();
    let file = sb.path("new-pass");
    write_private(&file, format!("{new}\n"));
    sb.bare()
        .env("SESAME_VAULT", &sb.vault)
        .env("SESAME_NEW_PASSPHRASE_FILE", &file)
        .args(FAST_KDF)
        .arg("--no-recovery")
        .succeeds();
    opens_with(&sb, new);
}

/// A plain `unlock` on an agent started with `--timeout 8h` cut it to the default 15 minutes.
#[test]
fn a_plain_unlock_keeps_the_agents_own_timeout() {
    let sb = Sandbox::new();
    sb.succeeds(["unlock", "--timeout", "8h"]);
    let left = || {
        let a = sb
            .cmd()
            .env_remove("SESAME_PASSPHRASE")
            .args(["status", "--json"])
            .succeeds();
        let json: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
        json["seconds_left"].as_u64().expect("unlocked")
    };
    let a = sb
        .cmd()
        .env_remove("SESAME_PASSPHRASE")
        .arg("unlock")
        .succeeds();
    assert_has(&stderr(&a), "8h");
    assert!(left() > 7 * 3600, "renewed by 8h, not 15m");
    // An explicit --timeout still sets it.
    sb.succeeds(["unlock", "--timeout", "1h"]);
    assert!(left() <= 3600);
}

/// Labels and names were printed with Rust escapes (`"\u{e9}"`) instead of as typed.
#[test]
fn names_in_errors_are_printed_as_typed_with_only_control_characters_escaped() {
    let sb = Sandbox::new();
    let a = sb.fails_with(["add", "café"], 2, "invalid label \"café\"");
    assert_lacks(&stderr(&a), "\\u{e9}");
    let a = sb.fails_with(["add", "x\x1b[31my"], 2, "invalid label");
    assert!(!stderr(&a).contains('\x1b'), "{}", stderr(&a));
    sb.with_stdin(["add", "ok", "--env", "ÉNV"], "v")
        .fails_with(2, "invalid environment variable name \"ÉNV\"");
}

/// `profile set "bad name"` said "invalid label".
#[test]
fn a_bad_profile_name_is_called_a_profile_name() {
    let sb = Sandbox::new();
    sb.add("api", "v");
    let a = sb.fails_with(
        ["profile", "set", "bad name", "K=api"],
        2,
        "invalid profile name \"bad name\"",
    );
    assert_lacks(&stderr(&a), "invalid label");
}

/// With `--vault other.sesame`, "create one with `sesame init`" created the default vault.
#[test]
fn the_init_hint_names_the_vault_given_with_vault() {
    let sb = Sandbox::empty();
    let other = sb.path("other.sesame");
    let a = sb
        .bare()
        .arg("--vault")
        .arg(&other)
        .arg("list")
        .fails_with(5, "no vault at");
    let want = format!("`sesame --vault {} init`", other.display());
    assert_has(&stderr(&a), &want);
}

/// "Argon2 memory 5242880 KiB is outside 32..=4194304 KiB" for `--kdf-memory 5GiB`.
#[test]
fn kdf_memory_limits_are_said_in_the_unit_typed() {
    let sb = Sandbox::empty();
    sb.fails_with(
        ["init", "--kdf-memory", "5GiB"],
        2,
        "--kdf-memory 5GiB is over the 4GiB limit",
    );
    sb.fails_with(
        ["init", "--kdf-memory", "4MiB"],
        2,
        "--kdf-memory 4MiB is under the 8MiB minimum",
    );
    sb.fails_with(
        ["init", "--kdf-memory", "5000000KiB"],
        2,
        "over the 4194304KiB limit",
    );
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

/// `--new-passphrase-fd` and `--recovery-code-fd` were listed on every command; now only where
/// they are read, and still accepted before or after the subcommand (SPEC).
#[test]
fn fd_flags_are_shown_only_where_used_and_accepted_before_or_after_the_subcommand() {
    let sb = Sandbox::new();
    let help = |args: &[&str]| stdout(&sb.bare().args(args).succeeds());
    let get = help(&["get", "--help"]);
    assert!(!get.contains("--new-passphrase-fd") && !get.contains("--recovery-code-fd"));
    assert!(get.contains("Global options:") && get.contains("--passphrase-fd"));
    assert!(help(&["passwd", "--help"]).contains("--new-passphrase-fd"));
    let recover = help(&["recover", "--help"]);
    assert!(recover.contains("--new-passphrase-fd") && recover.contains("--recovery-code-fd"));
    let new = "vivid otter mango quartz";
    sb.cmd()
        .args(["--new-passphrase-fd", "0", "passwd"])
        .write_stdin(format!("{new}\n"))
        .succeeds();
    sb.with_pass(new)
        .args(["passwd", "--new-passphrase-fd", "0"])
        .write_stdin(format!("{PASS}\n"))
        .succeeds();
    // Accepted (and ignored) where it is not read, as before.
    sb.succeeds(["list", "--recovery-code-fd", "0"]);
}

/// Every command has an example, LABEL is explained wherever it is taken, and the main help
/// lists every SESAME_* variable and every exit code.
#[test]
fn help_teaches_examples_labels_variables_and_exit_codes() {
    let sb = Sandbox::empty();
    let main = stdout(&sb.bare().arg("--help").succeeds());
    for var in [
        "SESAME_VAULT",
        "SESAME_PASSPHRASE ",
        "SESAME_PASSPHRASE_FILE",
        "SESAME_PASSPHRASE_COMMAND",
        "SESAME_NEW_PASSPHRASE ",
        "SESAME_NEW_PASSPHRASE_FILE",
        "SESAME_RECOVERY_CODE",
        "SESAME_LOCK_TIMEOUT",
        "SESAME_AUTO_BACKUPS",
        "SESAME_ACCEPT_KDF_COST",
        "BAO_ADDR",
    ] {
        assert!(main.contains(var), "{var} missing from sesame --help");
    }
    for code in [
        "0 ok",
        "1 error",
        "2 usage",
        "3 wrong",
        "4 damaged",
        "5 vault",
        "6 vault busy",
        "10 rotation",
        "11 a stored",
        "126 command",
        "127 command",
    ] {
        assert!(main.contains(code), "exit code {code} missing");
    }
    for command in [
        "init",
        "add",
        "get",
        "list",
        "edit",
        "rm",
        "show",
        "rotate",
        "history",
        "rollback",
        "check",
        "passwd",
        "recover",
        "rekey",
        "run",
        "profile",
        "log",
        "backup",
        "backups",
        "verify",
        "restore",
        "import",
        "export",
        "unlock",
        "lock",
        "status",
        "slot",
        "push",
        "pull",
        "completions",
        "man",
    ] {
        let text = stdout(&sb.bare().args([command, "--help"]).succeeds());
        assert!(text.contains("Examples:"), "{command} has no example");
        if text.contains("<LABEL>") {
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with("<LABEL>"))
                .unwrap_or_default();
            assert!(line.trim() != "<LABEL>", "{command}: LABEL not described");
        }
    }
}

/// `log nope/x` said "No events recorded yet" (exit 0) for a label that never existed, and
/// `log` had no way to show only recent events.
#[test]
fn log_of_an_unknown_label_exits_5_and_since_and_n_limit_the_events() {
    let sb = Sandbox::new();
    sb.add("a", "value-a");
    sb.get("a");
    sb.get("a");
    sb.fails_with(["log", "nope/x"], 5, "no secret labelled");
    let json = |args: &[&str]| -> usize {
        let a = sb.cmd().arg("log").args(args).arg("--json").succeeds();
        let v: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
        v.as_array().unwrap().len()
    };
    assert_eq!(json(&["a"]), 3, "add and two gets");
    assert_eq!(json(&["-n", "2"]), 2);
    assert_eq!(json(&["--since", "1h", "a"]), 3);
    // A label removed since still has its history in the log.
    sb.succeeds(["rm", "a"]);
    assert_eq!(json(&["a"]), 4);
}
