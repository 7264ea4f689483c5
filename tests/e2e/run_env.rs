//! The environment `run` builds from what teams already have: env files in the dotenv dialects
//! people write, later files overriding earlier ones, names in any case, `--file` paths a child's
//! own children can open, two secrets claiming one name, values too large for the environment,
//! and a command that never started (not logged as a use).

use super::harness::*;

/// `LOG_LEVEL=debug` beside references made the whole run fail.
#[test]
fn env_file_plain_values_pass_through_beside_references() {
    let sb = Sandbox::with_run_secrets();
    let file = sb.write_file(
        ".env",
        "LOG_LEVEL=debug\nAPI=sesame://openai/prod\nGREETING='hello world'\n",
    );
    let a = sb
        .run_env_file_sh(
            &file,
            "printf '%s|%s|%s' \"$LOG_LEVEL\" \"$API\" \"$GREETING\"",
        )
        .success();
    assert_eq!(stdout(&a), "debug|sk-live-0123456789|hello world");
}

/// A second --env-file naming the same variable was an error; `.env` then `.env.local`
/// must let the later file win, and a duplicate within one file keeps the last with a warning.
#[test]
fn later_env_files_override_earlier_ones_and_a_duplicate_in_one_file_warns() {
    let sb = Sandbox::with_run_secrets();
    let (base, local) = (sb.path(".env"), sb.path(".env.local"));
    std::fs::write(&base, "API=sesame://openai/prod\nMODE=base\nKEEP=1\n").unwrap();
    std::fs::write(&local, "API=sesame://gh\nMODE=local\nMODE=local2\n").unwrap();
    let a = sb
        .run_sh(
            &[
                "--env-file",
                base.to_str().unwrap(),
                "--env-file",
                local.to_str().unwrap(),
            ],
            "printf '%s|%s|%s' \"$API\" \"$MODE\" \"$KEEP\"",
        )
        .success();
    assert_eq!(stdout(&a), "ghp_token_abc|local2|1");
    let err = stderr(&a);
    assert!(
        err.contains("warning") && err.contains(".env.local") && err.contains("MODE"),
        "{err}"
    );
    // --env still beats any env file.
    let a = sb
        .run_sh(
            &[
                "--env-file",
                local.to_str().unwrap(),
                "--env",
                "API=openai/prod",
            ],
            "printf %s \"$API\"",
        )
        .success();
    assert_eq!(stdout(&a), "sk-live-0123456789");
}

/// Lower- and mixed-case names were refused by --env, env files and profiles.
#[test]
fn lower_and_mixed_case_env_names_are_accepted_everywhere() {
    let sb = Sandbox::with_run_secrets();
    let file = sb.write_file(".env", "https_proxy=sesame://gh\n");
    sb.succeeds(["profile", "set", "tf", "TF_VAR_db_password=openai/prod"]);
    let a = sb
        .cmd()
        .env("lower_ref", "sesame://gh")
        .args(["run", "--profile", "tf", "--env", "mixed_Name=gh"])
        .args(["--env-file", file.to_str().unwrap()])
        .args(["--", "sh", "-c"])
        .arg("printf '%s|%s|%s|%s' \"$TF_VAR_db_password\" \"$mixed_Name\" \"$https_proxy\" \"$lower_ref\"")
        .succeeds();
    assert_eq!(
        stdout(&a),
        "sk-live-0123456789|ghp_token_abc|ghp_token_abc|ghp_token_abc"
    );
}

/// The dotenv people write (BOM, `export<TAB>`, inline comments, quoted references).
#[test]
fn env_files_accept_bom_export_tab_inline_comments_and_quoted_references() {
    let sb = Sandbox::with_run_secrets();
    let file = sb.write_file(
        ".env",
        "\u{feff}export\tA=sesame://gh # prod\r\nB=\"sesame://openai/prod\"\r\nC='sesame://gh'\n\
         # a comment\nD=plain # note\n",
    );
    let a = sb
        .run_env_file_sh(&file, "printf '%s|%s|%s|%s' \"$A\" \"$B\" \"$C\" \"$D\"")
        .success();
    assert_eq!(
        stdout(&a),
        "ghp_token_abc|sk-live-0123456789|ghp_token_abc|plain"
    );
}

/// An unrelated inherited variable whose value merely starts with `sesame://` stopped
/// every run with an error that did not name it. The rule: a valid label is replaced; anything
/// else is left as it is, with a warning naming the variable.
#[test]
fn an_inherited_value_that_only_starts_like_a_reference_is_left_alone_with_a_warning() {
    let sb = Sandbox::with_run_secrets();
    let a = sb
        .cmd()
        .env("DOC", "sesame://see the wiki")
        .args([
            "run",
            "--env",
            "K=gh",
            "--",
            "sh",
            "-c",
            "printf %s \"$DOC\"",
        ])
        .succeeds();
    assert_eq!(stdout(&a), "sesame://see the wiki");
    let err = stderr(&a);
    assert!(err.contains("warning") && err.contains("DOC"), "{err}");
    assert!(
        !err.contains("see the wiki"),
        "the value is not echoed: {err}"
    );
}

/// A `sesame run` inside another without an agent said only "no passphrase source".
#[test]
fn a_nested_run_without_an_agent_says_the_outer_run_removed_the_passphrase() {
    let sb = Sandbox::with_run_secrets();
    let sesame = sesame_path();
    let a = sb
        .cmd()
        .env("SESAME", &sesame)
        .args(["run", "--env", "K=gh", "--", "sh", "-c"])
        .arg("\"$SESAME\" run --env K=gh -- true")
        .assert()
        .code(2);
    let err = stderr(&a);
    assert!(
        err.contains("inside another `sesame run`") && err.contains("sesame unlock"),
        "{err}"
    );
}

/// `/dev/fd/K` failed for a program's own children (Python's subprocess closes inherited
/// descriptors: ENXIO). `/proc/PID/fd/K` names the descriptor in the command's process, so a
/// grandchild opens it too; with and without --mask.
#[cfg(target_os = "linux")]
#[test]
fn file_path_opens_in_a_python_subprocess_that_closes_inherited_descriptors() {
    let sb = Sandbox::with_run_secrets();
    let script = "import os, subprocess\n\
                  r = subprocess.run(['sh', '-c', 'cat \"$CRED\"'], capture_output=True, text=True)\n\
                  print(r.stdout + '|' + str(r.returncode))\n\
                  print(os.environ['CRED'])";
    for mask in [false, true] {
        let mut cmd = sb.cmd();
        cmd.arg("run");
        if mask {
            cmd.arg("--mask");
        }
        let a = cmd
            .args(["--file", "CRED=gh", "--", "python3", "-c", script])
            .succeeds();
        let text = stdout(&a);
        let expected = if mask {
            "<concealed by sesame>|0"
        } else {
            "ghp_token_abc|0"
        };
        assert!(text.starts_with(expected), "mask {mask}: {text}");
        assert!(text.contains("/proc/"), "mask {mask}: {text}");
    }
}

/// `run --all` with two secrets sharing an env name silently picked one.
#[test]
fn run_all_refuses_two_secrets_claiming_one_env_name() {
    let sb = Sandbox::with_run_secrets();
    for (label, value) in [("dup/one", "1"), ("dup/two", "2")] {
        sb.with_stdin(["add", label, "--env", "DUPX"], value)
            .succeeds();
    }
    let a = sb.fails_with(["run", "--all", "--", "true"], 2, "DUPX");
    let err = stderr(&a);
    assert!(err.contains("dup/one") && err.contains("dup/two"), "{err}");
    // Naming the variable explicitly settles it.
    let a = sb
        .cmd()
        .args(["run", "--all", "--env", "DUPX=dup/two", "--"])
        .args(["sh", "-c", "printf %s \"$DUPX\""])
        .succeeds();
    assert_eq!(stdout(&a), "2");
}

/// A 1 MiB secret made `run --env` fail with "Argument list too long" and exit
/// 126 ("not executable"); and the NUL-byte hint printed a literal `LABEL`.
#[test]
fn a_value_too_large_for_the_environment_names_the_label_and_suggests_file() {
    let sb = Sandbox::with_run_secrets();
    sb.cmd()
        .args(["add", "big"])
        .write_stdin("x".repeat(1024 * 1024 - 1))
        .succeeds();
    for selection in [["--env", "BIG=big"], ["--all", "--clean-env"]] {
        let a = sb
            .cmd()
            .arg("run")
            .args(selection)
            .args(["--", "true"])
            .fails_with(2, "too large");
        assert_has(&stderr(&a), "--file BIG=big");
    }
    sb.with_stdin(["add", "nul", "--raw"], "a\0b").succeeds();
    sb.fails_with(["run", "--env", "N=nul", "--", "true"], 2, "--file N=nul");
}

/// A command that never started (127/126) was logged as a use and counted.
#[test]
fn a_command_that_cannot_start_is_not_logged_as_a_use() {
    let sb = Sandbox::with_run_secrets();
    let script = sb.write_file("not-executable.sh", "#!/bin/sh\n");
    sb.fails_with(
        ["run", "--env", "K=gh", "--", "no-such-program-xyz"],
        127,
        "not found",
    );
    sb.cmd()
        .args(["run", "--mask", "--env", "K=gh", "--"])
        .arg(&script)
        .fails_with(126, "not executable");
    let log = sb.json(["log", "--json"]);
    assert!(
        !log.as_array().unwrap().iter().any(|e| e["action"] == "run"),
        "{log}"
    );
    let gh = sb.secret_json("gh");
    assert_eq!(gh["use_count"], 0, "{gh}");
}

/// `--clean-env` cleared the environment after the `--file` paths were set, so the child got no
/// path (`X=`): the environment is now assembled in one order, the clean start first.
#[test]
fn clean_env_keeps_the_paths_of_file_selections() {
    let sb = Sandbox::new();
    sb.add("api", "sk-clean-file-0001");
    let a = sb
        .cmd()
        .args([
            "run",
            "--clean-env",
            "--file",
            "X=api",
            "--env",
            "Y=api",
            "--",
        ])
        .args(["sh", "-c", "cat \"$X\"; echo; printf '%s' \"$Y\""])
        .succeeds();
    assert_eq!(stdout(&a), "sk-clean-file-0001\nsk-clean-file-0001");
}

#[test]
fn run_strips_the_id_token_request_bearer_and_role_id_from_the_child_unless_selected() {
    // ACTIONS_ID_TOKEN_REQUEST_TOKEN asks GitHub for an ID token for any audience (worth more
    // than BAO_JWT, which was already stripped); BAO_ROLE_ID is half of the AppRole login.
    let sb = Sandbox::with_secrets(&[("ci/bearer", "bearer-from-vault")]);
    let child_env = |extra: &[&str]| {
        let a = sb
            .cmd()
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "bearer-0123")
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                "https://token.example/x?v=1",
            )
            .env("BAO_ROLE_ID", "role-id-0123")
            .arg("run")
            .args(extra)
            .args(["--", "env"])
            .succeeds();
        stdout(&a)
    };
    let out = child_env(&["--all"]);
    assert_lacks(&out, "bearer-0123");
    assert_lacks(&out, "role-id-0123");
    assert_has(
        &out,
        "ACTIONS_ID_TOKEN_REQUEST_URL=https://token.example/x?v=1",
    );
    // Selected on the command line: the child gets it.
    let out = child_env(&["--env", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=ci/bearer"]);
    assert_has(&out, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=bearer-from-vault");
}
