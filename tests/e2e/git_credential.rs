//! `sesame git-credential`: git's credential helper protocol, spoken to by hand and by a real
//! `git clone`/`git push` over http against a local `git http-backend` that wants Basic auth;
//! and every helper's refusal to wait for a passphrase when the vault is locked.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::harness::*;

/// `sesame git-credential ACTION` with `request` on stdin, through the agent or
/// `SESAME_PASSPHRASE` as the sandbox sets it.
fn helper(sb: &Sandbox, action: &str, request: &str) -> assert_cmd::assert::Assert {
    sb.with_stdin(["git-credential", action], request).assert()
}

#[test]
fn git_credential_answers_from_git_host_with_the_noted_user_and_is_silent_otherwise() {
    let sb = Sandbox::new();
    sb.with_stdin(
        ["add", "git/example.com", "--note", "username=ann"],
        "ghp_host",
    )
    .succeeds();
    sb.add("git/example.com/org/special.git", "ghp_path");
    let get = |request: &str| stdout(&helper(&sb, "get", request).success());
    assert_eq!(
        get("protocol=https\nhost=Example.com\n\n"),
        "username=ann\npassword=ghp_host\n"
    );
    // With credential.useHttpPath: the path's own secret, else the host's; git's user name
    // when the note names none.
    assert_eq!(
        get("protocol=https\nhost=example.com\npath=org/special.git\nusername=bob\n\n"),
        "username=bob\npassword=ghp_path\n"
    );
    assert_eq!(
        get("protocol=https\nhost=example.com\npath=org/other.git\n"),
        "username=ann\npassword=ghp_host\n"
    );
    // Nothing stored, or a note naming another user: no answer, exit 0 (git asks on).
    assert_eq!(get("protocol=https\nhost=other.org\n\n"), "");
    assert_eq!(
        get("protocol=https\nhost=example.com\nusername=eve\n\n"),
        ""
    );
    // An operation git may add later is ignored.
    assert_eq!(stdout(&helper(&sb, "capability", "").success()), "");
}

#[test]
fn a_malformed_git_request_is_refused_without_echoing_it() {
    let sb = Sandbox::new();
    for (request, needle) in [
        (
            "host=example.com\npassword ghp_leak\n\n",
            "line 2 is not key=value",
        ),
        ("host=example.com\npassword=ghp\0leak\n\n", "NUL byte"),
    ] {
        let a = fails(helper(&sb, "store", request), 2, needle);
        assert_lacks(&stderr(&a), "leak");
    }
    let big = format!("host=h\npassword={}\n", "a".repeat(70 * 1024));
    fails(helper(&sb, "store", &big), 2, "larger than 64 KiB");
    assert!(sb.labels().is_empty());
}

#[test]
fn git_store_saves_or_rotates_and_erase_never_deletes_but_check_reports_it() {
    let sb = Sandbox::new();
    let request = |password: &str| {
        format!("protocol=https\nhost=git.example.com:8443\nusername=ann\npassword={password}\n\n")
    };
    helper(&sb, "store", &request("tok-1")).success();
    let secret = sb.secret_json("git/git.example.com_8443");
    assert_eq!(secret["env"], "GIT_TOKEN_GIT_EXAMPLE_COM_8443");
    assert_eq!(secret["note"], "username=ann");
    // The same value again: recorded, nothing changed.
    helper(&sb, "store", &request("tok-1")).success();
    assert_eq!(sb.secret_json("git/git.example.com_8443")["version"], 1);
    // The server refused it: kept, and `check` says so (exit 10).
    helper(&sb, "erase", &request("tok-1")).success();
    assert_eq!(sb.get("git/git.example.com_8443"), "tok-1\n");
    let a = sb.cmd().arg("check").assert().code(10);
    assert_has(&stdout(&a), "git/git.example.com_8443");
    assert_has(&stdout(&a), "rejected by its server");
    let a = sb.cmd().args(["check", "--json"]).assert().code(10);
    let json: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert!(json[0]["rejected_by_server"].is_string(), "{json}");
    // An erase of a password sesame does not hold marks nothing.
    helper(&sb, "erase", &request("someone-elses")).success();
    // A new value from git (or `sesame rotate`) clears it; history keeps the old one.
    helper(&sb, "store", &request("tok-2")).success();
    sb.succeeds(["check"]);
    assert_eq!(sb.get("git/git.example.com_8443"), "tok-2\n");
    assert_eq!(sb.secret_json("git/git.example.com_8443")["version"], 2);
    let (actions, _) = sb.log_actions();
    let helper_uses: Vec<&String> = actions.iter().filter(|a| a.starts_with("git-")).collect();
    assert_eq!(
        helper_uses,
        [
            "git-store",
            "git-erase",
            "git-reject",
            "git-store",
            "git-store"
        ]
    );
}

#[test]
fn credential_helpers_never_wait_for_a_passphrase_when_locked() {
    // git and docker start helpers without a terminal; with no agent and no passphrase source
    // a helper must say what to do on one line and end, never prompt or wait.
    let sb = Sandbox::new();
    sb.add("git/example.com", "ghp_x");
    for (args, input) in [
        (
            &["git-credential", "get"][..],
            "protocol=https\nhost=example.com\n\n",
        ),
        (
            &["docker-credential", "get"],
            "https://registry.example.com",
        ),
        (&["docker-credential", "list"], ""),
    ] {
        let mut cmd = sb.helper_process(sesame_path());
        cmd.args(args);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // stdin stays open: the request is complete, and no more input is coming.
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, input.as_bytes()).unwrap();
        if args[0] == "docker-credential" {
            drop(stdin);
        } else {
            std::mem::forget(stdin);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(child.wait_with_output()));
        let out = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the helper waited for input")
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert_has(&err, "is locked");
        assert_has(&err, "run `sesame unlock`");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// A git server on 127.0.0.1 (`tools/git_http_server.py`), killed when dropped.
struct GitServer {
    /// Held for its drop, which stops the process.
    _process: KilledOnDrop,
    port: u16,
}

impl GitServer {
    fn start(root: &Path, user: &str, token_file: &Path) -> GitServer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/git_http_server.py");
        let mut child = command("python3")
            .arg(script)
            .arg(root)
            .arg(user)
            .arg(token_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the server prints its port");
        GitServer {
            _process: KilledOnDrop(child),
            port,
        }
    }
}

/// `git ARGS` in `dir` with only the sandbox's git config (no system config, no prompt) and the
/// sandbox's vault and agent, but no passphrase: credentials come from the agent or nowhere.
fn git(sb: &Sandbox, dir: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = command("git");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sb.path("home"))
        .env("GIT_CONFIG_GLOBAL", sb.path("gitconfig"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("XDG_RUNTIME_DIR", sb.runtime_dir())
        .env("SESAME_VAULT", &sb.vault)
        .current_dir(dir)
        .args(args);
    with_deadline(cmd)
}

fn git_ok(sb: &Sandbox, dir: &Path, args: &[&str]) {
    let out = git(sb, dir, args);
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The sandbox's git config: sesame as the credential helper, then `extra` helpers.
fn git_config(sb: &Sandbox, extra: &[String]) {
    let mut text = format!(
        "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n\
         [credential]\n\thelper = \"!'{}' git-credential\"\n",
        sesame_path().display()
    );
    for helper in extra {
        text.push_str(&format!("\thelper = \"{helper}\"\n"));
    }
    std::fs::write(sb.path("gitconfig"), text).unwrap();
}

fn git_http_backend() -> Option<PathBuf> {
    let out = command("git").arg("--exec-path").output().ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("git-http-backend");
    path.exists().then_some(path)
}

#[test]
fn real_git_clones_and_pushes_with_a_token_only_sesame_gives() {
    if git_http_backend().is_none() {
        eprintln!("skipped: `git http-backend` is not installed");
        return;
    }
    let sb = Sandbox::new();
    sb.succeeds(["unlock", "--timeout", "5m"]);
    std::fs::create_dir(sb.path("home")).unwrap();
    git_config(&sb, &[]);
    // The server: one bare repository that accepts pushes, user ann with token tok-1.
    let work = sb.path("work");
    std::fs::create_dir(&work).unwrap();
    git_ok(&sb, &work, &["init", "-q", "seed"]);
    git_ok(
        &sb,
        &work.join("seed"),
        &["commit", "-q", "--allow-empty", "-m", "seed"],
    );
    let root = sb.path("server");
    std::fs::create_dir(&root).unwrap();
    git_ok(
        &sb,
        &work,
        &[
            "clone",
            "-q",
            "--bare",
            "seed",
            root.join("repo.git").to_str().unwrap(),
        ],
    );
    git_ok(
        &sb,
        &root.join("repo.git"),
        &["config", "http.receivepack", "true"],
    );
    let token = sb.write_file("server-token", "tok-1\n");
    let server = GitServer::start(&root, "ann", &token);
    let url = format!("http://127.0.0.1:{}/repo.git", server.port);
    let label = format!("git/127.0.0.1_{}", server.port);

    // 1. The first login comes from a second helper (git's own store file); git then asks every
    //    helper to store what the server accepted, sesame included.
    let store_file = sb.write_file(
        "git-credentials",
        format!("http://ann:tok-1@127.0.0.1:{}\n", server.port),
    );
    git_config(&sb, &[format!("store --file={}", store_file.display())]);
    git_ok(&sb, &work, &["clone", "-q", &url, "first"]);
    // Plain http to this machine: saved, and noted as answered over http only.
    let secret = sb.secret_json(&label);
    assert_eq!(secret["note"], "username=ann\nprotocol=http");
    assert_eq!(sb.get(&label), "tok-1\n");

    // 2. sesame alone, through the agent, no prompt possible: clone and push.
    git_config(&sb, &[]);
    git_ok(&sb, &work, &["clone", "-q", &url, "second"]);
    let second = work.join("second");
    git_ok(
        &sb,
        &second,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "pushed through sesame",
        ],
    );
    git_ok(&sb, &second, &["push", "-q", "origin", "main"]);
    let log = git(&sb, &root.join("repo.git"), &["log", "--format=%s", "-1"]);
    assert_eq!(
        String::from_utf8_lossy(&log.stdout).trim(),
        "pushed through sesame"
    );
    let events = sb.json(["log", &label, "--json"]);
    let get = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "git-get")
        .expect("a git-get event");
    assert!(
        get["program"]
            .as_str()
            .is_some_and(|p| p.starts_with("git")),
        "the calling program: {get}"
    );

    // 3. The server revokes the token: git's fetch fails, git erases, sesame keeps the secret
    //    and `check` names it.
    std::fs::write(&token, "tok-2\n").unwrap();
    let out = git(&sb, &second, &["fetch", "-q"]);
    assert!(!out.status.success());
    assert_eq!(sb.get(&label), "tok-1\n");
    let a = sb.cmd().arg("check").assert().code(10);
    assert_has(&stdout(&a), &label);
    assert_has(&stdout(&a), "rejected by its server");

    // 4. Rotated to the new token: check is clean, and git works again.
    sb.with_stdin(["rotate", &label], "tok-2").succeeds();
    sb.succeeds(["check"]);
    git_ok(&sb, &second, &["fetch", "-q"]);
    drop(server);
}

#[test]
fn a_credential_helper_on_a_terminal_never_asks_even_the_kdf_cost_question() {
    // git runs its helper with the user's terminal still reachable: a vault whose Argon2 cost
    // is over the budget must be refused with the way to accept it, not asked about there
    // (git's own prompt, or nobody, would be reading that terminal).
    let sb = Sandbox::empty();
    sb.cmd()
        .args(["init", "--kdf-memory", "8MiB", "--kdf-iterations", "11"])
        .args(["--kdf-parallelism", "1", "--no-recovery"])
        .succeeds();
    sb.cmd()
        .args(["--accept-kdf-cost", "add", "git/example.com"])
        .write_stdin("ghp_x")
        .succeeds();
    let shown = sb.shown_on_pty(
        "printf 'protocol=https\\nhost=example.com\\n\\n' | \"$SESAME\" git-credential get; \
         echo \"exit=$?\"",
    );
    assert_lacks(&shown, "Continue?");
    assert_has(&shown, "--accept-kdf-cost");
    assert_has(&shown, "exit=2");
    // With the cost accepted, the same request is answered.
    let shown = sb.shown_on_pty(
        "printf 'protocol=https\\nhost=example.com\\n\\n' | SESAME_ACCEPT_KDF_COST=1 \
         \"$SESAME\" git-credential get",
    );
    assert_has(&shown, "password=ghp_x");
}

#[test]
fn git_credential_answers_a_token_over_https_only_unless_stored_over_http_to_this_machine() {
    // A token stored from https was answered to `protocol=http` for the same host: git would
    // send it in clear to whoever answers 401 there.
    let sb = Sandbox::new();
    sb.with_stdin(
        ["add", "git/example.com", "--note", "username=ann"],
        "ghp_host",
    )
    .succeeds();
    let get = |request: &str| stdout(&helper(&sb, "get", request).success());
    assert_eq!(
        get("protocol=https\nhost=example.com\n\n"),
        "username=ann\npassword=ghp_host\n"
    );
    assert_eq!(get("protocol=http\nhost=example.com\n\n"), "");
    assert_eq!(get("protocol=smtp\nhost=example.com\n\n"), "");
    assert_eq!(get("host=example.com\n\n"), "");
    // A store over http to this machine (a local test server) is noted and answered over http
    // only.
    helper(
        &sb,
        "store",
        "protocol=http\nhost=127.0.0.1:8080\nusername=ann\npassword=tok-local\n\n",
    )
    .success();
    assert_eq!(
        sb.secret_json("git/127.0.0.1_8080")["note"],
        "username=ann\nprotocol=http"
    );
    assert_eq!(
        get("protocol=http\nhost=127.0.0.1:8080\n\n"),
        "username=ann\npassword=tok-local\n"
    );
    assert_eq!(get("protocol=https\nhost=127.0.0.1:8080\n\n"), "");
    // Over http to another host: not saved, said on stderr and in the usage log.
    let a = helper(
        &sb,
        "store",
        "protocol=http\nhost=example.org\nusername=ann\npassword=tok-clear\n\n",
    )
    .success();
    assert_has(&stderr(&a), "not saved (plain http");
    assert_lacks(&stderr(&a), "tok-clear");
    assert!(!sb.labels().contains(&"git/example.org".to_string()));
}

#[test]
fn git_store_writes_only_its_own_label_and_never_rotates_another_users_secret() {
    let sb = Sandbox::new();
    sb.with_stdin(
        ["add", "git/example.com", "--note", "username=ann"],
        "ghp_ann",
    )
    .succeeds();
    // Another user for the same host: ann's token is left as it was.
    let a = helper(
        &sb,
        "store",
        "protocol=https\nhost=example.com\nusername=bob\npassword=tok-bob\n\n",
    )
    .success();
    assert_has(
        &stderr(&a),
        "git/example.com not changed, its note names another user",
    );
    assert_eq!(stderr(&a).lines().count(), 1, "{}", stderr(&a));
    assert_eq!(sb.get("git/example.com"), "ghp_ann\n");
    assert_eq!(sb.secret_json("git/example.com")["version"], 1);
    // With a path (credential.useHttpPath): `get` falls back to the host's token, but `store`
    // saves the repository's own secret and leaves the host-wide one alone.
    helper(
        &sb,
        "store",
        "protocol=https\nhost=example.com\npath=org/repo.git\nusername=ann\npassword=tok-repo\n\n",
    )
    .success();
    assert_eq!(sb.get("git/example.com"), "ghp_ann\n");
    assert_eq!(sb.get("git/example.com/org/repo.git"), "tok-repo\n");
    // A note that names no user gets the user the server accepted, its other lines kept.
    sb.with_stdin(["add", "git/example.net", "--note", "work account"], "t1")
        .succeeds();
    helper(
        &sb,
        "store",
        "protocol=https\nhost=example.net\nusername=carol\npassword=t2\n\n",
    )
    .success();
    assert_eq!(
        sb.secret_json("git/example.net")["note"],
        "work account\nusername=carol"
    );
    let (actions, _) = sb.log_actions();
    assert_eq!(actions.iter().filter(|a| *a == "git-store").count(), 3);
}

#[test]
fn git_store_of_a_token_with_an_expiry_saves_nothing_and_says_so_in_the_log() {
    let sb = Sandbox::new();
    helper(
        &sb,
        "store",
        "protocol=https\nhost=example.com\nusername=ann\npassword=gho_short\n\
         password_expiry_utc=1767225600\n\n",
    )
    .success();
    assert!(sb.labels().is_empty());
    let log = sb.ok(["log", "--json"]);
    assert_has(&log, "not saved (a token with password_expiry_utc)");
}

#[test]
fn a_host_in_the_usage_log_is_cut_to_200_characters() {
    let sb = Sandbox::new();
    let host = format!("{}.example.com", "a".repeat(400));
    helper(&sb, "get", &format!("protocol=https\nhost={host}\n\n")).success();
    let log = sb.ok(["log", "--json"]);
    assert_has(&log, &format!("get for {}…", "a".repeat(200)));
    assert_lacks(&log, &"a".repeat(201));
}
