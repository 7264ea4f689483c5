//! Passphrase sources: each one, their order, newline handling, and no source at all.

use std::io::Write;
use std::process::Stdio;

use super::harness::*;

/// A sandbox whose command has no passphrase source in its environment.
fn no_source(sb: &Sandbox) -> assert_cmd::Command {
    let mut cmd = sb.cmd();
    cmd.env_remove("SESAME_PASSPHRASE");
    cmd
}

#[test]
fn no_source_and_no_terminal_exits_2_naming_the_sources() {
    let sb = Sandbox::new();
    let a = fails(
        no_source(&sb).arg("list").assert(),
        2,
        "no passphrase source",
    );
    let err = stderr(&a);
    for source in [
        "--passphrase-fd",
        "SESAME_PASSPHRASE_FILE",
        "SESAME_PASSPHRASE_COMMAND",
        "SESAME_PASSPHRASE",
    ] {
        assert!(err.contains(source), "{source} missing from: {err}");
    }
}

#[test]
fn passphrase_file_takes_its_first_line_without_crlf() {
    let sb = Sandbox::new();
    let file = sb.path("pass.txt");
    std::fs::write(&file, format!("{PASS}\r\nsecond line\n")).unwrap();
    no_source(&sb)
        .env("SESAME_PASSPHRASE_FILE", &file)
        .arg("list")
        .assert()
        .success();
    std::fs::write(&file, "not it\n").unwrap();
    fails(
        no_source(&sb)
            .env("SESAME_PASSPHRASE_FILE", &file)
            .arg("list")
            .assert(),
        3,
        "wrong passphrase",
    );
}

#[test]
fn passphrase_command_takes_the_first_line_of_its_output() {
    let sb = Sandbox::new();
    no_source(&sb)
        .env(
            "SESAME_PASSPHRASE_COMMAND",
            format!("printf '%s\\nmore\\n' '{PASS}'"),
        )
        .arg("list")
        .assert()
        .success();
    fails(
        no_source(&sb)
            .env("SESAME_PASSPHRASE_COMMAND", "exit 3")
            .arg("list")
            .assert(),
        2,
        "SESAME_PASSPHRASE_COMMAND failed",
    );
}

#[test]
fn passphrase_fd_reads_one_line_from_the_descriptor() {
    let sb = Sandbox::new();
    // Descriptor 0 is the simplest inherited descriptor a test can fill.
    no_source(&sb)
        .args(["--passphrase-fd", "0", "list"])
        .write_stdin(format!("{PASS}\n"))
        .assert()
        .success();
    fails(
        no_source(&sb)
            .args(["list", "--passphrase-fd", "0"])
            .write_stdin("wrong\n")
            .assert(),
        3,
        "wrong passphrase",
    );
    fails(
        no_source(&sb)
            .args(["list", "--passphrase-fd", "77"])
            .assert(),
        1,
        "descriptor 77",
    );
}

#[test]
fn sources_are_tried_in_the_documented_order() {
    let sb = Sandbox::new();
    let good = sb.path("good");
    let bad = sb.path("bad");
    std::fs::write(&good, PASS).unwrap();
    std::fs::write(&bad, "bad").unwrap();
    // fd beats file, file beats command, command beats the variable.
    sb.cmd()
        .env("SESAME_PASSPHRASE", "bad")
        .env("SESAME_PASSPHRASE_FILE", &bad)
        .args(["--passphrase-fd", "0", "list"])
        .write_stdin(PASS)
        .assert()
        .success();
    sb.cmd()
        .env("SESAME_PASSPHRASE", "bad")
        .env("SESAME_PASSPHRASE_COMMAND", "echo bad")
        .env("SESAME_PASSPHRASE_FILE", &good)
        .arg("list")
        .assert()
        .success();
    sb.cmd()
        .env("SESAME_PASSPHRASE", "bad")
        .env("SESAME_PASSPHRASE_COMMAND", format!("echo '{PASS}'"))
        .arg("list")
        .assert()
        .success();
}

#[test]
fn the_passphrase_never_appears_in_errors() {
    let sb = Sandbox::new();
    let secret_pass = "pa55-that-must-not-leak";
    let a = sb
        .cmd()
        .env("SESAME_PASSPHRASE", secret_pass)
        .args(["get", "nothing"])
        .assert()
        .code(3);
    assert!(!stderr(&a).contains(secret_pass));
}

#[test]
fn a_passphrase_from_a_pipe_descriptor_works_like_ssh_askpass() {
    // Run through a shell so descriptor 3 is a real pipe, as a script would use it.
    let sb = Sandbox::new();
    let bin = assert_cmd::cargo::cargo_bin("sesame");
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec 3<&0; exec '{}' --passphrase-fd 3 list --json </dev/null",
            bin.display()
        ))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SESAME_VAULT", &sb.vault)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASS}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
}

#[test]
fn the_passphrase_command_does_not_see_sesame_secret_variables() {
    let sb = Sandbox::new();
    let seen = sb.path("seen");
    no_source(&sb)
        .env("SESAME_NEW_PASSPHRASE", "leak-me")
        .env("SESAME_RECOVERY_CODE", "leak-me-too")
        .env(
            "SESAME_PASSPHRASE_COMMAND",
            format!("env > '{}'; echo '{PASS}'", seen.display()),
        )
        .arg("list")
        .assert()
        .success();
    let env = std::fs::read_to_string(seen).unwrap();
    assert!(
        !env.contains("leak-me") && !env.contains("SESAME_PASSPHRASE_COMMAND"),
        "{env}"
    );
}
