//! `completions`, `man` and the hidden `__complete` the completion scripts call.

use std::path::Path;

use super::harness::*;

/// PATH with the sesame under test first, as an installed sesame would be for a shell.
fn path_with_sesame() -> std::ffi::OsString {
    let bin = assert_cmd::cargo::cargo_bin("sesame");
    let dir = bin.parent().expect("bin folder").to_path_buf();
    let mut dirs = vec![dir];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).expect("PATH")
}

fn on_path(program: &str) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| Path::new(&d).join(program).is_file())
}

#[test]
fn completions_generate_for_every_shell() {
    let sb = Sandbox::empty();
    for (shell, marker) in [
        ("bash", "complete -F _sesame_dynamic"),
        ("zsh", "#compdef sesame"),
        ("fish", "complete -c sesame"),
        ("elvish", "edit:completion:arg-completer[sesame]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let a = sb.bare().args(["completions", shell]).assert().success();
        let script = stdout(&a);
        assert!(script.contains(marker), "{shell}: {marker} missing");
        assert!(script.contains("rotate"), "{shell}: subcommands missing");
        assert!(stderr(&a).is_empty(), "{shell}: {}", stderr(&a));
    }
    fails(sb.bare().args(["completions", "tcsh"]).assert(), 2, "tcsh");
}

#[test]
fn the_bash_completion_script_loads_in_bash() {
    if !on_path("bash") {
        eprintln!("skipped: no bash on PATH");
        return;
    }
    let sb = Sandbox::empty();
    let out = std::process::Command::new("bash")
        .args([
            "-c",
            "source <(sesame completions bash) && complete -p sesame",
        ])
        .env("PATH", path_with_sesame())
        .env("HOME", sb.dir.path())
        .output()
        .expect("bash");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("_sesame_dynamic"), "{text}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What bash offers for `sesame <words> <TAB>`, through the generated script.
fn bash_offers(sb: &Sandbox, words: &str, with_passphrase: bool) -> Vec<String> {
    let script = format!(
        "source <(sesame completions bash) && COMP_WORDS=({words}) && \
         COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)) && \
         _sesame_dynamic sesame \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\" && \
         printf '%s\\n' \"${{COMPREPLY[@]}}\""
    );
    let mut cmd = std::process::Command::new("bash");
    cmd.args(["-c", &script])
        .env_clear()
        .env("PATH", path_with_sesame())
        .env("HOME", sb.dir.path())
        .env("XDG_RUNTIME_DIR", sb.runtime_dir())
        .env("SESAME_VAULT", &sb.vault);
    if with_passphrase {
        cmd.env("SESAME_PASSPHRASE", PASS);
    }
    let out = cmd.output().expect("bash");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// Labels live in the encrypted payload: completion may list them only through a running agent,
/// never by prompting or by reading SESAME_PASSPHRASE (which a shell may well have set).
#[test]
fn completion_lists_labels_only_through_a_running_agent() {
    if !on_path("bash") {
        eprintln!("skipped: no bash on PATH");
        return;
    }
    let sb = Sandbox::new();
    sb.add("openai/prod", "v1");
    sb.add("openai/dev", "v2");
    sb.cmd()
        .args(["profile", "set", "web", "KEY=openai/prod"])
        .assert()
        .success();
    // Locked, with a passphrase variable set: nothing, and no prompt (stdin is not read).
    assert!(bash_offers(&sb, "sesame get ''", true).is_empty());
    let a = sb.cmd().args(["__complete", "labels"]).assert().success();
    assert_eq!(stdout(&a), "");
    sb.cmd()
        .args(["unlock", "--timeout", "1m"])
        .assert()
        .success();
    assert_eq!(
        bash_offers(&sb, "sesame get open", false),
        vec!["openai/dev", "openai/prod"]
    );
    assert_eq!(
        bash_offers(&sb, "sesame --vault \"$SESAME_VAULT\" rotate ''", false),
        vec!["openai/dev", "openai/prod"]
    );
    assert_eq!(
        bash_offers(&sb, "sesame run --profile ''", false),
        vec!["web"]
    );
    // Not a LABEL position: the static completion of flags.
    assert!(bash_offers(&sb, "sesame get openai/prod --", false).contains(&"--version".into()));
}

/// The man page must be valid roff: `man -l -` when installed, else groff with warnings on;
/// with neither, only its structure is checked (and the test says so).
#[test]
fn the_man_page_parses() {
    let sb = Sandbox::empty();
    let a = sb.bare().arg("man").assert().success();
    let page = a.get_output().stdout.clone();
    let text = String::from_utf8_lossy(&page).into_owned();
    assert!(text.contains(".TH sesame 1"), "{text}");
    assert!(text.contains(".SH NAME"));
    assert!(text.contains(".SH SYNOPSIS"));
    assert!(text.contains("completions"));
    let run = |program: &str, args: &[&str]| {
        use std::io::Write;
        let mut child = std::process::Command::new(program)
            .args(args)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        child.stdin.take().unwrap().write_all(&page).unwrap();
        child.wait_with_output().expect("output")
    };
    let out = if on_path("man") {
        run("man", &["-l", "-"])
    } else if on_path("groff") {
        run("groff", &["-man", "-Tutf8", "-ww"])
    } else {
        eprintln!("neither man nor groff is installed: only the roff structure was checked");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "roff warnings: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("sesame"));
}
