//! What a new user reads: `--help` and bare `sesame` teach the next step, and when something is
//! off each message says what happened and what to do, in one sentence, naming the file, line,
//! vault or profile it concerns as typed (control characters escaped), and suggests only what
//! exists here.

use super::harness::*;

/// Three warnings had runs of 22-26 spaces inside them (string continuations lost their `\`).
#[test]
fn warnings_about_inherited_references_read_as_one_sentence() {
    let sb = Sandbox::new();
    let run = |var: &str, value: &str| {
        let a = sb
            .cmd()
            .env(var, value)
            .args(["run", "--", "true"])
            .assert();
        stderr(&a)
    };
    for (var, value, says) in [
        ("TOOL_URL", "bao://not a reference", "is not a reference"),
        ("DOC", "sesame://see the wiki", "what follows is not a"),
        (
            "LD_PRELOAD",
            "bao://secret/app#key",
            "makes programs load or run code",
        ),
    ] {
        let err = run(var, value);
        assert!(err.contains(says), "{var}: {err}");
        assert!(!err.contains("  "), "{var}: a run of spaces: {err:?}");
    }
}

/// A missing label in an env file said only "no secret labelled …"; the LD_PRELOAD error of the
/// same file named FILE:LINE. Now both do.
#[test]
fn a_missing_label_in_an_env_file_is_named_with_its_file_and_line() {
    let sb = Sandbox::new();
    sb.add("openai/prod", "v");
    std::fs::write(
        sb.path("app.env"),
        "# the app\nOPENAI_API_KEY=sesame://openai/prod\nGH_TOKEN=sesame://github/ci\n",
    )
    .unwrap();
    sb.fails_with(
        ["run", "--env-file", "app.env", "--", "true"],
        5,
        "app.env:3: no secret labelled \"github/ci\"",
    );
}

/// After `rm` of the vault the error said "create one with `sesame init`" although
/// `backups/auto` held copies of it: it now points to `sesame restore` and the newest copy.
#[test]
fn no_vault_points_to_restore_when_sesame_keeps_copies() {
    let sb = Sandbox::new();
    sb.add("api", "v1");
    std::fs::remove_file(&sb.vault).unwrap();
    let a = sb.fails_with(
        ["list"],
        5,
        "but sesame keeps 1 copy of it; put the newest back with `sesame restore ",
    );
    let err = stderr(&a);
    assert_has(&err, "backups/auto/vault-");
    assert_has(&err, "`sesame init`");
    // The copy named restores the vault.
    let copy = err
        .split("`sesame restore ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .expect("a path");
    sb.succeeds(["restore", copy, "--force"]);
    assert_eq!(sb.labels(), Vec::<String>::new());
    // Named with --vault: the commands name it too.
    std::fs::remove_file(&sb.vault).unwrap();
    let a = sb
        .bare()
        .arg("--vault")
        .arg(&sb.vault)
        .arg("list")
        .assert()
        .code(5);
    assert_has(
        &stderr(&a),
        &format!("`sesame --vault {} restore ", sb.vault.display()),
    );
    // No copies at all: create one.
    let fresh = Sandbox::empty();
    fresh.fails_with(["list"], 5, "create one with `sesame init`");
}

/// The "safe to commit" header wrote the vault's absolute path (the user's home folder) into a
/// file meant for the repository.
#[test]
fn export_header_names_the_vault_file_not_its_path() {
    let sb = Sandbox::new();
    sb.add("api", "v");
    let out = stdout(&sb.succeeds(["export", "--dotenv"]));
    let header = out.lines().next().expect("header");
    assert_has(header, "(from vault.sesame)");
    assert!(!out.contains(&*sb.dir.path().to_string_lossy()), "{out}");
}

/// `add </dev/null` asked for the passphrase before noticing the value was empty, and its hint
/// suggested macOS's `pbpaste` on Linux.
#[test]
fn add_refuses_an_empty_value_before_asking_for_the_passphrase() {
    let sb = Sandbox::new();
    // No passphrase source at all: the empty value is what is reported.
    let a = sb
        .bare()
        .env("SESAME_VAULT", &sb.vault)
        .args(["add", "api"])
        .write_stdin("")
        .fails_with(2, "no value: the value is empty");
    let err = stderr(&a);
    if cfg!(target_os = "macos") {
        assert_has(&err, "pbpaste");
    } else {
        assert!(
            !err.contains("pbpaste") && err.contains("wl-paste"),
            "{err}"
        );
    }
    // A label already taken is still refused with a piped value.
    sb.add("api", "v");
    sb.with_stdin(["add", "api"], "w")
        .fails_with(2, "already exists");
}

/// A mistyped profile name got no "did you mean", unlike a mistyped label.
#[test]
fn a_mistyped_profile_name_gets_a_did_you_mean() {
    let sb = Sandbox::new();
    sb.add("api", "v");
    sb.succeeds(["profile", "set", "web", "KEY=api"]);
    sb.fails_with(
        ["run", "--profile", "wbe", "--", "true"],
        5,
        "no profile named \"wbe\"; did you mean \"web\"?",
    );
    sb.fails_with(["profile", "rm", "webb"], 5, "did you mean \"web\"?");
    sb.fails_with(
        ["run", "--profile", "zzz", "--", "true"],
        5,
        "no profile named \"zzz\"; `sesame profile list` shows them",
    );
}

/// The README's examples used `python` (exit 127 on Debian, which has only `python3`) and macOS's
/// `pbpaste`: every example, in the README, the docs and `--help`, uses what Linux has.
#[test]
fn examples_use_commands_a_linux_user_has() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts = vec![(
        "README.md".to_string(),
        std::fs::read_to_string(root.join("README.md")).unwrap(),
    )];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        texts.push((
            path.display().to_string(),
            std::fs::read_to_string(&path).unwrap(),
        ));
    }
    let sb = Sandbox::empty();
    for command in ["add", "get", "rotate", "run", "import", "export"] {
        let help = stdout(&sb.bare().args([command, "--help"]).succeeds());
        texts.push((format!("sesame {command} --help"), help));
    }
    for (name, text) in &texts {
        for line in text.lines().filter(|l| !l.contains("macOS")) {
            let words: Vec<&str> = line
                .split(|c: char| c.is_whitespace() || c == '`' || c == '(')
                .collect();
            for missing in ["python", "pbpaste", "pbcopy"] {
                assert!(!words.contains(&missing), "{name}: {missing} in {line:?}");
            }
        }
    }
}

/// Bare `sesame` printed "error: requires a subcommand".
#[test]
fn bare_sesame_prints_help_and_suggests_init_when_there_is_no_vault() {
    let sb = Sandbox::empty();
    let a = sb.bare().succeeds();
    let err = stderr(&a);
    assert_lacks(&err, "error:");
    let all = format!("{}{err}", stdout(&a));
    assert_has(&all, "Usage: sesame");
    assert_has(&all, "sesame init");
}

/// Labels and names were printed with Rust escapes (`"\u{e9}"`) instead of as typed.
#[test]
fn names_in_errors_are_printed_as_typed_with_only_control_characters_escaped() {
    let sb = Sandbox::new();
    let a = sb.fails_with(["add", "café"], 2, "invalid label \"café\"");
    assert_lacks(&stderr(&a), "\\u{e9}");
    let a = sb.fails_with(["add", "x\x1b[31my"], 2, "invalid label");
    assert_lacks(&stderr(&a), "\x1b");
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
