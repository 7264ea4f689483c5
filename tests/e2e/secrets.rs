//! add, get, show, list, edit, rm as a user sees them: values never echoed or listed, list
//! filters, env names another secret already has, and the exit code of each refusal.

use super::harness::*;

#[test]
fn add_then_get_round_trips_and_strips_exactly_one_newline() {
    let sb = Sandbox::new();
    sb.add("openai/prod", "sk-live-123\n");
    sb.succeeds(["get", "openai/prod"]).stdout("sk-live-123\n");
    sb.succeeds(["get", "openai/prod", "-n"])
        .stdout("sk-live-123");
    sb.add("crlf", "v\r\n");
    sb.cmd().args(["get", "-n", "crlf"]).assert().stdout("v");
    sb.add("two-newlines", "v\n\n");
    sb.cmd()
        .args(["get", "-n", "two-newlines"])
        .assert()
        .stdout("v\n");
    sb.with_stdin(["add", "raw", "--raw"], "v\n").succeeds();
    sb.cmd().args(["get", "-n", "raw"]).assert().stdout("v\n");
}

#[test]
fn binary_values_survive_byte_for_byte() {
    let sb = Sandbox::new();
    let value: Vec<u8> = (0..=255u8).rev().collect();
    sb.with_stdin(["add", "bin", "--raw"], value.clone())
        .succeeds();
    sb.succeeds(["get", "-n", "bin"]).stdout(value);
}

#[test]
fn value_size_limits_are_1_byte_to_1_mib() {
    let sb = Sandbox::new();
    sb.with_stdin(["add", "empty"], "").fails_with(2, "empty");
    sb.with_stdin(["add", "nl"], "\n").fails_with(2, "empty");
    let mib = vec![b'x'; 1024 * 1024];
    sb.with_stdin(["add", "max"], mib.clone()).succeeds();
    assert_eq!(sb.get("max").len(), 1024 * 1024 + 1);
    let mut too_big = mib;
    too_big.push(b'y');
    sb.with_stdin(["add", "big"], too_big)
        .fails_with(2, "1 MiB");
    assert_eq!(sb.labels(), ["max"]);
}

#[test]
fn adding_an_existing_label_exits_2_and_points_to_rotate() {
    let sb = Sandbox::new();
    sb.add("github", "one");
    sb.with_stdin(["add", "github"], "two")
        .fails_with(2, "sesame rotate github");
    assert_eq!(sb.get("github"), "one\n");
}

#[test]
fn invalid_labels_and_env_names_exit_2_naming_the_rule() {
    let sb = Sandbox::new();
    let long = "x".repeat(129);
    for label in [
        "",
        "-lead",
        "/lead",
        "has space",
        "ümlaut",
        "a=b",
        long.as_str(),
    ] {
        sb.with_stdin(["add", "--", label], "v")
            .fails_with(2, "starting with a letter or digit");
        sb.fails_with(["get", "--", label], 2, "invalid label");
    }
    for env in ["9lead", "9LEAD", "A-B", ""] {
        sb.with_stdin(["add", "ok", "--env", env], "v")
            .fails_with(2, "environment variable name");
    }
    assert!(sb.labels().is_empty());
}

#[test]
fn env_name_defaults_to_the_label_upper_cased() {
    let sb = Sandbox::with_secrets(&[("openai/prod", "v"), ("stripe.test-key", "v")]);
    sb.with_stdin(["add", "gh", "--env", "GITHUB_TOKEN"], "v")
        .succeeds();
    let list = sb.list_json();
    let env: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["env"].as_str().unwrap())
        .collect();
    assert_eq!(env, ["GITHUB_TOKEN", "OPENAI_PROD", "STRIPE_TEST_KEY"]);
}

#[test]
fn get_of_an_unknown_label_exits_5_and_suggests_close_ones() {
    let sb = Sandbox::with_secrets(&[("openai/prod", "v"), ("openai/dev", "v")]);
    let a = sb.fails_with(["get", "openai/prd"], 5, "did you mean");
    assert_has(&stderr(&a), "\"openai/prod\"");
    sb.fails_with(["get", "zzz"], 5, "sesame list");
    sb.fails_with(["get", "openai/prod", "--version", "9"], 5, "no version 9");
}

#[test]
fn list_shows_metadata_and_never_values() {
    let sb = Sandbox::new();
    sb.with_stdin(
        [
            "add",
            "aws/key",
            "--note",
            "deploy bot",
            "--rotate-every",
            "90d",
        ],
        "AKIA-VERY-SECRET",
    )
    .succeeds();
    let table = sb.succeeds(["list"]);
    let out = String::from_utf8_lossy(&table.get_output().stdout).into_owned();
    assert!(out.starts_with("LABEL"), "{out}");
    for column in [
        "ENV",
        "VERSION",
        "CREATED",
        "UPDATED",
        "ROTATION DUE",
        "LAST USED",
    ] {
        assert!(out.contains(column), "{column} missing: {out}");
    }
    assert!(out.contains("aws/key") && out.contains("AWS_KEY"));
    assert!(!out.contains("AKIA-VERY-SECRET"));

    let json = sb.list_json();
    let s = &json[0];
    assert_eq!(s["label"], "aws/key");
    assert_eq!(s["version"], 1);
    assert_eq!(s["note"], "deploy bot");
    assert_eq!(s["rotate_every"], "90d");
    assert_eq!(s["overdue"], false);
    assert!(s["rotation_due"].as_str().unwrap().ends_with('Z'));
    assert!(!json.to_string().contains("AKIA-VERY-SECRET"));
}

#[test]
fn list_of_an_empty_vault_says_how_to_start() {
    let sb = Sandbox::new();
    let a = sb.succeeds(["list"]).stdout("");
    assert!(stderr(&a).contains("sesame add"));
}

#[test]
fn edit_changes_metadata_only() {
    let sb = Sandbox::new();
    sb.add("svc", "value-1");
    sb.succeeds([
        "edit",
        "svc",
        "--env",
        "SVC_TOKEN",
        "--note",
        "n",
        "--rotate-every",
        "1h30m",
    ]);
    let s = &sb.list_json()[0];
    assert_eq!(
        (s["env"].as_str(), s["note"].as_str()),
        (Some("SVC_TOKEN"), Some("n"))
    );
    assert_eq!(s["rotate_every"], "1h30m");
    assert_eq!(s["version"], 1);

    sb.succeeds(["edit", "svc", "--rotate-every", "never", "--note", ""]);
    let s = &sb.list_json()[0];
    assert!(s["rotate_every"].is_null() && s["note"].is_null());

    sb.succeeds(["edit", "svc", "--rename", "svc/renamed"]);
    assert_eq!(sb.labels(), ["svc/renamed"]);
    assert_eq!(sb.get("svc/renamed"), "value-1\n");
}

#[test]
fn edit_errors_have_their_exit_codes() {
    let sb = Sandbox::with_secrets(&[("a", "1"), ("b", "2")]);
    sb.fails_with(["edit", "a"], 2, "nothing to change");
    sb.fails_with(["edit", "a", "--rename", "b"], 2, "already exists");
    sb.fails_with(["edit", "a", "--rename", "bad name"], 2, "invalid label");
    sb.fails_with(["edit", "a", "--env", "9bad"], 2, "environment");
    sb.fails_with(
        ["edit", "a", "--rotate-every", "soon"],
        2,
        "invalid duration",
    );
    sb.fails_with(["edit", "c", "--note", "x"], 5, "no secret labelled \"c\"");
    assert_eq!(sb.labels(), ["a", "b"]);
}

#[test]
fn rm_removes_the_secret_and_unknown_labels_exit_5() {
    let sb = Sandbox::with_secrets(&[("a", "1"), ("b", "2")]);
    sb.succeeds(["rm", "a"]);
    assert_eq!(sb.labels(), ["b"]);
    sb.fails_with(["rm", "a"], 5, "no secret labelled");
    sb.fails_with(["get", "a"], 5, "no secret labelled");
}

#[test]
fn wrong_passphrase_exits_3_and_changes_nothing() {
    let sb = Sandbox::new();
    sb.add("a", "1");
    let before = sb.vault_bytes();
    for args in [vec!["get", "a"], vec!["list"], vec!["rm", "a"]] {
        sb.with_pass("nope")
            .args(&args)
            .fails_with(3, "wrong passphrase");
    }
    sb.with_pass("nope")
        .args(["add", "b"])
        .write_stdin("2")
        .fails_with(3, "wrong passphrase");
    assert_eq!(sb.vault_bytes(), before);
}

#[test]
fn no_plaintext_value_is_left_anywhere_under_the_vault_folder() {
    let sb = Sandbox::new();
    let values = [
        "PLAINTEXT-CANARY-ONE",
        "PLAINTEXT-CANARY-TWO",
        "PLAINTEXT-CANARY-3",
    ];
    sb.add("one", values[0]);
    sb.add("two", values[1]);
    sb.succeeds(["edit", "one", "--rename", "uno", "--note", "n"]);
    sb.add("three", values[2]);
    sb.succeeds(["rm", "two"]);
    let folder = sb.vault.parent().unwrap();
    let mut files = 0;
    // Every file under the folder, the automatic generations in backups/auto included.
    let mut paths = vec![folder.to_path_buf()];
    let mut all = Vec::new();
    while let Some(path) = paths.pop() {
        if path.is_dir() {
            paths.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            all.push(path);
        }
    }
    for path in all {
        let bytes = std::fs::read(&path).unwrap();
        files += 1;
        for v in values {
            assert!(
                !bytes.windows(v.len()).any(|w| w == v.as_bytes()),
                "{v} found in {}",
                path.display()
            );
        }
        assert!(!bytes.windows(PASS.len()).any(|w| w == PASS.as_bytes()));
    }
    assert!(
        files >= 6,
        "expected the vault, its lock file, its log and automatic generations"
    );
    assert_eq!(mode(&sb.vault), 0o600);
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
