//! What every command prints on stdout, and how: a reader that goes away early ends the output
//! quietly, and names from outside (program and file names) reach the terminal escaped.

use std::process::Stdio;

use super::harness::*;

/// Runs `sesame ARGS` with stdout a pipe whose reading end is already closed, as in
/// `sesame list | head -c1` once `head` has exited: every write meets EPIPE.
fn with_reader_gone(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    let (reader, writer) = rustix::pipe::pipe().expect("pipe");
    drop(reader);
    sb.process()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("sesame runs")
}

#[test]
fn every_command_exits_quietly_with_its_own_code_when_stdout_is_closed() {
    // `println!` panicked on EPIPE (exit 101, a backtrace hint on stderr) in list, log,
    // history, status, backups, slot list, scan, verify and check.
    let sb = Sandbox::new();
    for i in 0..30 {
        sb.add(
            &format!("svc/key-{i:02}"),
            &format!("value-number-{i:02}-0123456789"),
        );
    }
    sb.with_stdin(["rotate", "svc/key-00"], "a-new-value-0123456789")
        .succeeds();
    std::fs::create_dir_all(sb.path("tree")).unwrap();
    std::fs::write(sb.path("tree/a.txt"), "value-number-07-0123456789\n").unwrap();
    let cases: &[(&[&str], i32)] = &[
        (&["list"], 0),
        (&["list", "--json"], 0),
        (&["log"], 0),
        (&["log", "--json"], 0),
        (&["history", "svc/key-00"], 0),
        (&["history", "svc/key-00", "--json"], 0),
        (&["show", "svc/key-00"], 0),
        (&["get", "svc/key-00"], 0),
        (&["status"], 0),
        (&["status", "--json"], 0),
        (&["backups"], 0),
        (&["backups", "--json"], 0),
        (&["slot", "list"], 0),
        (&["scan", "tree"], 11),
        (&["scan", "tree", "--json"], 11),
        (&["verify"], 0),
        (&["verify", "--json"], 0),
        (&["check", "--json"], 0),
        (&["profile", "list", "--json"], 0),
    ];
    for (args, code) in cases {
        let out = with_reader_gone(&sb, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "sesame {args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe") && !err.contains("error"),
            "sesame {args:?}: {err}"
        );
    }
}

#[test]
fn log_escapes_control_characters_in_program_names() {
    // A program whose name holds a newline forged a whole event line in `log`; an escape
    // sequence in it reached the terminal.
    let sb = Sandbox::new();
    sb.add("svc", "value-0123456789abcdef");
    let name = "tru\u{1b}[2Je\n2026-01-01 00:00  get  svc  forged";
    let program = sb.path(name);
    std::os::unix::fs::symlink("/bin/true", &program).unwrap();
    sb.cmd()
        .args(["run", "--env", "SVC=svc", "--"])
        .arg(&program)
        .succeeds();
    let a = sb.succeeds(["log"]);
    let out = stdout(&a);
    assert_lacks(&out, "\u{1b}");
    assert_eq!(out.lines().count(), 4, "a header, add, run, init:\n{out}");
    assert_has(&out, "tru\\x1b[2Je\\n2026-01-01 00:00  get  svc  forged");
}

#[test]
fn import_and_export_escape_control_characters_in_file_names() {
    // A newline in the vault's path started a line of its own in `export`'s env file (a
    // variable the next `run --env-file` would set); an import file's name reached stderr raw.
    let sb = Sandbox::empty();
    let folder = sb.path("data\nLD_PRELOAD=/tmp/evil.so #");
    let vault = folder.join("vault.sesame");
    let cmd = || {
        let mut cmd = sb.bare();
        cmd.env("SESAME_VAULT", &vault)
            .env("SESAME_PASSPHRASE", PASS);
        cmd
    };
    cmd().args(FAST_KDF).arg("--no-recovery").succeeds();
    let env_file = sb.write_file(
        "app\u{1b}]0;pwned\u{7}.env",
        "API_KEY=value-0123456789abcdef\n",
    );
    let a = cmd().args(["import", "--dotenv"]).arg(&env_file).succeeds();
    let err = stderr(&a);
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err}");
    assert_has(&err, "app\\x1b]0;pwned\\x07.env");
    let a = cmd().args(["export", "--dotenv"]).succeeds();
    let out = stdout(&a);
    for line in out.lines() {
        assert!(
            line.starts_with('#') || line.starts_with("API_KEY=sesame://"),
            "a forged line: {line:?}"
        );
    }
    // The header names the vault's file, not its folder (nor the forged text in it).
    assert_has(&out, "(from vault.sesame)");
    assert_lacks(&out, "LD_PRELOAD");
}
