//! scan: stored values found in files, git history and shell history — where and which label,
//! never the value; exit 0 when nothing is found, 11 when something is.

use std::path::Path;

use assert_cmd::assert::Assert;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::harness::*;

const OPENAI: &str = "sk-proj-Abc123Def456Ghi789Jkl0";
/// Needs JSON and URL escaping: a quote, a slash, a space, an `@`.
const DB: &str = "p@ss w/rd\"quoted\"!";
const STRIPE: &str = "rk_live_51HbQ9vZ0123456789";

fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

fn git(dir: &Path, args: &[&str]) {
    let status = command("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env("HOME", dir)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn scan(sb: &Sandbox, args: &[&str]) -> Assert {
    sb.cmd().arg("scan").args(args).assert()
}

fn findings(a: &Assert) -> Vec<serde_json::Value> {
    serde_json::from_slice::<serde_json::Value>(&a.get_output().stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Every form of every value must stay out of stdout and stderr.
fn assert_no_value(a: &Assert, values: &[&str]) {
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    let err = stderr(a);
    for value in values {
        let forms = [
            value.to_string(),
            STANDARD.encode(value),
            URL_SAFE_NO_PAD.encode(value),
            value.chars().skip(4).collect::<String>(),
        ];
        for form in forms {
            assert!(
                !out.contains(&form) && !err.contains(&form),
                "a value reached the output:\n{out}\n{err}"
            );
        }
    }
    assert_lacks(&err, "panicked");
}

fn places(rows: &[serde_json::Value]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["label"].as_str().unwrap().to_string(),
                r["encoding"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn vault_with_keys() -> Sandbox {
    Sandbox::with_secrets(&[("openai", OPENAI), ("db", DB), ("stripe", STRIPE)])
}

#[test]
fn scan_finds_keys_in_several_file_types_and_encodings_and_skips_ignored_and_binary_files() {
    let sb = vault_with_keys();
    let tree = sb.path("tree");
    std::fs::create_dir_all(&tree).unwrap();
    git(&tree, &["init", "-q"]);
    write(&tree.join(".gitignore"), "*.log\n");
    write(
        &tree.join("src/app.py"),
        format!("import os\n\nclient = OpenAI(api_key=\"{OPENAI}\")\n"),
    );
    write(
        &tree.join("config/settings.json"),
        format!(
            "{{\n  \"password\": {}\n}}\n",
            serde_json::to_string(DB).unwrap()
        ),
    );
    let url_db = "p%40ss%20w%2Frd%22quoted%22%21";
    write(
        &tree.join(".env"),
        format!("DATABASE_URL=postgres://app:{url_db}@db:5432/app\n"),
    );
    write(
        &tree.join("deploy/secret.yaml"),
        format!("data:\n  key: {}\n", STANDARD.encode(STRIPE)),
    );
    // Basic auth: the value sits at an odd offset inside a longer base64 text.
    write(
        &tree.join("notes.md"),
        format!(
            "curl -H 'Authorization: Basic {}'\n",
            STANDARD.encode(format!("user:{OPENAI}"))
        ),
    );
    write(&tree.join("debug.log"), format!("key={OPENAI}\n"));
    let mut binary = b"\x7fELF\0\0\0".to_vec();
    binary.extend_from_slice(STRIPE.as_bytes());
    write(&tree.join("app.bin"), &binary);
    write(&tree.join("clean.txt"), "nothing to see\n");

    let a = scan(&sb, &["tree", "--json"]).code(11);
    assert_no_value(&a, &[OPENAI, DB, STRIPE]);
    let rows = findings(&a);
    assert_eq!(
        places(&rows),
        vec![
            ("tree/.env".into(), "db".into(), "url-encoded".into()),
            (
                "tree/config/settings.json".into(),
                "db".into(),
                "json-escaped".into()
            ),
            (
                "tree/deploy/secret.yaml".into(),
                "stripe".into(),
                "base64".into()
            ),
            ("tree/notes.md".into(), "openai".into(), "base64".into()),
            ("tree/src/app.py".into(), "openai".into(), "as-is".into()),
        ]
    );
    let app = rows
        .iter()
        .find(|r| r["path"] == "tree/src/app.py")
        .unwrap();
    assert_eq!(app["line"], 3);
    assert_eq!(app["column"], 26);
    assert_eq!(app["version"], 1);
    assert_eq!(app["current"], true);
    assert_eq!(app["source"], "file");
    assert_has(&stderr(&a), "; 1 skipped as binary");

    // The text form: path:line:column, label, version; and what to do.
    let a = scan(&sb, &["tree"]).code(11);
    assert_no_value(&a, &[OPENAI, DB, STRIPE]);
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert_has(
        &out,
        "tree/src/app.py:3:26: openai version 1 (current), as-is",
    );
    let err = stderr(&a);
    assert!(
        err.contains("sesame rotate openai") && err.contains("sesame rotate db"),
        "{err}"
    );

    // What was left out is searched when asked.
    let a = scan(&sb, &["tree", "--json", "--no-ignore", "--binary"]).code(11);
    assert_no_value(&a, &[OPENAI, DB, STRIPE]);
    let paths: Vec<String> = places(&findings(&a)).into_iter().map(|p| p.0).collect();
    assert!(paths.contains(&"tree/debug.log".to_string()), "{paths:?}");
    assert!(paths.contains(&"tree/app.bin".to_string()), "{paths:?}");
}

#[test]
fn scan_exits_0_when_nothing_is_found_and_11_when_a_value_is() {
    let sb = vault_with_keys();
    write(&sb.path("tree/a.txt"), "no keys here\n");
    let a = scan(&sb, &["tree"]).code(0);
    assert!(a.get_output().stdout.is_empty());
    assert_has(&stderr(&a), "no stored value found");
    let a = scan(&sb, &["tree", "--json"]).code(0);
    assert!(findings(&a).is_empty());

    write(&sb.path("tree/b.txt"), format!("{STRIPE}\n"));
    scan(&sb, &["tree"]).code(11);
    scan(&sb, &["tree/b.txt"]).code(11);
    scan(&sb, &["tree/a.txt"]).code(0);

    // Errors keep their codes: a missing path is 1, a wrong passphrase 3.
    fails(scan(&sb, &["no-such-folder"]), 1, "no-such-folder");
    sb.with_pass("wrong")
        .args(["scan", "tree"])
        .fails_with(3, "wrong passphrase");
}

#[test]
fn an_old_version_of_a_rotated_key_is_reported_as_not_current() {
    let sb = Sandbox::new();
    sb.add("svc", "old-key-0123456789abcdef");
    sb.with_stdin(["rotate", "svc"], "new-key-0123456789abcdef")
        .succeeds();
    write(
        &sb.path("tree/x.sh"),
        "export SVC=old-key-0123456789abcdef\n",
    );
    let a = scan(&sb, &["tree", "--json"]).code(11);
    assert_no_value(
        &a,
        &["old-key-0123456789abcdef", "new-key-0123456789abcdef"],
    );
    let rows = findings(&a);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["label"], "svc");
    assert_eq!(rows[0]["version"], 1);
    assert_eq!(rows[0]["current"], false);
    assert_eq!(rows[0]["column"], 12);
    let a = scan(&sb, &["tree"]).code(11);
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert_has(&out, "svc version 1 (old)");
    assert!(stderr(&a).contains("old versions were found (svc version 1)"));
}

#[test]
fn a_key_committed_and_later_removed_is_found_with_git_only() {
    let sb = vault_with_keys();
    let repo = sb.path("repo");
    write(&repo.join("README"), "hello\n");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "first"]);
    write(
        &repo.join("src/config.toml"),
        format!("[api]\nkey = \"{OPENAI}\"\n"),
    );
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "oops"]);
    let leaked = String::from_utf8(
        command("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(&repo)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    write(&repo.join("src/config.toml"), "[api]\nkey = env\n");
    git(&repo, &["commit", "-q", "-am", "remove the key"]);
    // Many commits after it: each blob is still searched once.
    for i in 0..20 {
        write(&repo.join("counter"), format!("{i}\n"));
        git(&repo, &["add", "."]);
        git(&repo, &["commit", "-q", "-m", "bump"]);
    }

    let a = scan(&sb, &["repo"]).code(0);
    assert_no_value(&a, &[OPENAI]);
    let a = scan(&sb, &["repo", "--git", "--json"]).code(11);
    assert_no_value(&a, &[OPENAI]);
    let rows = findings(&a);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["source"], "git");
    assert_eq!(rows[0]["path"], "src/config.toml");
    assert_eq!(rows[0]["commit"], leaked.as_str());
    assert_eq!(rows[0]["line"], 2);
    assert_eq!(rows[0]["column"], 8);
    let a = scan(&sb, &["repo", "--git"]).code(11);
    let err = stderr(&a);
    assert_has(&err, "git filter-repo");
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        out.contains(&format!(
            "git {}:src/config.toml:2:8: openai",
            &leaked[..12]
        )),
        "{out}"
    );

    // Outside a repository, --git is a usage error.
    write(&sb.path("plain/a.txt"), "x\n");
    let plain = tempfile::tempdir().unwrap();
    write(&plain.path().join("a.txt"), "x\n");
    fails(
        scan(&sb, &[plain.path().to_str().unwrap(), "--git"]),
        2,
        "not in a git repository",
    );
}

#[test]
fn shell_history_files_are_searched_with_history() {
    let sb = vault_with_keys();
    let home = sb.dir.path();
    write(
        &home.join(".bash_history"),
        format!("ls\ncurl -H 'Authorization: Bearer {OPENAI}' https://api\n"),
    );
    // zsh's extended format, with a metafied "é" (0xc3 0xa9 stored as 0xc3 0x83 0x89) before the key.
    let mut zsh = b": 1700000000:0;echo caf\xc3\x83\x89 ".to_vec();
    zsh.extend_from_slice(STRIPE.as_bytes());
    zsh.push(b'\n');
    write(&home.join(".zsh_history"), &zsh);
    write(
        &home.join(".local/share/fish/fish_history"),
        format!("- cmd: export DB_PASSWORD={}\n  when: 1700000000\n", DB),
    );
    write(&sb.path("tree/a.txt"), "clean\n");

    scan(&sb, &["tree"]).code(0);
    let a = scan(&sb, &["tree", "--history", "--json"]).code(11);
    assert_no_value(&a, &[OPENAI, DB, STRIPE]);
    let rows = findings(&a);
    let home_text = home.display().to_string();
    let mut got: Vec<(String, String, u64, u64)> = rows
        .iter()
        .map(|r| {
            assert_eq!(r["source"], "history");
            (
                r["path"].as_str().unwrap().replace(&home_text, "~"),
                r["label"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
                r["column"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("~/.bash_history".into(), "openai".into(), 2, 32),
            (
                "~/.local/share/fish/fish_history".into(),
                "db".into(),
                1,
                27
            ),
            // Column counts the unmetafied bytes: "é" is 2 bytes there.
            ("~/.zsh_history".into(), "stripe".into(), 1, 27),
        ]
    );
    let a = scan(&sb, &["tree", "--history"]).code(11);
    assert_has(&stderr(&a), "shell history");
}

#[test]
fn values_under_16_bytes_are_searched_only_with_short_and_under_8_never() {
    // A search for a short value is an oracle: whoever wrote 2M candidate lines learnt which
    // one is a stored 12-byte value from the finding. Under 16 bytes, only `--short` searches.
    let sb = Sandbox::with_secrets(&[
        ("pin", "1234567"),
        ("twelve", "abcdef123456"),
        ("long", "long-enough-value"),
    ]);
    write(
        &sb.path("tree/a.txt"),
        "pin 1234567 here\ncandidate abcdef123456\n",
    );
    let a = scan(&sb, &["tree"]).code(0);
    let err = stderr(&a);
    assert!(
        err.contains("not searched, being shorter than 16 bytes")
            && err.contains("pin version 1")
            && err.contains("twelve version 1")
            && err.contains("--short"),
        "{err}"
    );
    assert!(
        !err.contains("1234567") && !err.contains("abcdef123456"),
        "{err}"
    );

    let a = scan(&sb, &["tree", "--short", "--json"]).code(11);
    let rows = findings(&a);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["label"], "twelve");
    let err = stderr(&a);
    assert!(
        err.contains("not searched, being shorter than 8 bytes") && err.contains("pin version 1"),
        "{err}"
    );

    // Only short values: nothing to search for, exit 0.
    let sb = Sandbox::new();
    sb.add("pin", "1234567");
    write(&sb.path("tree/a.txt"), "pin 1234567 here\n");
    let a = scan(&sb, &["tree"]).code(0);
    assert_has(&stderr(&a), "nothing to search for");
}

#[test]
fn scan_escapes_control_characters_in_file_and_git_paths() {
    // A file name with a newline forged a whole finding line of its own; one with an escape
    // sequence reached the terminal as one.
    let sb = vault_with_keys();
    let tree = sb.path("tree");
    std::fs::create_dir_all(&tree).unwrap();
    git(&tree, &["init", "-q"]);
    let name = "x\nforged.txt:9:9: stripe version 1 (current), as-is\x1b[2J";
    write(&tree.join(name), format!("{OPENAI}\n"));
    git(&tree, &["add", "-A"]);
    git(&tree, &["commit", "-q", "-m", "one"]);
    let a = scan(&sb, &["tree", "--git"]).code(11);
    let out = stdout(&a);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "one line per finding (file, git):\n{out}");
    for line in &lines {
        assert!(
            line.contains(
                "x\\nforged.txt:9:9: stripe version 1 (current), as-is\\x1b[2J:1:1: openai"
            ),
            "{line}"
        );
    }
    assert!(
        !out.contains('\x1b') && !stderr(&a).contains('\x1b'),
        "{out}"
    );
    // JSON keeps the name as it is (its encoder escapes it).
    let rows = findings(&scan(&sb, &["tree", "--json"]).code(11));
    assert_eq!(rows[0]["path"], format!("tree/{name}"));
    // A name in an error (no finding needed) is escaped the same way.
    let a = scan(&sb, &["missing\nsesame: found nothing\x1b[2J"]);
    let err = stderr(&fails(a, 1, "cannot search"));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_has(&err, "missing\\nsesame: found nothing\\x1b[2J");
}

#[test]
fn scan_passes_over_fifos_and_kernel_files_with_a_note_instead_of_hanging() {
    // A FIFO put where the walk saw a file, /proc/kmsg and /proc/kcore used to block the scan
    // (or read the address space). They are opened without blocking, their type checked on
    // the opened file, and passed over with a note.
    let sb = vault_with_keys();
    write(&sb.path("tree/a.txt"), format!("{OPENAI}\n"));
    let fifo = sb.path("tree/pipe");
    let made = command("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let mut cmd = sb.cmd();
    cmd.timeout(std::time::Duration::from_secs(60));
    let mut args = vec!["scan", "tree", "tree/pipe"];
    for kernel in ["/proc/kmsg", "/proc/self/status", "/sys/kernel/mm"] {
        if Path::new(kernel).exists() {
            args.push(kernel);
        }
    }
    let a = cmd.args(&args).assert().code(11);
    let err = stderr(&a);
    assert!(
        // Named once, though both the folder and the PATH hold it.
        err.contains("not searched, a FIFO, device or socket: tree/pipe."),
        "{err}"
    );
    if Path::new("/proc/self/status").exists() {
        assert!(
            err.contains("not searched, on a kernel file system (/proc, /sys): ")
                && err.contains("/proc/self/status"),
            "{err}"
        );
    }
    assert_eq!(findings(&scan(&sb, &["tree", "--json"]).code(11)).len(), 1);
}

#[test]
fn scan_counts_lines_after_the_first_8_mib_piece() {
    // Newlines in a piece with no match were not counted: line 155,219 was reported for
    // 700,001. The file is searched in 8 MiB pieces; the value sits in the second one.
    let sb = vault_with_keys();
    let filler = "0123456789abcd\n".repeat(700_000);
    assert!(filler.len() > 8 << 20);
    write(
        &sb.path("tree/big.txt"),
        format!("{filler}..{OPENAI}\nnext\n{OPENAI}\n"),
    );
    let rows = findings(&scan(&sb, &["tree", "--json"]).code(11));
    let at: Vec<(u64, u64)> = rows
        .iter()
        .filter(|r| r["encoding"] == "as-is")
        .map(|r| (r["line"].as_u64().unwrap(), r["column"].as_u64().unwrap()))
        .collect();
    assert_eq!(at, vec![(700_001, 3), (700_003, 1)]);
}

#[test]
fn scan_passes_over_git_blobs_over_64_mib_without_inflating_them() {
    // A 1 GiB blob of zeros was inflated whole (2.2 s, 1.03 GiB) before being found binary.
    // The size comes from the object header; a blob over the cap is named in a note.
    let sb = vault_with_keys();
    let tree = sb.path("tree");
    std::fs::create_dir_all(&tree).unwrap();
    git(&tree, &["init", "-q"]);
    let big = std::fs::File::create(tree.join("zeros.bin")).unwrap();
    big.set_len(65 << 20).unwrap();
    drop(big);
    write(&tree.join("key.txt"), format!("{OPENAI}\n"));
    git(&tree, &["add", "-A"]);
    git(&tree, &["commit", "-q", "-m", "big"]);
    std::fs::remove_file(tree.join("zeros.bin")).unwrap();
    let a = scan(&sb, &["tree", "--git", "--binary", "--json"]).code(11);
    let err = stderr(&a);
    assert!(
        err.contains("not searched, being git blobs over 64 MiB")
            && err.contains(":zeros.bin (68157440 bytes)."),
        "{err}"
    );
    let rows = findings(&a);
    assert!(
        rows.iter()
            .any(|r| r["source"] == "git" && r["path"] == "key.txt")
    );
}

#[test]
fn scan_follows_no_symbolic_link_out_of_the_tree() {
    let sb = vault_with_keys();
    write(&sb.path("outside/keys.txt"), format!("{OPENAI}\n"));
    std::fs::create_dir_all(sb.path("tree")).unwrap();
    std::os::unix::fs::symlink(sb.path("outside"), sb.path("tree/linked-dir")).unwrap();
    std::os::unix::fs::symlink(sb.path("outside/keys.txt"), sb.path("tree/linked-file.txt"))
        .unwrap();
    scan(&sb, &["tree"]).code(0);
    scan(&sb, &["outside"]).code(11);
}

#[test]
fn scan_writes_nothing_to_the_vault() {
    let sb = vault_with_keys();
    write(&sb.path("tree/a.txt"), format!("{OPENAI}\n"));
    let before = sb.vault_bytes();
    let files_before = std::fs::read_dir(sb.vault.parent().unwrap())
        .unwrap()
        .count();
    scan(&sb, &["tree"]).code(11);
    assert_eq!(sb.vault_bytes(), before);
    assert_eq!(
        std::fs::read_dir(sb.vault.parent().unwrap())
            .unwrap()
            .count(),
        files_before
    );
}

#[test]
fn scan_reads_what_git_does_not_ignore_tracked_files_and_nested_repositories_included() {
    // git says which files it ignores: .gitignore, .git/info/exclude, and never a tracked file
    // (a committed key is the worst place for one). A nested repository has its own rules; a
    // .gitignore outside any repository is not applied (git would not apply it either).
    let sb = vault_with_keys();
    let repo = sb.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    write(&repo.join(".gitignore"), "*.log\nbuild/\n");
    write(&repo.join(".git/info/exclude"), "local.txt\n");
    write(&repo.join("debug.log"), format!("{OPENAI}\n"));
    write(&repo.join("build/out.txt"), format!("{OPENAI}\n"));
    write(&repo.join("local.txt"), format!("{OPENAI}\n"));
    write(&repo.join("committed.log"), format!("{STRIPE}\n"));
    git(&repo, &["add", "-f", "committed.log"]);
    git(&repo, &["commit", "-q", "-m", "a log"]);
    write(&repo.join("src/app.py"), format!("KEY = '{OPENAI}'\n"));
    let nested = repo.join("vendor/lib");
    std::fs::create_dir_all(&nested).unwrap();
    git(&nested, &["init", "-q"]);
    write(&nested.join(".gitignore"), "secret.txt\n");
    write(&nested.join("secret.txt"), format!("{OPENAI}\n"));
    write(&nested.join("config.py"), format!("DB = '{DB}'\n"));
    let plain = sb.path("plain");
    write(&plain.join(".gitignore"), "*.log\n");
    write(&plain.join("x.log"), format!("{OPENAI}\n"));
    // Links, tracked or not, are never followed; a tracked file deleted from the work tree is
    // nothing to read (no error).
    write(&sb.path("outside/keys.txt"), format!("{OPENAI}\n"));
    std::os::unix::fs::symlink(sb.path("outside/keys.txt"), repo.join("tracked-link")).unwrap();
    std::os::unix::fs::symlink(sb.path("outside/keys.txt"), repo.join("untracked-link")).unwrap();
    write(&repo.join("gone.txt"), "x\n");
    git(&repo, &["add", "tracked-link", "gone.txt"]);
    git(&repo, &["commit", "-q", "-m", "a link"]);
    std::fs::remove_file(repo.join("gone.txt")).unwrap();
    // A submodule follows its own rules, as a nested repository does.
    let sub = sb.path("sub");
    std::fs::create_dir_all(&sub).unwrap();
    git(&sub, &["init", "-q"]);
    write(&sub.join(".gitignore"), "*.key\n");
    write(&sub.join("tracked.cfg"), format!("S = '{STRIPE}'\n"));
    git(&sub, &["add", ".gitignore", "tracked.cfg"]);
    git(&sub, &["commit", "-q", "-m", "sub"]);
    git(
        &repo,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            "../sub",
            "modules/sub",
        ],
    );
    write(&repo.join("modules/sub/local.key"), format!("{OPENAI}\n"));

    let a = scan(&sb, &["repo", "plain", "--json"]).code(11);
    assert_lacks(&stderr(&a), "not searched");
    let rows = findings(&a);
    let mut paths: Vec<String> = places(&rows).into_iter().map(|p| p.0).collect();
    paths.dedup();
    assert_eq!(
        paths,
        vec![
            "plain/x.log",
            "repo/committed.log",
            "repo/modules/sub/tracked.cfg",
            "repo/src/app.py",
            "repo/vendor/lib/config.py",
        ]
    );
    // --no-ignore reads everything but .git folders (and links).
    let rows = findings(&scan(&sb, &["repo", "--json", "--no-ignore"]).code(11));
    let mut paths: Vec<String> = places(&rows).into_iter().map(|p| p.0).collect();
    paths.dedup();
    assert_eq!(paths.len(), 9, "{paths:?}");
    // A file named by a link on the command line is searched: it was asked for.
    let rows = findings(&scan(&sb, &["repo/untracked-link", "--json"]).code(11));
    assert_eq!(rows.len(), 1);
}

#[test]
fn scan_of_a_folder_git_ignores_says_so_instead_of_finding_nothing_silently() {
    let sb = vault_with_keys();
    let repo = sb.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    write(&repo.join(".gitignore"), "node_modules/\n");
    write(
        &repo.join("node_modules/pkg/index.js"),
        format!("k='{OPENAI}'\n"),
    );
    let a = scan(&sb, &["repo/node_modules"]).code(0);
    assert_has(
        &stderr(&a),
        "not searched, left out by .gitignore or git's excludes (--no-ignore searches it): \
         repo/node_modules.",
    );
    scan(&sb, &["repo/node_modules", "--no-ignore"]).code(11);
}

#[test]
fn scan_without_git_searches_every_file_and_says_gitignore_was_not_applied() {
    let sb = vault_with_keys();
    let repo = sb.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    write(&repo.join(".gitignore"), "*.log\n");
    write(&repo.join("debug.log"), format!("{OPENAI}\n"));
    let a = sb
        .cmd()
        .env("PATH", sb.path("no-programs-here"))
        .args(["scan", "repo", "--json"])
        .assert()
        .code(11);
    assert_eq!(findings(&a).len(), 1);
    assert_has(
        &stderr(&a),
        "git could not list repo (git is not installed), so .gitignore files were not applied \
         there: every file was searched.",
    );
}

#[test]
fn scan_never_reads_through_a_folder_git_lists_that_is_now_a_link() {
    // git names paths from its index: a tracked folder replaced by a link to elsewhere, or a
    // submodule path that is a link, must not lead the search out of the tree.
    let sb = vault_with_keys();
    write(&sb.path("outside/f"), format!("{OPENAI}\n"));
    let repo = sb.path("repo");
    write(&repo.join("d/f"), "nothing\n");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "d/f"]);
    git(&repo, &["commit", "-q", "-m", "d"]);
    std::fs::remove_dir_all(repo.join("d")).unwrap();
    std::os::unix::fs::symlink(sb.path("outside"), repo.join("d")).unwrap();
    let head = String::from_utf8(
        command("git")
            .args(["-C", repo.to_str().unwrap(), "rev-parse", "HEAD"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    git(
        &repo,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{},sub", head.trim()),
        ],
    );
    std::os::unix::fs::symlink(sb.path("outside"), repo.join("sub")).unwrap();
    scan(&sb, &["repo"]).code(0);
}

#[test]
fn scan_of_a_repository_that_makes_git_hang_or_flood_ends_with_a_note() {
    let sb = vault_with_keys();
    // A FIFO as .gitignore: git waits for a writer forever; it is stopped after
    // SESAME_GIT_WAIT (60 s unless set) and the folder is read without it.
    let repo = sb.path("fifo");
    write(&repo.join("a.txt"), format!("{OPENAI}\n"));
    git(&repo, &["init", "-q"]);
    assert!(
        command("mkfifo")
            .arg(repo.join(".gitignore"))
            .status()
            .unwrap()
            .success()
    );
    let a = sb
        .cmd()
        .env("SESAME_GIT_WAIT", "2")
        .args(["scan", "fifo", "--json"])
        .assert()
        .code(11);
    assert_eq!(findings(&a).len(), 1);
    assert_has(&stderr(&a), "(git did not answer within 2 s)");
    // Over 64 KiB of warnings on git's stderr while its output is read: no deadlock, and the
    // warnings become one note.
    let repo = sb.path("flood");
    git(&sb.path("."), &["init", "-q", "flood"]);
    for i in 0..1500 {
        let dir = repo.join(format!("d{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.join(".gitignore")).unwrap();
    }
    write(&repo.join("k.txt"), format!("{OPENAI}\n"));
    let a = sb
        .cmd()
        .args(["scan", "flood"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(11);
    assert_has(
        &stderr(&a),
        "more lines); what it could not read was not searched.",
    );
}
