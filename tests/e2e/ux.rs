//! The rough edges a new user hit (issue 18), each named after what went wrong.

use super::harness::*;

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

/// Rotating to the value already current used to be accepted and reset the due date, which
/// silenced `check` while the old key stayed in use.
#[test]
fn rotating_to_the_identical_value_is_refused_unless_same() {
    let sb = Sandbox::new();
    sb.cmd()
        .args(["add", "api", "--rotate-every", "1s"])
        .write_stdin("sk-unchanged-value")
        .assert()
        .success();
    let before = sb.vault_bytes();
    fails(
        sb.cmd()
            .args(["rotate", "api"])
            .write_stdin("sk-unchanged-value\n")
            .assert(),
        2,
        "--same",
    );
    assert_eq!(sb.vault_bytes(), before);
    sb.cmd()
        .args(["rotate", "api", "--same"])
        .write_stdin("sk-unchanged-value")
        .assert()
        .success();
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
        let a = fails(sb.cmd().args(&args).assert(), 2, "not shown");
        assert!(!stderr(&a).contains("SECRET"), "{}", stderr(&a));
        assert!(stderr(&a).contains("stdin"));
    }
    // Unknown flags are still named: they are not secrets.
    fails(sb.cmd().args(["list", "--bogus"]).assert(), 2, "--bogus");
}

/// Bare `sesame` printed "error: requires a subcommand".
#[test]
fn bare_sesame_prints_help_and_suggests_init_when_there_is_no_vault() {
    let sb = Sandbox::empty();
    let a = sb.bare().assert().success();
    let err = stderr(&a);
    assert!(!err.contains("error:"), "{err}");
    let all = format!("{}{err}", stdout(&a));
    assert!(all.contains("Usage: sesame"), "{all}");
    assert!(all.contains("sesame init"), "{all}");
}

#[test]
fn show_prints_one_secrets_metadata_never_its_value() {
    let sb = Sandbox::new();
    sb.cmd()
        .args([
            "add",
            "openai/prod",
            "--note",
            "billing account",
            "--rotate-every",
            "90d",
        ])
        .write_stdin("sk-proj-do-not-print")
        .assert()
        .success();
    sb.cmd()
        .args(["profile", "set", "dev", "OPENAI_API_KEY=openai/prod"])
        .assert()
        .success();
    sb.get("openai/prod");
    let a = sb.cmd().args(["show", "openai/prod"]).assert().success();
    let out = stdout(&a);
    for want in ["OPENAI_PROD", "billing account", "90d", "dev", "(1×)"] {
        assert!(out.contains(want), "{want} missing from: {out}");
    }
    assert!(!out.contains("sk-proj"));
    let json = sb
        .cmd()
        .args(["show", "openai/prod", "--json"])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(json["note"], "billing account");
    assert_eq!(json["profiles"][0], "dev");
    assert_eq!(json["use_count"], 1);
    fails(
        sb.cmd().args(["show", "openai/prd"]).assert(),
        5,
        "openai/prod",
    );
}

#[test]
fn list_takes_a_substring_or_a_glob() {
    let sb = Sandbox::new();
    for label in ["aws/prod", "aws/dev", "openai/prod", "github"] {
        sb.add(label, "v");
    }
    let labels = |pattern: &str| -> Vec<String> {
        let a = sb
            .cmd()
            .args(["list", pattern, "--json"])
            .assert()
            .success();
        let json: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
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
    sb.cmd()
        .args(["add", "a", "--env", "DUPX"])
        .write_stdin("1")
        .assert()
        .success();
    let a = sb
        .cmd()
        .args(["add", "b", "--env", "DUPX"])
        .write_stdin("2")
        .assert()
        .success();
    assert!(
        stderr(&a).contains("a already uses the env name DUPX"),
        "{}",
        stderr(&a)
    );
    sb.add("c", "3");
    let a = sb
        .cmd()
        .args(["edit", "c", "--env", "DUPX"])
        .assert()
        .success();
    assert!(
        stderr(&a).contains("a, b already use the env name DUPX"),
        "{}",
        stderr(&a)
    );
}
