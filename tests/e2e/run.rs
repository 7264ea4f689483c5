//! `sesame run`: which secrets a child gets and under which names, how it is started and exits,
//! and the usage records it leaves. Masking (`--mask`) is in `mask_output` and `mask_terminal`.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use super::harness::*;

#[test]
fn env_flag_puts_the_value_in_the_named_variable() {
    let sb = Sandbox::with_run_secrets();
    let a = sb
        .run_sh(&["--env", "KEY=openai/prod"], "printf %s \"$KEY\"")
        .success();
    assert_eq!(stdout(&a), "sk-live-0123456789");
    // Only what is selected: the other secret is not there.
    let a = sb
        .run_sh(
            &["--env", "KEY=openai/prod"],
            "printf %s \"${GH_TOKEN-unset}\"",
        )
        .success();
    assert_eq!(stdout(&a), "unset");
}

#[test]
fn env_file_lines_select_secrets_and_bad_lines_name_their_number() {
    let sb = Sandbox::with_run_secrets();
    let file = sb.write_file(
        "app.env",
        "# committed to the repo\n\nexport API=sesame://openai/prod\nGH=\"sesame://gh\"\n",
    );
    let a = sb
        .run_env_file_sh(&file, "printf '%s %s' \"$API\" \"$GH\"")
        .success();
    assert_eq!(stdout(&a), "sk-live-0123456789 ghp_token_abc");

    for (content, line, why) in [
        ("# c\nno equals sign\n", 2, "no `=`"),
        ("9lead=sesame://gh\n", 1, "the name must be letters"),
        ("A=sesame://bad label\n", 1, "invalid label"),
    ] {
        std::fs::write(&file, content).unwrap();
        let a = fails(
            sb.run_env_file_sh(&file, "true"),
            2,
            &format!("app.env:{line}:"),
        );
        assert_has(&stderr(&a), why);
    }
}

#[test]
fn inherited_sesame_references_are_replaced() {
    let sb = Sandbox::with_run_secrets();
    let a = sb
        .cmd()
        .env("OPENAI_API_KEY", "sesame://openai/prod")
        .env("NOT_A_REF", "x sesame://gh")
        .args([
            "run",
            "--",
            "sh",
            "-c",
            "printf '%s|%s' \"$OPENAI_API_KEY\" \"$NOT_A_REF\"",
        ])
        .succeeds();
    assert_eq!(stdout(&a), "sk-live-0123456789|x sesame://gh");
    sb.cmd()
        .env("X", "sesame://missing")
        .args(["run", "--", "true"])
        .fails_with(5, "no secret labelled \"missing\"");
}

// Audit 1: an env file (often someone else's, committed to a repository) or an inherited
// reference could set LD_PRELOAD, BASH_ENV, NODE_OPTIONS, PATH and the like, turning a secret into
// a library path, a startup script or options. Only an explicit --env may.
#[test]
fn env_files_and_inherited_references_may_not_set_variables_that_load_code() {
    let sb = Sandbox::with_run_secrets();
    let file = sb.path("app.env");
    for name in [
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "DYLD_INSERT_LIBRARIES",
        "BASH_ENV",
        "ENV",
        "PATH",
        "NODE_OPTIONS",
        "PYTHONSTARTUP",
        "PERL5OPT",
        "GIT_SSH_COMMAND",
        "GIT_CONFIG_VALUE_0",
    ] {
        std::fs::write(&file, format!("OK=sesame://gh\n{name}=sesame://gh\n")).unwrap();
        let a = fails(sb.run_env_file_sh(&file, "true"), 2, "app.env:2:");
        assert!(stderr(&a).contains(&format!("{name} makes programs load or run code")));
    }
    for name in ["BASH_ENV", "NODE_OPTIONS", "PYTHONPATH"] {
        sb.cmd()
            .env(name, "sesame://gh")
            .args(["run", "--", "true"])
            .fails_with(2, &format!("the inherited variable {name}"));
    }
    // The user's own command line may.
    let a = sb
        .run_sh(&["--env", "NODE_OPTIONS=gh"], "printf %s \"$NODE_OPTIONS\"")
        .success();
    assert_eq!(stdout(&a), "ghp_token_abc");
}

// Audit 1: --env-file read anything, without a limit: a symlink to /dev/zero grew to 1 GiB, and a
// FIFO would wait for a writer. Now a regular file (a symlink to one is fine) of at most 1 MiB.
#[test]
fn env_file_must_be_a_regular_file_of_at_most_1_mib() {
    let sb = Sandbox::with_run_secrets();
    let real = sb.write_file("real.env", "GH=sesame://gh\n");
    let link = sb.path("link.env");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let a = sb.run_env_file_sh(&link, "printf %s \"$GH\"").success();
    assert_eq!(stdout(&a), "ghp_token_abc");

    let zero = sb.path("zero.env");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let fifo = sb.path("fifo.env");
    assert!(command("mkfifo").arg(&fifo).status().unwrap().success());
    for path in [zero, fifo, sb.dir.path().to_path_buf()] {
        sb.cmd()
            .args(["run", "--env-file"])
            .arg(&path)
            .args(["--", "true"])
            .timeout(Duration::from_secs(30))
            .fails_with(2, "is not a regular file");
    }

    let big = sb.path("big.env");
    let mut text = "GH=sesame://gh\n".to_string();
    while text.len() <= 1024 * 1024 {
        text.push_str("# a comment line to make the file larger than the limit\n");
    }
    std::fs::write(&big, &text).unwrap();
    fails(sb.run_env_file_sh(&big, "true"), 2, "larger than 1 MiB");
    // Exactly 1 MiB is still fine.
    text.truncate(1024 * 1024 - 1);
    text.push('\n');
    std::fs::write(&big, &text).unwrap();
    sb.run_env_file_sh(&big, "true").success();
}

#[test]
fn profiles_are_saved_in_the_vault_and_selected_by_name() {
    let sb = Sandbox::with_run_secrets();
    sb.succeeds(["profile", "set", "dev", "A=openai/prod", "B=gh"]);
    let a = sb
        .run_sh(&["--profile", "dev"], "printf '%s %s' \"$A\" \"$B\"")
        .success();
    assert_eq!(stdout(&a), "sk-live-0123456789 ghp_token_abc");
    let a = sb.succeeds(["profile", "list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(json[0]["name"], "dev");
    assert_eq!(json[0]["bindings"]["B"], "gh");
    // The profile lives in the encrypted vault, not in a side file.
    assert!(!sb.vault_bytes().windows(3).any(|w| w == b"dev"));

    sb.fails_with(["profile", "set", "x", "A=nope"], 5, "nope");
    sb.fails_with(["profile", "set", "x", "A=gh", "A=gh"], 2, "twice");
    fails(
        sb.run_sh(&["--profile", "prod"], "true"),
        5,
        "no profile named",
    );
    sb.succeeds(["profile", "rm", "dev"]);
    sb.fails_with(["profile", "rm", "dev"], 5, "no profile named");
}

#[test]
fn all_selects_every_secret_under_its_env_name() {
    let sb = Sandbox::with_run_secrets();
    let a = sb
        .run_sh(&["--all"], "printf '%s %s' \"$OPENAI_PROD\" \"$GH_TOKEN\"")
        .success();
    assert_eq!(stdout(&a), "sk-live-0123456789 ghp_token_abc");
}

#[test]
fn stronger_forms_win_when_two_name_the_same_variable() {
    let sb = Sandbox::with_run_secrets();
    // --env beats --all and inherited references.
    let a = sb
        .cmd()
        .env("GH_TOKEN", "sesame://openai/prod")
        .args([
            "run",
            "--all",
            "--env",
            "GH_TOKEN=gh",
            "--",
            "sh",
            "-c",
            "printf %s \"$GH_TOKEN\"",
        ])
        .succeeds();
    assert_eq!(stdout(&a), "ghp_token_abc");
    // An inherited reference beats --all.
    let a = sb
        .cmd()
        .env("GH_TOKEN", "sesame://openai/prod")
        .args(["run", "--all", "--", "sh", "-c", "printf %s \"$GH_TOKEN\""])
        .succeeds();
    assert_eq!(stdout(&a), "sk-live-0123456789");
    // --file beats --env.
    let a = sb
        .run_sh(&["--env", "V=gh", "--file", "V=openai/prod"], "cat \"$V\"")
        .success();
    assert_eq!(stdout(&a), "sk-live-0123456789");
    // The same variable twice in one form is ambiguous.
    fails(
        sb.run_sh(&["--env", "V=gh", "--env", "V=openai/prod"], "true"),
        2,
        "selected twice",
    );
    // A label and a bao:// reference for one variable too, in either order (no server needed:
    // the selection is refused before anything is resolved).
    for pair in [
        ["V=gh", "V=bao://secret/app#k"],
        ["V=bao://secret/app#k", "V=gh"],
    ] {
        fails(
            sb.run_sh(&["--env", pair[0], "--env", pair[1]], "true"),
            2,
            "selected twice",
        );
    }
}

#[test]
fn nothing_selected_and_bad_bindings_exit_2_unknown_labels_exit_5() {
    let sb = Sandbox::with_run_secrets();
    fails(sb.run_sh(&[], "true"), 2, "nothing selected");
    fails(sb.run_sh(&["--env", "KEY"], "true"), 2, "NAME=LABEL");
    fails(
        sb.run_sh(&["--env", "1key=gh"], "true"),
        2,
        "environment variable name",
    );
    fails(
        sb.run_sh(&["--env", "K=openai/prd"], "true"),
        5,
        "did you mean",
    );
    sb.fails_with(["run", "--env", "K=gh"], 2, "required");
}

#[test]
fn the_exit_status_and_signals_are_the_childs() {
    let sb = Sandbox::with_run_secrets();
    sb.run_sh(&["--env", "K=gh"], "exit 42").code(42);
    sb.run_sh(&["--env", "K=gh", "--mask"], "exit 42").code(42);
    // Without --mask sesame *is* the child (exec): it dies of the same signal.
    let out = sb.run_sh(&["--env", "K=gh"], "kill -KILL $$");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.get_output().status.signal(), Some(9));
    // With --mask too (it exited 128+N, so a calling script went on).
    let out = sb.run_sh(&["--env", "K=gh", "--mask"], "kill -KILL $$");
    assert_eq!(out.get_output().status.signal(), Some(9));
}

#[test]
fn without_mask_sesame_execs_so_the_child_keeps_its_pid() {
    let sb = Sandbox::with_run_secrets();
    let mut child = sb
        .process()
        .args(["run", "--env", "K=gh", "--", "sh", "-c", "echo $$"])
        .stdout(Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child.wait().unwrap();
    assert_eq!(out.trim(), pid.to_string());
}

#[test]
fn commands_that_cannot_start_exit_127_or_126() {
    let sb = Sandbox::with_run_secrets();
    let script = sb.write_file("not-executable.sh", "#!/bin/sh\necho hi\n");
    for mask in [false, true] {
        let mut args = vec!["run", "--env", "K=gh"];
        if mask {
            args.push("--mask");
        }
        sb.cmd()
            .args(&args)
            .args(["--", "no-such-command-xyz"])
            .fails_with(127, "command not found");
        sb.cmd()
            .args(&args)
            .arg("--")
            .arg(&script)
            .fails_with(126, "not executable");
    }
}

#[test]
fn a_child_reads_stdin_with_and_without_mask() {
    let sb = Sandbox::with_run_secrets();
    sb.with_stdin(["run", "--env", "K=gh", "--", "cat"], "hello")
        .succeeds()
        .stdout("hello");
    sb.with_stdin(
        ["run", "--mask", "--env", "K=gh", "--", "cat"],
        "echo ghp_token_abc back",
    )
    .succeeds()
    .stdout("echo <concealed by sesame> back");
}

#[cfg(target_os = "linux")]
#[test]
fn file_gives_the_child_an_in_memory_file() {
    let sb = Sandbox::with_run_secrets();
    let a = sb
        .run_sh(
            &["--file", "CRED=openai/prod"],
            "echo \"$CRED\"; cat \"$CRED\"; echo; cat \"$CRED\"; echo; \
         readlink \"$CRED\"; printf x >> \"$CRED\" 2>/dev/null && echo writable || echo sealed",
        )
        .success();
    let out = stdout(&a);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("/proc/") && lines[0].contains("/fd/"),
        "{out}"
    );
    assert_eq!(lines[1], "sk-live-0123456789");
    assert_eq!(lines[2], "sk-live-0123456789", "readable twice");
    assert!(lines[3].starts_with("/memfd:sesame:CRED"), "{out}");
    assert_eq!(lines[4], "sealed");
}

#[test]
fn clean_env_keeps_only_the_basics_and_the_selection() {
    let sb = Sandbox::with_run_secrets();
    let a = sb
        .cmd()
        .env("LANG", "C.UTF-8")
        .env("LEAKY", "should-not-pass")
        .args(["run", "--clean-env", "--env", "K=gh", "--", "env"])
        .succeeds();
    let mut names: Vec<String> = stdout(&a)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(n, _)| n.to_string()))
        .collect();
    names.sort();
    // SESAME_NESTED: sesame removed SESAME_PASSPHRASE, so a nested `sesame run` can say why it
    // finds no passphrase (it holds no secret).
    assert_eq!(names, ["HOME", "K", "LANG", "PATH", "SESAME_NESTED"]);
}

#[test]
fn passphrase_variables_never_reach_the_child() {
    let sb = Sandbox::with_run_secrets();
    let pass_file = sb.write_file("pass", PASS);
    for mask in [false, true] {
        let mut cmd = sb.cmd();
        cmd.env("SESAME_PASSPHRASE_FILE", &pass_file)
            .env("SESAME_NEW_PASSPHRASE", "n")
            .env("SESAME_NEW_PASSPHRASE_FILE", "/x")
            .env("SESAME_RECOVERY_CODE", "c")
            .arg("run");
        if mask {
            cmd.arg("--mask");
        }
        let a = cmd.args(["--env", "K=gh", "--", "env"]).succeeds();
        let env = stdout(&a);
        assert_has(&env, "K=");
        for var in [
            "SESAME_PASSPHRASE",
            "SESAME_NEW_PASSPHRASE",
            "SESAME_RECOVERY_CODE",
        ] {
            assert!(!env.contains(var), "{var} reached the child: {env}");
        }
        assert!(!env.contains(PASS));
    }
}

#[test]
fn runs_are_recorded_with_labels_and_program_name_only() {
    let sb = Sandbox::with_run_secrets();
    sb.run_sh(&["--env", "K=gh"], "true # --token=hunter2")
        .success();
    sb.cmd()
        .args(["run", "--env", "K=gh", "--env", "O=openai/prod", "--"])
        .args(["/usr/bin/env", "true", "--secret-arg"])
        .succeeds();
    let a = sb.succeeds(["log", "--json"]);
    let log: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    let runs: Vec<&serde_json::Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "run")
        .collect();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["program"], "env", "newest first, file name only");
    assert_eq!(runs[0]["labels"], serde_json::json!(["gh", "openai/prod"]));
    assert_eq!(runs[1]["program"], "sh");
    assert!(!a.get_output().stdout.windows(7).any(|w| w == b"hunter2"));
    let log_text = String::from_utf8_lossy(&a.get_output().stdout);
    assert!(!log_text.contains("--secret-arg"));

    let gh = sb.secret_json("gh");
    assert_eq!(gh["use_count"], 2);
    assert!(gh["last_used"].as_str().unwrap().ends_with('Z'));
    // `log LABEL` filters.
    let only = sb.json(["log", "openai/prod", "--json"]);
    assert!(
        only.as_array()
            .unwrap()
            .iter()
            .all(|e| e["labels"].to_string().contains("openai/prod"))
    );
}

#[test]
fn changes_are_recorded_and_the_log_survives_rekey() {
    let sb = Sandbox::with_run_secrets();
    sb.with_stdin(["rotate", "gh"], "new").succeeds();
    sb.succeeds(["edit", "gh", "--rename", "github"]);
    sb.succeeds(["rm", "github"]);
    sb.succeeds(["rekey"]);
    let a = sb.succeeds(["log", "--json"]);
    let log: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["rekey", "rm", "edit", "rotate", "add", "add", "init"]
    );
    assert!(stderr(&a).is_empty(), "{}", stderr(&a));
}

#[test]
fn a_tampered_log_is_reported_and_never_blocks_commands() {
    let sb = Sandbox::with_run_secrets();
    sb.run_sh(&["--env", "K=gh"], "true").success();
    let log = sb.vault.with_file_name("vault.sesame.log");
    let mut bytes = std::fs::read(&log).unwrap();
    // The last byte of the last record's tag (its trailing length follows it).
    let last = bytes.len() - 5;
    bytes[last] ^= 1;
    std::fs::write(&log, &bytes).unwrap();
    let a = sb.succeeds(["log"]);
    assert_has(&stderr(&a), "failed authentication");
    // A log that cannot be written does not stop run.
    std::fs::remove_file(&log).unwrap();
    std::fs::create_dir(&log).unwrap();
    let a = sb.run_sh(&["--env", "K=gh"], "echo ran").success();
    assert_eq!(stdout(&a), "ran\n");
    assert_has(&stderr(&a), "usage log was not written");
}

#[test]
fn a_crash_mid_append_is_repaired_on_the_next_write() {
    let sb = Sandbox::with_run_secrets();
    let log = sb.vault.with_file_name("vault.sesame.log");
    let len = std::fs::metadata(&log).unwrap().len();
    // Half a record, as a crash during append would leave.
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3]);
    std::fs::write(&log, &bytes).unwrap();
    sb.run_sh(&["--env", "K=gh"], "true").success();
    assert!(std::fs::metadata(&log).unwrap().len() > len);
    let a = sb.succeeds(["log", "--json"]);
    assert!(stderr(&a).is_empty(), "{}", stderr(&a));
    std::thread::sleep(Duration::from_millis(1));
}

#[test]
fn profiles_follow_a_rename_and_rm_warns_about_them() {
    let sb = Sandbox::with_run_secrets();
    sb.succeeds(["profile", "set", "dev", "A=gh"]);
    sb.succeeds(["edit", "gh", "--rename", "github"]);
    let a = sb
        .run_sh(&["--profile", "dev"], "printf %s \"$A\"")
        .success();
    assert_eq!(stdout(&a), "ghp_token_abc");
    let a = sb.succeeds(["rm", "github"]);
    assert_has(&stderr(&a), "profile dev still names github");
    fails(
        sb.run_sh(&["--profile", "dev"], "true"),
        5,
        "no secret labelled \"github\"",
    );
}

#[test]
fn an_inherited_reference_in_a_lower_case_variable_is_replaced_too() {
    let sb = Sandbox::with_run_secrets();
    let a = sb
        .cmd()
        .env("my_token", "sesame://gh")
        .args(["run", "--", "sh", "-c", "printf %s \"$my_token\""])
        .succeeds();
    assert_eq!(stdout(&a), "ghp_token_abc");
}

#[test]
fn use_counts_follow_a_rename_and_restart_after_rm() {
    let sb = Sandbox::with_run_secrets();
    sb.run_sh(&["--env", "K=gh"], "true").success();
    sb.get("gh");
    sb.succeeds(["edit", "gh", "--rename", "github"]);
    let count = |sb: &Sandbox, label: &str| {
        sb.list_json()
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["label"] == label)
            .map(|s| s["use_count"].clone())
    };
    assert_eq!(count(&sb, "github"), Some(serde_json::json!(2)));
    sb.succeeds(["rm", "github"]);
    sb.add("github", "new");
    assert_eq!(count(&sb, "github"), Some(serde_json::json!(0)));
}

#[test]
fn run_all_on_thousands_of_labels_logs_one_record() {
    // What broke: a usage record was limited to 64 KiB, so `run --all` past ~2,900 labels warned
    // "the usage log was not written" and the use went unrecorded.
    let sb = Sandbox::new();
    let env = sb.path("many.env");
    let lines: String = (0..4000)
        .map(|i| format!("SERVICE_KEY_{i:04}=value-{i:04}\n"))
        .collect();
    std::fs::write(&env, lines).unwrap();
    sb.cmd().args(["import", "--dotenv"]).arg(&env).succeeds();
    let a = sb.run_sh(&["--all"], "true").success();
    assert!(stderr(&a).is_empty(), "{}", stderr(&a));
    let a = sb.succeeds(["log", "--json"]);
    assert!(stderr(&a).is_empty(), "{}", stderr(&a));
    let log: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(log[0]["action"], "run");
    assert_eq!(log[0]["labels"].as_array().unwrap().len(), 4000);
    // The table names the first few and counts the rest, rather than padding every row to a
    // 100,000-character column.
    let a = sb.succeeds(["log"]);
    let table = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    let run_row = table.lines().find(|l| l.contains(" run ")).unwrap();
    assert_has(run_row, "service-key-0000,service-key-0001,… 3998 more");
    assert!(table.lines().all(|l| l.chars().count() < 200), "{table}");
    let listed = sb.list_json();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["use_count"] == 1),
        "every secret shows its one use"
    );
}
