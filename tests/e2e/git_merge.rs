//! A vault kept in git: `merge-driver` merges two branches that changed it, `textconv` lets
//! `git diff` show labels (never values). Driven through real `git merge` and `git diff`.

use std::path::Path;
use std::process::Output;

use super::harness::*;

/// `git ARGS` in `repo`, with the sandbox's vault passphrase for the driver and textconv.
fn git(sb: &Sandbox, repo: &Path, args: &[&str]) -> Output {
    command("git")
        .current_dir(repo)
        .env("HOME", sb.dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("SESAME_PASSPHRASE", PASS)
        .env("XDG_RUNTIME_DIR", sb.runtime_dir())
        .args(args)
        .output()
        .expect("git runs")
}

fn git_ok(sb: &Sandbox, repo: &Path, args: &[&str]) -> String {
    let out = git(sb, repo, args);
    assert!(
        out.status.success(),
        "git {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository holding the sandbox's vault (`a`, `b`), set up as `docs/CLI.md` says, on `main`.
fn repo_with_vault() -> (Sandbox, std::path::PathBuf) {
    let mut sb = Sandbox::empty();
    let repo = sb.dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    sb.vault = repo.join("vault.sesame");
    sb.init().success();
    sb.add("a", "a-first");
    sb.add("b", "b-first");
    let sesame = sesame_path().display().to_string();
    git_ok(&sb, &repo, &["init", "-q", "-b", "main"]);
    for (key, value) in [
        ("user.name", "t".to_string()),
        ("user.email", "t@example.com".to_string()),
        (
            "merge.sesame.driver",
            format!("{sesame} merge-driver %O %A %B"),
        ),
        ("diff.sesame.textconv", format!("{sesame} textconv")),
    ] {
        git_ok(&sb, &repo, &["config", key, &value]);
    }
    std::fs::write(
        repo.join(".gitattributes"),
        "*.sesame merge=sesame diff=sesame\n",
    )
    .unwrap();
    // What sesame keeps beside the vault belongs to this machine, not to the repository.
    std::fs::write(
        repo.join(".gitignore"),
        "*.sesame.log\n*.sesame.lock\nbackups/\n",
    )
    .unwrap();
    git_ok(&sb, &repo, &["add", "."]);
    git_ok(&sb, &repo, &["commit", "-q", "-m", "vault"]);
    (sb, repo)
}

fn commit(sb: &Sandbox, repo: &Path, message: &str) {
    git_ok(sb, repo, &["commit", "-q", "-am", message]);
}

#[test]
fn git_merge_of_branches_that_changed_different_secrets_merges_the_vault_cleanly() {
    let (sb, repo) = repo_with_vault();
    git_ok(&sb, &repo, &["checkout", "-q", "-b", "laptop"]);
    sb.add("c", "c-laptop");
    commit(&sb, &repo, "add c");
    git_ok(&sb, &repo, &["checkout", "-q", "main"]);
    sb.with_stdin(["rotate", "b"], "b-desktop").succeeds();
    commit(&sb, &repo, "rotate b");

    git_ok(&sb, &repo, &["merge", "-q", "--no-edit", "laptop"]);
    assert_eq!(sb.labels(), ["a", "b", "c"]);
    assert_eq!(sb.get("c").trim_end(), "c-laptop");
    assert_eq!(sb.get("b").trim_end(), "b-desktop");
    sb.succeeds(["conflicts"]);
}

#[test]
fn git_merge_of_branches_that_changed_one_secret_reports_a_conflict_that_sesame_names() {
    let (sb, repo) = repo_with_vault();
    git_ok(&sb, &repo, &["checkout", "-q", "-b", "laptop"]);
    sb.with_stdin(["rotate", "a"], "a-laptop").succeeds();
    commit(&sb, &repo, "rotate a on the laptop");
    git_ok(&sb, &repo, &["checkout", "-q", "main"]);
    sb.with_stdin(["rotate", "a"], "a-desktop").succeeds();
    commit(&sb, &repo, "rotate a on the desktop");

    let merged = git(&sb, &repo, &["merge", "--no-edit", "laptop"]);
    assert!(!merged.status.success(), "git reported no conflict");
    let said = String::from_utf8_lossy(&merged.stdout);
    assert_has(&said, "CONFLICT");
    let conflicts = sb.json(["conflicts", "--json"]);
    assert_eq!(conflicts[0]["label"], "a", "{conflicts}");
    // The merged file holds both values; resolving and committing ends the merge.
    let versions = sb.json(["history", "a", "--json"]);
    assert_eq!(versions.as_array().unwrap().len(), 3);
    sb.succeeds(["resolve", "a", "--keep", "2"]);
    git_ok(&sb, &repo, &["add", "vault.sesame"]);
    git_ok(&sb, &repo, &["commit", "-q", "--no-edit"]);
}

#[test]
fn git_diff_through_textconv_shows_labels_and_never_a_value() {
    let (sb, repo) = repo_with_vault();
    sb.add("c", "c-value-that-must-not-show");
    sb.with_stdin(["rotate", "a"], "a-value-that-must-not-show")
        .succeeds();
    let diff = git_ok(&sb, &repo, &["diff"]);
    assert_has(&diff, "+c  env=C  versions=1");
    assert_has(&diff, "a  env=A  versions=2");
    assert_lacks(&diff, "must-not-show");
    assert_lacks(&diff, "a-first");
    assert_lacks(&diff, "Binary files");
}

#[test]
fn git_diff_shows_a_changed_vault_locked_and_its_labels_through_any_agent_of_it() {
    let (sb, repo) = repo_with_vault();
    sb.with_stdin(["rotate", "a"], "a-value-that-must-not-show")
        .succeeds();
    // No passphrase source, and SESAME_VAULT names no vault: git's copies are all it has.
    let diff_without_passphrase = || {
        let out = command("git")
            .current_dir(&repo)
            .env("HOME", sb.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("XDG_RUNTIME_DIR", sb.runtime_dir())
            .args(["diff"])
            .output()
            .expect("git runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let diff = diff_without_passphrase();
    assert_has(&diff, "-file: ");
    assert_has(&diff, "+file: ");
    assert_has(&diff, "secrets not shown");
    assert_lacks(&diff, "must-not-show");
    // Unlocked, the repository's vault's agent opens git's copies, wherever they are.
    sb.succeeds(["unlock"]);
    let diff = diff_without_passphrase();
    sb.succeeds(["lock"]);
    assert_has(&diff, "a  env=A  versions=2");
    assert_lacks(&diff, "must-not-show");
}
