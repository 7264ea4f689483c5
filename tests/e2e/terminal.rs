//! What sesame does on a terminal: the status line while Argon2 runs, colours, and (later) the
//! prompts. Each test runs sesame on a pseudo-terminal through util-linux `script`, with its
//! input fed through a pipe; without `script` the tests say so and pass.

use std::io::{Read, Write};
use std::process::Stdio;

use super::harness::*;

/// Runs the shell command `line` (`$SESAME` is the binary under test) on a pseudo-terminal,
/// writes `input` to it, and returns everything the terminal showed. `None` without `script`.
fn on_terminal(sb: &Sandbox, line: &str, input: &str, env: &[(&str, &str)]) -> Option<String> {
    if script_missing() {
        return None;
    }
    Some(typed_into(terminal(sb, line, env), input))
}

/// [`on_terminal`] for `line` followed by `echo "exit=$?"`, which shows its exit code.
fn exit_on_terminal(sb: &Sandbox, line: &str, input: &str) -> Option<String> {
    on_terminal(sb, &format!("{line}; echo \"exit=$?\""), input, &[])
}

/// `script` running the shell command `line` on a pseudo-terminal, its three streams piped.
fn terminal(sb: &Sandbox, line: &str, env: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = sb.on_pty_asking(line);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

#[test]
fn ctrl_c_at_a_passphrase_prompt_gives_the_terminal_back_with_echo_on() {
    if script_missing() {
        return;
    }
    let sb = Sandbox::new();
    let line = "\"$SESAME\" list; echo \"exit=$?\"; stty -a";
    let mut child = terminal(&sb, line, &[])
        .stderr(Stdio::piped())
        .spawn()
        .expect("script");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    // Ctrl-C once the prompt shows (before it, the terminal itself would deliver the signal).
    let mut shown = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&shown).contains("Passphrase for") {
        let n = stdout.read(&mut chunk).expect("read");
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&shown));
        shown.extend_from_slice(&chunk[..n]);
    }
    stdin.write_all(b"\x03").expect("Ctrl-C");
    drop(stdin);
    stdout.read_to_end(&mut shown).expect("read");
    let _ = child.wait();
    let shown = String::from_utf8_lossy(&shown).into_owned();
    assert_has(&shown, "exit=130");
    let modes: Vec<&str> = shown
        .split(|c: char| c.is_whitespace() || c == ';')
        .collect();
    assert!(
        modes.contains(&"echo") && !modes.contains(&"-echo"),
        "the terminal was left without echo: {shown:?}"
    );
}

/// Argon2 takes about a second at the defaults: on a terminal, say so while it runs, then erase
/// the line so it does not stay in the scrollback.
#[test]
fn the_unlock_status_line_shows_on_a_terminal_and_is_erased() {
    let sb = Sandbox::new();
    sb.add("api", "sk-status-line");
    let pass = [("SESAME_PASSPHRASE", PASS)];
    let Some(shown) = on_terminal(&sb, "\"$SESAME\" get api", "", &pass) else {
        return;
    };
    assert_has(
        &shown,
        "unlocking vault.sesame (Argon2id, 8 MiB, 1 pass)\u{2026}\r\x1b[2K",
    );
    assert_has(&shown, "sk-status-line");
    // Not on a pipe: no status, no control characters.
    let a = sb.succeeds(["get", "api"]);
    assert_eq!(stderr(&a), "");
}

/// Colours only when stdout is a terminal, never with NO_COLOR, never into a pipe.
#[test]
fn tables_are_coloured_only_on_a_terminal_without_no_color() {
    let sb = Sandbox::new();
    sb.add("api", "v");
    let pass = ("SESAME_PASSPHRASE", PASS);
    let Some(shown) = on_terminal(&sb, "\"$SESAME\" list", "", &[pass]) else {
        return;
    };
    assert_has(&shown, "\x1b[1mLABEL\x1b[0m");
    let plain = on_terminal(
        &sb,
        "\"$SESAME\" list 2>/dev/null",
        "",
        &[pass, ("NO_COLOR", "1")],
    )
    .unwrap_or_default();
    assert!(
        !plain.contains('\x1b') && plain.contains("LABEL"),
        "{plain:?}"
    );
    let piped =
        on_terminal(&sb, "\"$SESAME\" list 2>/dev/null | cat", "", &[pass]).unwrap_or_default();
    assert!(
        !piped.contains('\x1b') && piped.contains("LABEL"),
        "{piped:?}"
    );
}

/// A typo in the passphrase at the prompt cost the whole command, and with `echo v | sesame add`
/// the value piped in with it. Now the prompt asks again (3 tries, like sudo); the value, read
/// from stdin once, is stored.
#[test]
fn a_wrong_passphrase_at_the_prompt_is_asked_again_and_the_piped_value_is_kept() {
    let sb = Sandbox::new();
    let Some(shown) = exit_on_terminal(
        &sb,
        "echo piped-value | \"$SESAME\" add api",
        &format!("wrong guess\n{PASS}\n"),
    ) else {
        return;
    };
    assert_count(&shown, "Wrong passphrase; try again.", 1);
    assert_has(&shown, "exit=0");
    assert_eq!(sb.get("api"), "piped-value\n");
}

#[test]
fn three_wrong_passphrases_at_the_prompt_exit_3() {
    let sb = Sandbox::new();
    let Some(shown) = exit_on_terminal(&sb, "\"$SESAME\" list", "one\ntwo\nthree\n") else {
        return;
    };
    assert_count(&shown, "Wrong passphrase; try again.", 2);
    assert_has(&shown, "sesame: error: wrong passphrase");
    assert_has(&shown, "exit=3");
}

/// A passphrase from a variable or file is never asked again: the same source gives the same
/// answer, and a script must fail fast.
#[test]
fn a_wrong_passphrase_from_a_variable_is_not_asked_again() {
    let sb = Sandbox::new();
    let Some(shown) = on_terminal(
        &sb,
        "\"$SESAME\" list; echo \"exit=$?\"",
        "",
        &[("SESAME_PASSPHRASE", "not the passphrase")],
    ) else {
        return;
    };
    assert_lacks(&shown, "Wrong passphrase; try again.");
    assert_lacks(&shown, "Passphrase for");
    assert_has(&shown, "exit=3");
}

/// A mismatched repeat at `init` ended the command; now it asks for both again.
#[test]
fn a_mismatched_repeat_at_init_asks_again() {
    let sb = Sandbox::empty();
    let Some(shown) = exit_on_terminal(
        &sb,
        "\"$SESAME\" init --kdf-memory 8MiB --kdf-iterations 1 --no-recovery",
        &format!("{PASS}\n{PASS} typo\n{PASS}\n{PASS}\n"),
    ) else {
        return;
    };
    assert_has(&shown, "The two passphrases differ; try again.");
    assert_has(&shown, "exit=0");
    sb.succeeds(["list"]);
}

/// A recovery code typed at the prompt with a typo, or the code of another vault, is asked
/// again (3 tries, as a passphrase is); the right one then sets the new passphrase.
#[test]
fn a_mistyped_or_wrong_recovery_code_at_the_prompt_is_asked_again() {
    let code_of = |sb: &Sandbox| {
        let a = sb.cmd().args(FAST_KDF).succeeds();
        String::from_utf8_lossy(&a.get_output().stdout)
            .trim()
            .to_string()
    };
    let sb = Sandbox::empty();
    let code = code_of(&sb);
    let other = code_of(&Sandbox::empty());
    sb.add("api", "sk-recovered");
    let new = "a brand new passphrase for the recovered vault";
    let Some(shown) = exit_on_terminal(
        &sb,
        "\"$SESAME\" recover",
        &format!("ABCD-EFGH\n{other}\n{code}\n{new}\n{new}\n"),
    ) else {
        return;
    };
    assert_has(&shown, "A recovery code has 28 characters");
    assert_has(&shown, "Wrong recovery code for");
    assert_count(&shown, "; try again.", 2);
    assert_has(&shown, "exit=0");
    let a = sb.with_pass(new).args(["get", "api"]).succeeds();
    assert_eq!(stdout(&a), "sk-recovered\n");
}

/// `restore` asked "The current one is kept" when there was no current vault to keep.
#[test]
fn restore_promises_to_keep_the_vault_only_when_there_is_one() {
    let sb = Sandbox::new();
    sb.add("api", "v1");
    sb.succeeds(["backup"]);
    let copy = std::fs::read_dir(sb.dir.path().join("data/backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file())
        .expect("a manual copy");
    let line = format!("\"$SESAME\" restore '{}'", copy.display());
    let pass = [("SESAME_PASSPHRASE", PASS)];
    let Some(shown) = on_terminal(&sb, &line, "n\n", &pass) else {
        return;
    };
    assert_has(
        &shown,
        "Replace the vault with this copy? The current one is kept. [y/N]",
    );
    std::fs::remove_file(&sb.vault).unwrap();
    let shown = on_terminal(&sb, &line, "n\n", &pass).expect("script");
    assert_has(&shown, "is missing or damaged");
    assert_has(&shown, "Replace the vault with this copy? [y/N]");
    assert_lacks(&shown, "kept");
}

/// `init` asked for the passphrase twice, then refused a weak one and exited 2: now the first
/// entry is judged at once and asked again (3 tries), before the repeat is asked for.
#[test]
fn init_judges_the_passphrase_before_asking_for_the_repeat() {
    let sb = Sandbox::empty();
    let init = "\"$SESAME\" init --no-recovery --kdf-memory 8MiB --kdf-iterations 1 \
                --kdf-parallelism 1; echo \"exit=$?\"";
    let Some(shown) = on_terminal(&sb, init, &format!("password1\n{PASS}\n{PASS}\n"), &[]) else {
        return;
    };
    assert_count(&shown, "too easy to guess", 1);
    assert_has(&shown, "Choose another passphrase.");
    assert_count(&shown, "Repeat the passphrase:", 1);
    assert_has(&shown, "exit=0");
    assert_eq!(sb.labels(), Vec::<String>::new());

    // Three weak ones: exit 2, never asked to repeat one, nothing created.
    let sb = Sandbox::empty();
    let shown = on_terminal(&sb, init, "password1\nqwerty123\nsesame\n", &[]).expect("script");
    assert_count(&shown, "too easy to guess", 3);
    assert_lacks(&shown, "Repeat");
    assert_has(&shown, "exit=2");
    assert!(!sb.vault.exists());
}
