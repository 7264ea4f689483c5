//! `completions`, `man` and the hidden `__complete` the completion scripts call.

use std::path::Path;

use super::harness::*;

/// PATH with the sesame under test first, as an installed sesame would be for a shell.
fn path_with_sesame() -> std::ffi::OsString {
    let bin = sesame_path();
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
        let a = sb.bare().args(["completions", shell]).succeeds();
        let script = stdout(&a);
        assert!(script.contains(marker), "{shell}: {marker} missing");
        assert!(script.contains("rotate"), "{shell}: subcommands missing");
        assert!(stderr(&a).is_empty(), "{shell}: {}", stderr(&a));
    }
    sb.bare()
        .args(["completions", "tcsh"])
        .fails_with(2, "tcsh");
}

#[test]
fn the_bash_completion_script_loads_in_bash() {
    if !on_path("bash") {
        eprintln!("skipped: no bash on PATH");
        return;
    }
    let sb = Sandbox::empty();
    let out = command("bash")
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
    assert_has(&text, "_sesame_dynamic");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What bash offers for `sesame <words> <TAB>`, through the generated script.
fn bash_offers(sb: &Sandbox, words: &str, with_passphrase: bool) -> Vec<String> {
    bash_completes(sb, words, with_passphrase, "")
}

/// Runs `_sesame_dynamic` for COMP_WORDS=(`words`) after the shell code `before`, and returns
/// the lines printed, then what is offered.
fn bash_completes(sb: &Sandbox, words: &str, with_passphrase: bool, before: &str) -> Vec<String> {
    let script = format!(
        "source <(sesame completions bash) && {before} COMP_WORDS=({words}) && \
         COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)) && \
         _sesame_dynamic sesame \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\" && \
         printf '%s\\n' \"${{COMPREPLY[@]}}\""
    );
    let mut cmd = command("bash");
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
    let sb = Sandbox::with_secrets(&[("openai/prod", "v1"), ("openai/dev", "v2")]);
    sb.succeeds(["profile", "set", "web", "KEY=openai/prod"]);
    // Locked, with a passphrase variable set: nothing, and no prompt (stdin is not read).
    assert!(bash_offers(&sb, "sesame get ''", true).is_empty());
    let a = sb.succeeds(["__complete", "labels"]);
    assert_eq!(stdout(&a), "");
    sb.succeeds(["unlock", "--timeout", "1m"]);
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
    let a = sb.bare().arg("man").succeeds();
    let page = a.get_output().stdout.clone();
    let text = String::from_utf8_lossy(&page).into_owned();
    assert_has(&text, ".TH sesame 1");
    assert!(text.contains(".SH NAME"));
    assert!(text.contains(".SH SYNOPSIS"));
    assert!(text.contains("completions"));
    let run = |program: &str, args: &[&str]| {
        use std::io::Write;
        let mut child = command(program)
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

/// `sesame <TAB>` offered `__agent`, `__complete` and the fd flags of other commands: the
/// scripts list only what `--help` shows.
#[test]
fn completion_hides_internal_commands_and_flags() {
    let sb = Sandbox::empty();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout(&sb.bare().args(["completions", shell]).succeeds());
        // The bash and zsh scripts' own functions call `sesame __complete`; nothing else may
        // name an internal command.
        let offered: String = script
            .lines()
            .filter(|l| !l.contains("sesame __complete") && !l.contains("\"$1\" 2>/dev/null"))
            .collect::<String>()
            // The slot kind `ssh-agent` is a command like any other (`slot add ssh-agent`).
            .replace("ssh__subcmd__agent", "")
            .replace("ssh-agent", "");
        assert!(!offered.contains("__agent"), "{shell}");
        assert!(!offered.contains("__complete"), "{shell}");
    }
    if !on_path("bash") {
        eprintln!("skipped: no bash on PATH");
        return;
    }
    let top = bash_offers(&sb, "sesame ''", false);
    assert!(top.contains(&"get".to_string()), "{top:?}");
    for internal in [
        "__agent",
        "__complete",
        "--new-passphrase-fd",
        "--recovery-code-fd",
    ] {
        assert!(!top.contains(&internal.to_string()), "{internal}: {top:?}");
    }
    let get = bash_offers(&sb, "sesame get --", false);
    assert!(!get.contains(&"--new-passphrase-fd".to_string()), "{get:?}");
    // Where the flag is read, it is still offered.
    let passwd = bash_offers(&sb, "sesame passwd --", false);
    assert!(
        passwd.contains(&"--new-passphrase-fd".to_string()),
        "{passwd:?}"
    );
}

/// [`bash_offers`] with `compopt` recorded: `compopt ARGS` lines first, then what is offered.
fn bash_completion_trace(sb: &Sandbox, words: &str) -> Vec<String> {
    bash_completes(
        sb,
        words,
        false,
        "compopt() { printf 'compopt %s\\n' \"$*\"; } &&",
    )
}

/// With the vault locked, `get <TAB>` offered file names (bash's fallback); `--env NAME=<TAB>`
/// offered no labels. Now: no file fallback where a label goes, and labels after `NAME=`.
#[test]
fn completion_offers_labels_after_env_name_and_no_files_for_a_label() {
    if !on_path("bash") {
        eprintln!("skipped: no bash on PATH");
        return;
    }
    let sb = Sandbox::with_secrets(&[("openai/prod", "v1"), ("github/ci", "v2")]);
    std::fs::write(sb.path("a-file-in-the-folder"), "").unwrap();
    let no_files = "compopt +o default +o bashdefault".to_string();
    // Locked: nothing at all, and bash told not to fall back to file names.
    assert_eq!(
        bash_completion_trace(&sb, "sesame get ''"),
        vec![no_files.clone()]
    );
    assert_eq!(
        bash_completion_trace(&sb, "sesame run --env KEY ="),
        vec![no_files.clone()]
    );
    sb.succeeds(["unlock", "--timeout", "1m"]);
    // bash splits `KEY=op` into `KEY`, `=`, `op`: right after the `=`, and within the label.
    assert_eq!(
        bash_completion_trace(&sb, "sesame run --env KEY ="),
        vec![no_files.clone(), "github/ci".into(), "openai/prod".into()]
    );
    assert_eq!(
        bash_completion_trace(&sb, "sesame run --file KEY = op"),
        vec![no_files.clone(), "openai/prod".into()]
    );
    assert_eq!(
        bash_completion_trace(&sb, "sesame rotate git"),
        vec![no_files, "github/ci".into()]
    );
    for shell in ["zsh", "fish"] {
        let script = stdout(&sb.bare().args(["completions", shell]).succeeds());
        assert!(script.contains("__complete labels"), "{shell}");
        assert!(
            script.contains("--env") || script.contains("-l env"),
            "{shell}"
        );
    }
}

/// The man page had no per-command flags (`--rotate-every`, `--kdf-target`, `--clean-env`
/// appeared nowhere): it now details every command with every flag it takes.
#[test]
fn the_man_page_lists_every_command_with_its_flags() {
    let sb = Sandbox::empty();
    let page = stdout(&sb.bare().arg("man").succeeds());
    let help = stdout(&sb.bare().arg("--help").succeeds());
    assert_has(&page, ".SH \"COMMAND DETAILS\"");
    for flag in [
        "rotate\\-every",
        "kdf\\-target",
        "clean\\-env",
        "mask",
        "env\\-file",
    ] {
        assert!(
            page.contains(&format!("\\fB\\-\\-{flag}")),
            "--{flag} missing"
        );
    }
    // Every command of `--help` has its section.
    let commands = help
        .split("Commands:")
        .nth(1)
        .expect("command list")
        .split("\n\n")
        .next()
        .expect("commands");
    let names = commands
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "));
    for line in names {
        let name = line.split_whitespace().next().expect("name");
        if name == "help" {
            continue;
        }
        // roff writes a hyphen as `\-` (git-credential).
        let roff = name.replace('-', "\\-");
        assert!(page.contains(&format!(".SS \"sesame {roff}\"")), "{name}");
    }
    assert!(!page.contains("__agent") && !page.contains("__complete"));
}

/// The README's install lines failed on a fresh HOME (no completion folder) and `man sesame`
/// found nothing unless `~/.local/share/man` was on MANPATH. They are run here as written, with
/// the folder `cargo install` uses (`~/.cargo/bin`) on PATH, as after the README's install.
#[test]
fn the_readme_man_and_completion_lines_work_on_a_fresh_home() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let lines: Vec<&str> = readme
        .lines()
        .filter(|l| l.contains("sesame man >") || l.contains("sesame completions bash >"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let sb = Sandbox::empty();
    let home = sb.path("home");
    let cargo_bin = home.join(".cargo/bin");
    std::fs::create_dir_all(&cargo_bin).unwrap();
    std::os::unix::fs::symlink(sesame_path(), cargo_bin.join("sesame")).unwrap();
    let path = std::env::join_paths(std::iter::once(cargo_bin.clone()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let run = |line: &str| {
        command("sh")
            .args(["-c", line])
            .env_clear()
            .env("PATH", &path)
            .env("HOME", &home)
            .current_dir(&home)
            .output()
            .expect("sh")
    };
    for line in &lines {
        let line = line.split("   #").next().unwrap_or(line);
        let out = run(line);
        assert!(
            out.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        home.join(".local/share/bash-completion/completions/sesame")
            .is_file()
    );
    if !on_path("man") {
        eprintln!("skipped: `man sesame` (man is not installed)");
        return;
    }
    let out = run("man -w sesame");
    assert!(
        out.status.success(),
        "man -w sesame: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(home.to_str().unwrap()),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
