//! Passphrase sources: each one, their order, newline handling (one line, never cut short), no
//! source at all, and the sources of a new passphrase at `init`.

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
    let a = no_source(&sb)
        .arg("list")
        .fails_with(2, "no passphrase source");
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
fn passphrase_file_may_end_in_one_newline_or_crlf() {
    let sb = Sandbox::new();
    let file = sb.path("pass.txt");
    for content in [format!("{PASS}\r\n"), format!("{PASS}\n"), PASS.to_string()] {
        write_private(&file, content);
        no_source(&sb)
            .env("SESAME_PASSPHRASE_FILE", &file)
            .arg("list")
            .succeeds();
    }
    write_private(&file, "not it\n");
    no_source(&sb)
        .env("SESAME_PASSPHRASE_FILE", &file)
        .arg("list")
        .fails_with(3, "wrong passphrase");
}

#[test]
fn passphrase_command_output_is_the_passphrase() {
    let sb = Sandbox::new();
    no_source(&sb)
        .env(
            "SESAME_PASSPHRASE_COMMAND",
            format!("printf '%s\\n' '{PASS}'"),
        )
        .arg("list")
        .succeeds();
    no_source(&sb)
        .env("SESAME_PASSPHRASE_COMMAND", "exit 3")
        .arg("list")
        .fails_with(2, "SESAME_PASSPHRASE_COMMAND failed");
}

#[test]
fn a_second_line_in_a_passphrase_source_is_refused_not_cut_off() {
    // Broke: a file, command or variable holding two lines silently set or used only the first,
    // so `SESAME_NEW_PASSPHRASE=$'a\nb' sesame passwd` set the passphrase `a`.
    let sb = Sandbox::new();
    let file = sb.path("pass.txt");
    write_private(&file, format!("{PASS}\nsecond line\n"));
    no_source(&sb)
        .env("SESAME_PASSPHRASE_FILE", &file)
        .arg("list")
        .fails_with(2, "SESAME_PASSPHRASE_FILE holds more than one line");
    no_source(&sb)
        .env(
            "SESAME_PASSPHRASE_COMMAND",
            format!("printf '%s\\nmore\\n' '{PASS}'"),
        )
        .arg("list")
        .fails_with(2, "SESAME_PASSPHRASE_COMMAND holds more than one line");
    no_source(&sb)
        .env("SESAME_PASSPHRASE", format!("{PASS}\n\n"))
        .arg("list")
        .fails_with(2, "SESAME_PASSPHRASE holds more than one line");
    sb.cmd()
        .env("SESAME_NEW_PASSPHRASE", "first\nsecond")
        .arg("passwd")
        .fails_with(2, "SESAME_NEW_PASSPHRASE holds more than one line");
    // Nothing was changed: the old passphrase still opens the vault.
    sb.succeeds(["list"]);
}

#[test]
fn a_lone_trailing_carriage_return_is_part_of_the_passphrase() {
    // Broke: a `\r` at the very end (no `\n` after it) was dropped, so two different passphrases
    // opened the same vault.
    let sb = Sandbox::new();
    sb.cmd()
        .env("SESAME_NEW_PASSPHRASE", "new pass\r")
        .arg("passwd")
        .succeeds();
    no_source(&sb)
        .env("SESAME_PASSPHRASE", "new pass")
        .arg("list")
        .fails_with(3, "wrong passphrase");
    no_source(&sb)
        .env("SESAME_PASSPHRASE", "new pass\r")
        .arg("list")
        .succeeds();
    // The same from a descriptor: `\r` then the end of input, or `\r` then `\r\n`.
    no_source(&sb)
        .args(["--passphrase-fd", "0", "list"])
        .write_stdin("new pass\r")
        .succeeds();
    no_source(&sb)
        .args(["--passphrase-fd", "0", "list"])
        .write_stdin("new pass\r\r\n")
        .succeeds();
}

#[test]
fn passphrase_fd_reads_one_line_from_the_descriptor() {
    let sb = Sandbox::new();
    // Descriptor 0 is the simplest inherited descriptor a test can fill.
    no_source(&sb)
        .args(["--passphrase-fd", "0", "list"])
        .write_stdin(format!("{PASS}\n"))
        .succeeds();
    no_source(&sb)
        .args(["list", "--passphrase-fd", "0"])
        .write_stdin("wrong\n")
        .fails_with(3, "wrong passphrase");
    no_source(&sb)
        .args(["list", "--passphrase-fd", "77"])
        .fails_with(1, "descriptor 77");
}

#[test]
fn sources_are_tried_in_the_documented_order() {
    let sb = Sandbox::new();
    let good = sb.path("good");
    let bad = sb.path("bad");
    write_private(&good, PASS);
    write_private(&bad, "bad");
    // fd beats file, file beats command, command beats the variable.
    sb.with_pass("bad")
        .env("SESAME_PASSPHRASE_FILE", &bad)
        .args(["--passphrase-fd", "0", "list"])
        .write_stdin(PASS)
        .succeeds();
    sb.with_pass("bad")
        .env("SESAME_PASSPHRASE_COMMAND", "echo bad")
        .env("SESAME_PASSPHRASE_FILE", &good)
        .arg("list")
        .succeeds();
    sb.with_pass("bad")
        .env("SESAME_PASSPHRASE_COMMAND", format!("echo '{PASS}'"))
        .arg("list")
        .succeeds();
}

#[test]
fn the_passphrase_never_appears_in_errors() {
    let sb = Sandbox::new();
    let secret_pass = "pa55-that-must-not-leak";
    let a = sb
        .with_pass(secret_pass)
        .args(["get", "nothing"])
        .assert()
        .code(3);
    assert!(!stderr(&a).contains(secret_pass));
}

#[test]
fn a_passphrase_from_a_pipe_descriptor_works_like_ssh_askpass() {
    // Run through a shell so descriptor 3 is a real pipe, as a script would use it.
    let sb = Sandbox::new();
    let bin = sesame_path();
    let mut cmd = command("sh");
    cmd.arg("-c")
        .arg(format!(
            "exec 3<&0; exec '{}' --passphrase-fd 3 list --json </dev/null",
            bin.display()
        ))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SESAME_VAULT", &sb.vault);
    let out = fed(cmd, format!("{PASS}\n"));
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
        .succeeds();
    let env = std::fs::read_to_string(seen).unwrap();
    assert!(
        !env.contains("leak-me") && !env.contains("SESAME_PASSPHRASE_COMMAND"),
        "{env}"
    );
}

/// A weak passphrase was accepted at `init`, `passwd` and `recover`: Argon2 slows each guess
/// but cannot save "password1". Refused with the reason (exit 2) unless `--allow-weak`.
#[test]
fn a_weak_passphrase_is_refused_at_init_passwd_and_recover_unless_allow_weak() {
    let sb = Sandbox::empty();
    let weak = |cmd: &mut assert_cmd::Command| {
        cmd.env("SESAME_PASSPHRASE", "password1");
    };
    let mut init = sb.cmd();
    weak(&mut init);
    let a = init
        .args(["init", "--no-recovery"])
        .fails_with(2, "too easy to guess");
    assert_has(&stderr(&a), "--allow-weak");
    assert!(!stderr(&a).contains("password1"));
    assert!(!sb.vault.exists(), "nothing was created");
    let mut init = sb.cmd();
    weak(&mut init);
    init.args(FAST_KDF).args(["--allow-weak"]).succeeds();

    let sb = Sandbox::new();
    let before = sb.vault_bytes();
    sb.cmd()
        .env("SESAME_NEW_PASSPHRASE", "qwerty123")
        .arg("passwd")
        .fails_with(2, "--allow-weak");
    assert_eq!(sb.vault_bytes(), before);
    sb.cmd()
        .env("SESAME_NEW_PASSPHRASE", "qwerty123")
        .args(["passwd", "--allow-weak"])
        .succeeds();

    let sb = Sandbox::empty();
    let a = sb.cmd().args(FAST_KDF).succeeds();
    let code = String::from_utf8_lossy(&a.get_output().stdout)
        .trim()
        .to_string();
    let recover = |extra: &[&str]| {
        sb.cmd()
            .env_remove("SESAME_PASSPHRASE")
            .env("SESAME_RECOVERY_CODE", &code)
            .env("SESAME_NEW_PASSPHRASE", "letmein")
            .arg("recover")
            .args(extra)
            .assert()
    };
    fails(recover(&[]), 2, "too easy to guess");
    recover(&["--allow-weak"]).success();
}

/// The estimate counts the vault's file name among the words an attacker tries first: a
/// passphrase that only spells it is refused, though it passes for a vault named otherwise.
#[test]
fn a_passphrase_spelling_the_vault_file_name_is_refused() {
    let pass = "Zorbulent-Quaxit";
    let mut sb = Sandbox::empty();
    sb.vault = sb.dir.path().join("data").join("zorbulent-quaxit.sesame");
    let a = sb
        .with_pass(pass)
        .args(["init", "--no-recovery"])
        .fails_with(2, "too easy to guess");
    assert_lacks(&stderr(&a), pass);
    assert!(!sb.vault.exists(), "nothing was created");
    let other = Sandbox::empty();
    other
        .with_pass(pass)
        .args(FAST_KDF)
        .arg("--no-recovery")
        .succeeds();
}

/// Like zxcvbn, the estimate reads only a passphrase's first 100 characters, which bounds its
/// work: 100 repeated letters are refused whatever follows them, and the same letters after a
/// strong start do not weaken it.
#[test]
fn only_the_first_100_characters_of_a_passphrase_are_rated() {
    let padding = "a".repeat(100);
    let sb = Sandbox::empty();
    sb.with_pass(&format!("{padding}{PASS}"))
        .args(["init", "--no-recovery"])
        .fails_with(2, "Repeats like \"aaa\" are easy to guess.");
    let sb = Sandbox::empty();
    sb.with_pass(&format!("{PASS}{padding}"))
        .args(FAST_KDF)
        .arg("--no-recovery")
        .succeeds();
}

/// A passphrase file others can read is a passphrase others can read: warn (it still works).
#[test]
fn a_passphrase_file_readable_by_others_gets_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let file = sb.path("pass.txt");
    write_private(&file, PASS);
    let a = no_source(&sb)
        .env("SESAME_PASSPHRASE_FILE", &file)
        .arg("list")
        .succeeds();
    assert_lacks(&stderr(&a), "warning");
    for (mode, who) in [(0o640, "its group"), (0o644, "every user")] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let a = no_source(&sb)
            .env("SESAME_PASSPHRASE_FILE", &file)
            .arg("list")
            .succeeds();
        let err = stderr(&a);
        assert!(
            err.contains("sesame: warning: SESAME_PASSPHRASE_FILE") && err.contains(who),
            "{err}"
        );
        assert_has(&err, "chmod 600");
    }
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
    assert_lacks(&err, "sesame unlock");
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
