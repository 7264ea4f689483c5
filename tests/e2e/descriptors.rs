//! `--passphrase-fd`, `--new-passphrase-fd`, `--recovery-code-fd`: the descriptors are read and
//! closed, no child sesame starts (`run`, `--mask`, `rotate --verify`, the passphrase command,
//! the agent) can read them, and each flag is offered only by the commands that read it.

use std::process::Output;

use super::harness::*;

const NEW_PASS: &str = "the new passphrase, never shared";
const CODE: &str = "recovery-code-never-shared";

/// Runs sesame through `sh` with descriptors 3, 4 and 5 open on files holding the passphrase, a
/// new passphrase and a recovery code, as a script would (`sesame ... 3<pass.txt`), and 6 on a file
/// no flag names; `stdin` is written to sesame's stdin. No passphrase variable is set.
fn with_fds(sb: &Sandbox, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    std::fs::write(sb.path("pass.txt"), format!("{PASS}\n")).unwrap();
    std::fs::write(sb.path("new.txt"), format!("{NEW_PASS}\n")).unwrap();
    std::fs::write(sb.path("code.txt"), format!("{CODE}\n")).unwrap();
    std::fs::write(sb.path("other.txt"), "not a secret\n").unwrap();
    let bin = sesame_path();
    let mut cmd = command("sh");
    cmd.arg("-c")
        .arg(r#"exec "$0" "$@" 3<pass.txt 4<new.txt 5<code.txt 6<other.txt"#)
        .arg(&bin)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sb.dir.path())
        .env("XDG_RUNTIME_DIR", sb.runtime_dir())
        .env("SESAME_VAULT", &sb.vault)
        .current_dir(sb.dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    fed(cmd, stdin)
}

const FD_FLAGS: [&str; 6] = [
    "--passphrase-fd",
    "3",
    "--new-passphrase-fd",
    "4",
    "--recovery-code-fd",
    "5",
];

/// A shell script that prints whatever descriptors 3–5 still hold (reopening them through
/// `/dev/fd` reads a file from its start), then `done`.
const PEEK: &str = "cat /dev/fd/3 /dev/fd/4 /dev/fd/5 2>/dev/null; echo done";

fn assert_nothing_leaked(out: &Output, what: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    for secret in [PASS, NEW_PASS, CODE] {
        assert!(!stdout.contains(secret), "{what} could read {secret:?}");
    }
    assert!(
        stdout.ends_with("done\n"),
        "{what} did not run: {stdout} / {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn passphrase_fd_is_closed_before_run_starts_the_child() {
    // Broke: the descriptors were read but left open, so `run`'s child could `cat /dev/fd/3`
    // and print the passphrase (and the unread new passphrase and recovery code).
    let sb = Sandbox::new();
    sb.add("api/key", "sk-0123456789");
    let mut args = FD_FLAGS.to_vec();
    args.extend(["run", "--env", "K=api/key", "--", "sh", "-c", PEEK]);
    assert_nothing_leaked(&with_fds(&sb, &args, &[], ""), "run's child");
}

#[test]
fn passphrase_fd_is_closed_before_run_mask_starts_the_child() {
    // Broke: as above, through `run --mask` (sesame stays the parent and spawns the child).
    let sb = Sandbox::new();
    sb.add("api/key", "sk-0123456789");
    let mut args = FD_FLAGS.to_vec();
    args.extend([
        "run",
        "--mask",
        "--env",
        "K=api/key",
        "--",
        "sh",
        "-c",
        PEEK,
    ]);
    assert_nothing_leaked(&with_fds(&sb, &args, &[], ""), "run --mask's child");
}

#[test]
fn passphrase_fd_is_closed_before_rotate_verify_runs_its_script() {
    // Broke: the `--verify` script inherited the passphrase descriptor.
    let sb = Sandbox::new();
    sb.add("api/key", "sk-0123456789");
    let mut args = FD_FLAGS.to_vec();
    args.extend(["rotate", "api/key", "--verify", PEEK]);
    let out = with_fds(&sb, &args, &[], "sk-new-value\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_nothing_leaked(&out, "the --verify script");
}

#[test]
fn the_passphrase_command_cannot_read_the_other_descriptors() {
    // Broke: SESAME_PASSPHRASE_COMMAND ran with --new-passphrase-fd and --recovery-code-fd open.
    let sb = Sandbox::new();
    // Descriptor 3 is named by no flag here: only 4 and 5 are sesame's to protect.
    let script =
        format!("{{ cat /dev/fd/4 /dev/fd/5 2>/dev/null; echo done; }} > peek.txt; echo '{PASS}'");
    let args = [
        "--new-passphrase-fd",
        "4",
        "--recovery-code-fd",
        "5",
        "list",
    ];
    let out = with_fds(
        &sb,
        &args,
        &[("SESAME_PASSPHRASE_COMMAND", script.as_str())],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peek = std::fs::read_to_string(sb.path("peek.txt")).unwrap();
    assert_eq!(peek, "done\n", "the passphrase command read a descriptor");
}

#[test]
fn the_agent_keeps_no_inherited_descriptor() {
    // Broke: the agent kept --passphrase-fd (and everything else its starter's shell had open)
    // for its whole life.
    let sb = Sandbox::new();
    let mut args = FD_FLAGS.to_vec();
    args.extend(["unlock", "--timeout", "5m"]);
    let out = with_fds(&sb, &args, &[], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = sb.json(["status", "--json"]);
    let pid = status["agent_pid"].as_u64().expect("an agent");
    let entries = match std::fs::read_dir(format!("/proc/{pid}/fd")) {
        Ok(entries) => entries,
        Err(e) => {
            // A non-dumpable process's /proc/PID/fd is readable by root only.
            eprintln!("skipped: cannot list the agent's descriptors ({e}); needs root");
            return;
        }
    };
    let targets: Vec<String> = entries
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|t| t.display().to_string())
        .collect();
    assert!(!targets.is_empty(), "no descriptors listed");
    for file in ["pass.txt", "new.txt", "code.txt", "other.txt"] {
        assert!(
            !targets.iter().any(|t| t.ends_with(file)),
            "the agent holds {file}: {targets:?}"
        );
    }
}

#[test]
fn one_descriptor_for_two_flags_gives_its_first_line_then_its_second() {
    // Broke: each read reopened /dev/fd/N, which for a file starts again at its top, so
    // `passwd --passphrase-fd 3 --new-passphrase-fd 3` set the new passphrase to the old one.
    let sb = Sandbox::new();
    let both = sb.write_file("both.txt", format!("{PASS}\n{NEW_PASS}\n"));
    let bin = sesame_path();
    let out = command("sh")
        .arg("-c")
        .arg(r#"exec "$0" --passphrase-fd 3 --new-passphrase-fd 3 passwd 3<"$1""#)
        .arg(&bin)
        .arg(&both)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SESAME_VAULT", &sb.vault)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sb.with_pass(NEW_PASS).arg("list").succeeds();
}

#[test]
fn a_descriptor_that_is_not_open_is_reported_when_read() {
    let sb = Sandbox::new();
    let a = sb
        .cmd()
        .env_remove("SESAME_PASSPHRASE")
        .args(["--passphrase-fd", "77", "list"])
        .assert();
    fails(a, 1, "descriptor 77");
    // A command that does not read it does not care.
    sb.succeeds(["--new-passphrase-fd", "77", "list"]);
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
