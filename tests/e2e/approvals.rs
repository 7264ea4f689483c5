//! Approvals: confirmed secrets are released only when a person answers on the console that
//! `unlock --confirm` keeps open. Each test drives a real console on a pseudo-terminal (util-linux
//! `script`, fed through a pipe) and asks for secrets from other processes, as an AI coding agent
//! or a script would; without `script` the tests say so and pass.

use std::io::Write;
use std::process::{ChildStdin, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::harness::*;

/// An approval console on a pseudo-terminal of its own: what it shows, and a way to type.
struct Console {
    child: KilledOnDrop,
    keys: Option<ChildStdin>,
    shown: Arc<Mutex<Vec<u8>>>,
}

impl Console {
    /// `sesame unlock --confirm` on a new terminal, with `env` added; `None` without `script`.
    /// Returns once the console says it is serving.
    fn start(sb: &Sandbox, env: &[(&str, &str)]) -> Option<Console> {
        if script_missing() {
            return None;
        }
        let mut cmd = sb.on_pty("exec \"$SESAME\" unlock --confirm");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (child, keys, shown) = spawn_watched(cmd);
        let console = Console { child, keys, shown };
        console.wait_for("Approval console");
        Some(console)
    }

    /// Everything the terminal showed so far.
    fn shown(&self) -> String {
        String::from_utf8_lossy(&self.shown.lock().unwrap()).replace("\r\n", "\n")
    }

    /// Waits (at most 30 s, a hang guard) until the terminal has shown `needle` `times` times.
    fn wait_for_nth(&self, needle: &str, times: usize) -> String {
        wait_until_shown(|| self.shown(), needle, times, 30)
    }

    fn wait_for(&self, needle: &str) -> String {
        self.wait_for_nth(needle, 1)
    }

    /// Types `keys` on the console's terminal.
    fn type_keys(&mut self, keys: &str) {
        let input = self.keys.as_mut().expect("the console's input");
        input.write_all(keys.as_bytes()).expect("typing");
        input.flush().expect("typing");
    }

    /// Waits until the console shows `asked`, types `keys` and waits for `request` to end.
    fn answer(&mut self, asked: &str, keys: &str, request: Request) -> (i32, String, String) {
        self.wait_for(asked);
        self.type_keys(keys);
        request.join().unwrap()
    }

    /// Ctrl-C on the console; waits for it to end.
    fn interrupt(mut self) -> String {
        self.type_keys("\x03");
        self.wait_for("Approval console closed");
        drop(self.keys.take());
        let _ = self.child.wait();
        self.shown()
    }
}

#[test]
fn a_second_console_cannot_attach_to_a_running_agent() {
    let sb = Sandbox::new();
    let Some(console) = Console::start(&sb, &[]) else {
        return;
    };
    sb.fails_with(
        ["unlock", "--confirm"],
        2,
        "a console can only be joined to an agent as it starts",
    );
    // Not on a terminal either: the same answer, before anything else.
    let mut on_pty = sb.on_pty("\"$SESAME\" unlock --confirm; echo \"exit $?\"");
    on_pty.stdin(Stdio::piped());
    let out = with_deadline(on_pty);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("already running") && shown.contains("exit 2"),
        "{shown}"
    );
    let shown = console.interrupt();
    assert_lacks(&shown, "is asked for");
}
/// `sesame get LABEL` started now with no passphrase source (only the agent can open the vault),
/// finished on another thread: its exit code, stdout and stderr.
fn get_later(sb: &Sandbox, label: &str) -> Request {
    later(sb, &["get", label])
}

/// A client's request in flight: its exit code, stdout and stderr once it ends.
type Request = std::thread::JoinHandle<(i32, String, String)>;

/// `sesame ARGS` started now with no passphrase source, finished on another thread.
fn later(sb: &Sandbox, args: &[&str]) -> Request {
    let mut cmd = sb.process();
    cmd.env_remove("SESAME_PASSPHRASE").args(args);
    in_background(cmd)
}

/// Asserts that a request ended with exit code 0 and `value` on stdout (showing its stderr if
/// not).
#[track_caller]
fn assert_released((code, out, err): (i32, String, String), value: &str) {
    assert_eq!((code, out.as_str()), (0, value), "{err}");
}

fn in_background(cmd: std::process::Command) -> Request {
    std::thread::spawn(move || {
        let out = with_deadline(cmd);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
}

/// A command with no passphrase source: only the agent can open the vault.
fn no_pass(sb: &Sandbox) -> assert_cmd::Command {
    let mut cmd = sb.cmd();
    cmd.env_remove("SESAME_PASSPHRASE");
    cmd
}

/// A vault with `api` (confirmed) and `plain` (not).
fn confirmed_vault() -> Sandbox {
    let sb = Sandbox::new();
    sb.add("api", "sk-confirmed-0123456789");
    sb.add("plain", "not-confirmed-value");
    sb.succeeds(["edit", "api", "--confirm"]);
    sb
}

/// [`confirmed_vault`] with a console on it; `None` without `script`.
fn confirmed_vault_with_console() -> Option<(Sandbox, Console)> {
    let sb = confirmed_vault();
    let console = Console::start(&sb, &[])?;
    Some((sb, console))
}

/// A console on `sb` that answered `a` (always) to a `get api` from this test, which then
/// succeeded; `None` without `script`.
fn console_that_approved_always(sb: &Sandbox) -> Option<Console> {
    let mut console = Console::start(sb, &[])?;
    let get = get_later(sb, "api");
    assert_eq!(console.answer("allow?", "a\n", get).0, 0);
    Some(console)
}

#[test]
fn a_secret_added_with_confirm_needs_approval_from_the_start() {
    let sb = Sandbox::new();
    sb.with_stdin(["add", "db", "--confirm"], "db-password-value")
        .succeeds();
    assert_eq!(sb.json(["show", "db", "--json"])["confirm"], true);
    sb.succeeds(["unlock"]);
    no_pass(&sb)
        .args(["get", "db"])
        .fails_with(3, "db needs a person's approval");
}

/// The details of the usage log's approval events (the decision words and who asked).
fn decisions(sb: &Sandbox) -> Vec<String> {
    let log = sb.json(["log", "--json"]);
    log.as_array()
        .expect("array")
        .iter()
        .filter(|e| e["action"] == "approval")
        .map(|e| e["detail"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_confirmed_secret_is_released_once_when_the_console_answers_y() {
    let Some((sb, mut console)) = confirmed_vault_with_console() else {
        return;
    };
    let get = get_later(&sb, "api");
    let shown = console.wait_for("allow?");
    assert_has(&shown, "[1] api is asked for by pid");
    assert!(
        shown.contains("command  ") && shown.contains(" get api"),
        "{shown}"
    );
    console.type_keys("y\n");
    assert_released(get.join().unwrap(), "sk-confirmed-0123456789\n");
    console.wait_for("approved once");
    // Once means once: the next request is asked again.
    let again = get_later(&sb, "api");
    assert_eq!(console.answer("[2] api is asked for", "y\n", again).0, 0);
    let log = decisions(&sb);
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[0].starts_with("approved once: sesame (pid "), "{log:?}");
}

#[test]
fn a_denied_request_exits_3_and_is_logged() {
    let Some((sb, mut console)) = confirmed_vault_with_console() else {
        return;
    };
    let get = get_later(&sb, "api");
    let (code, out, err) = console.answer("allow?", "n\n", get);
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty());
    assert_has(&err, "api was denied on the approval console");
    console.wait_for("denied");
    let log = decisions(&sb);
    assert!(
        log.iter().any(|d| d.starts_with("denied: sesame (pid ")),
        "{log:?}"
    );
}

#[test]
fn always_approves_the_same_program_for_the_agents_life() {
    let sb = confirmed_vault();
    let Some(mut console) = console_that_approved_always(&sb) else {
        return;
    };
    console.wait_for("approved for this program");
    // The same command from the same parent (this test): released without asking.
    for _ in 0..2 {
        let (code, out, _) = get_later(&sb, "api").join().unwrap();
        assert_eq!((code, out.as_str()), (0, "sk-confirmed-0123456789\n"));
    }
    assert_eq!(console.shown().matches("is asked for").count(), 1);
    // Another command line is another program: asked.
    let other = later(&sb, &["get", "api", "--version", "1"]);
    assert_eq!(console.answer("[2] api is asked for", "n\n", other).0, 3);
    let log = decisions(&sb);
    assert!(
        log.iter()
            .filter(|d| d.starts_with("approved (remembered): "))
            .count()
            == 2,
        "{log:?}"
    );
}

/// The agent wrote a decision on the connection's own thread, while the client, holding the
/// write lock for its own `get` record, asked that connection for its log key: the agent gave up
/// on the lock after 1 s and the decision was lost (about one request in eight).
#[test]
fn every_decision_is_in_the_usage_log_even_when_the_client_records_at_once() {
    let sb = confirmed_vault();
    let Some(_console) = console_that_approved_always(&sb) else {
        return;
    };
    for _ in 0..20 {
        no_pass(&sb).args(["get", "api"]).succeeds();
    }
    // The agent's log writes may finish after the client's: wait until they are all there.
    let start = Instant::now();
    while decisions(&sb).len() < 21 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = decisions(&sb);
    assert_eq!(log.len(), 21, "{log:?}");
    assert_eq!(
        log.iter()
            .filter(|d| d.starts_with("approved (remembered): "))
            .count(),
        20
    );
}

#[test]
fn after_the_console_is_closed_confirmed_secrets_are_denied_at_once() {
    let sb = confirmed_vault();
    // Even a program answered `a` before.
    let Some(console) = console_that_approved_always(&sb) else {
        return;
    };
    console.wait_for("approved for this program");
    let shown = console.interrupt();
    assert_has(&shown, "confirmed secrets are denied from now on");
    no_pass(&sb)
        .args(["get", "api"])
        .fails_with(3, "run `sesame lock`, then `sesame unlock --confirm`");
    // Unconfirmed secrets work as before, through the same agent.
    no_pass(&sb)
        .args(["get", "plain"])
        .succeeds()
        .stdout("not-confirmed-value\n");
    assert!(decisions(&sb).iter().any(|d| d.starts_with("no console: ")));
}

#[test]
fn without_a_console_a_confirmed_secret_is_denied_and_an_unanswered_one_after_the_wait() {
    let sb = confirmed_vault();
    // An agent started without --confirm never has a console: denied at once.
    sb.succeeds(["unlock"]);
    no_pass(&sb).args(["get", "api"]).fails_with(
        3,
        "no approval console is attached: run `sesame lock`, then `sesame unlock --confirm`",
    );
    sb.succeeds(["lock"]);
    // A console nobody answers: denied when the wait (1 s here) is over, and the console says so.
    let Some(console) = Console::start(&sb, &[("SESAME_CONFIRM_WAIT", "1")]) else {
        return;
    };
    let (code, _, err) = get_later(&sb, "api").join().unwrap();
    assert_eq!(code, 3, "{err}");
    assert_has(&err, "nobody answered on the approval console in time");
    console.wait_for("not answered in time: denied");
    assert!(
        decisions(&sb)
            .iter()
            .any(|d| d.starts_with("not answered: "))
    );
}

#[test]
fn the_console_reminds_once_how_long_is_left_before_a_request_is_denied() {
    // The prompt's "(N s)" could not tick; a reminder line comes at a third of a short wait
    // (1 s left of about 5 here; 10 s left of the usual 60), the question asked again after it.
    let sb = confirmed_vault();
    let Some(console) = Console::start(&sb, &[("SESAME_CONFIRM_WAIT", "6")]) else {
        return;
    };
    let asked = get_later(&sb, "api");
    console.wait_for("1 s left: allow? y once / a always / n deny: ");
    console.wait_for("not answered in time: denied");
    let (code, _, err) = asked.join().unwrap();
    assert_eq!(code, 3, "{err}");
}

#[test]
fn a_confirmed_secret_is_refused_to_a_process_in_another_pid_or_user_namespace() {
    // Inside its own user namespace a process may name another process of its pid namespace as
    // the sender of what it writes (SCM_CREDENTIALS): the console would show that one. Such a
    // requester is refused before the console is asked.
    if !command("unshare")
        .args(["-Urpf", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("skipped: unshare cannot make user and pid namespaces here");
        return;
    }
    let sb = confirmed_vault();
    let Some(mut console) = Console::start(&sb, &[]) else {
        return;
    };
    let mut cmd = sb.helper_process("unshare");
    cmd.stdin(std::process::Stdio::null())
        .args(["-Urpf", "--"])
        .arg(sesame_path())
        .args(["get", "api"]);
    let (code, out, err) = in_background(cmd).join().unwrap();
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("runs in another pid or user namespace"),
        "{err}"
    );
    assert!(!console.shown().contains("is asked for by pid"));
    // The same request from this namespace reaches the console.
    let asked = get_later(&sb, "api");
    console.wait_for("api is asked for by pid");
    console.type_keys("n\n");
    assert_eq!(asked.join().unwrap().0, 3);
}

#[test]
fn unconfirmed_secrets_are_not_asked_for_on_the_console() {
    let Some((sb, console)) = confirmed_vault_with_console() else {
        return;
    };
    no_pass(&sb)
        .args(["get", "plain"])
        .succeeds()
        .stdout("not-confirmed-value\n");
    no_pass(&sb)
        .args([
            "run",
            "--env",
            "P=plain",
            "--",
            "sh",
            "-c",
            "printf %s \"$P\"",
        ])
        .succeeds()
        .stdout("not-confirmed-value");
    assert!(!console.shown().contains("is asked for"));
}

#[test]
fn the_console_shows_the_parent_chain_up_to_the_program_that_started_the_request() {
    let Some((sb, mut console)) = confirmed_vault_with_console() else {
        return;
    };
    // A stand-in for a coding agent: a program named `claude` that runs `sesame get`.
    let claude = sb.dir.path().join("claude");
    std::fs::write(&claude, "#!/bin/sh\n\"$SESAME\" get api\n").unwrap();
    std::fs::set_permissions(&claude, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut cmd = command(&claude);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sb.dir.path())
        .env("XDG_RUNTIME_DIR", sb.runtime_dir())
        .env("SESAME_VAULT", &sb.vault)
        .env("SESAME", sesame_path())
        .current_dir(sb.dir.path());
    let run = in_background(cmd);
    let shown = console.wait_for("allow?");
    let chain = shown
        .lines()
        .find(|l| l.contains("chain "))
        .unwrap_or_default()
        .to_string();
    assert!(
        chain.contains(" get api ← ") && chain.contains("claude"),
        "{shown}"
    );
    console.type_keys("y\n");
    assert_eq!(run.join().unwrap().0, 0);
    let log = decisions(&sb);
    assert!(
        log.iter()
            .any(|d| d.contains("started by sh") || d.contains("started by claude")),
        "{log:?}"
    );
}

#[test]
fn run_of_a_confirmed_secret_starts_the_program_only_when_approved() {
    let Some((sb, mut console)) = confirmed_vault_with_console() else {
        return;
    };
    let run = later(
        &sb,
        &[
            "run",
            "--env",
            "K=api",
            "--env",
            "P=plain",
            "--",
            "sh",
            "-c",
            "printf '%s %s' \"$K\" \"$P\"",
        ],
    );
    assert_released(
        console.answer("allow?", "y\n", run),
        "sk-confirmed-0123456789 not-confirmed-value",
    );
    let run = later(&sb, &["run", "--all", "--", "sh", "-c", "echo started"]);
    let (code, out, _) = console.answer("[2] api is asked for", "n\n", run);
    assert_eq!(code, 3);
    assert!(!out.contains("started"));
}

#[test]
fn the_confirm_mark_is_shown_and_removing_it_needs_an_approval_like_a_get() {
    let sb = confirmed_vault();
    assert_eq!(sb.json(["show", "api", "--json"])["confirm"], true);
    assert_eq!(
        labelled(&sb.json(["list", "--json"]), "plain")["confirm"],
        false
    );
    assert!(sb.ok(["show", "api"]).contains("approval"));
    // With the passphrase in this process there is no agent to ask: whoever gives it approves.
    sb.succeeds(["get", "api"])
        .stdout("sk-confirmed-0123456789\n");
    // A rotated value of a confirmed secret is sealed too, and `rekey` (a new data key, so new
    // keys for sealed values) keeps every version readable.
    sb.with_stdin(["rotate", "api"], "sk-rotated-value")
        .succeeds();
    sb.succeeds(["rekey", "--no-recovery"]);
    sb.succeeds(["get", "api", "--version", "1"])
        .stdout("sk-confirmed-0123456789\n");
    let Some(mut console) = Console::start(&sb, &[]) else {
        return;
    };
    let edit = later(&sb, &["edit", "api", "--no-confirm"]);
    console.wait_for("[1] api is asked for");
    console.type_keys("y\n");
    let (code, _, err) = edit.join().unwrap();
    assert_eq!(code, 0, "{err}");
    // Unsealed: every version opens with no console.
    no_pass(&sb)
        .args(["get", "api"])
        .succeeds()
        .stdout("sk-rotated-value\n");
    no_pass(&sb)
        .args(["get", "api", "--version", "1"])
        .succeeds()
        .stdout("sk-confirmed-0123456789\n");
    assert_eq!(console.shown().matches("is asked for").count(), 1);
    assert_eq!(sb.json(["show", "api", "--json"])["confirm"], false);
}

#[test]
fn inject_and_the_credential_helpers_release_a_confirmed_secret_only_with_approval() {
    let sb = Sandbox::new();
    sb.add("git/example.com", "ghp-confirmed-token-0123");
    sb.add("plain", "not-confirmed-value");
    sb.succeeds(["edit", "git/example.com", "--confirm"]);
    let template = sb.write_file("app.tpl", "token={{ sesame://git/example.com }}\n");
    let plain = sb.write_file("plain.tpl", "p={{ sesame://plain }}\n");
    // No console: the confirmed secret is refused by every way out, the other one is not.
    sb.succeeds(["unlock"]);
    let refused = "no approval console is attached";
    no_pass(&sb)
        .args(["inject", "-i"])
        .arg(&template)
        .fails_with(3, refused);
    no_pass(&sb)
        .args(["git-credential", "get"])
        .write_stdin("protocol=https\nhost=example.com\n\n")
        .fails_with(3, refused);
    no_pass(&sb)
        .arg("run")
        .arg("--template")
        .arg(format!("CONF={}", template.display()))
        .args(["--", "true"])
        .fails_with(3, refused);
    no_pass(&sb)
        .args(["inject", "-i"])
        .arg(&plain)
        .succeeds()
        .stdout("p=not-confirmed-value\n");
    sb.succeeds(["lock"]);
    // With a console, `y` releases it to inject.
    let Some(mut console) = Console::start(&sb, &[]) else {
        return;
    };
    let mut cmd = sb.process();
    cmd.env_remove("SESAME_PASSPHRASE")
        .arg("inject")
        .arg("-i")
        .arg(&template);
    let inject = in_background(cmd);
    let shown = console.wait_for("allow?");
    assert_has(&shown, "git/example.com is asked for");
    console.type_keys("y\n");
    assert_released(inject.join().unwrap(), "token=ghp-confirmed-token-0123\n");
}

#[test]
fn the_console_names_a_secret_by_its_label_at_unlock_so_a_rename_swap_cannot_disguise_it() {
    let sb = confirmed_vault();
    sb.add("harmless", "harmless-value");
    sb.succeeds(["edit", "harmless", "--confirm"]);
    let Some(mut console) = Console::start(&sb, &[]) else {
        return;
    };
    // A client swaps two labels, which needs no approval, then asks for the "harmless" one.
    for (from, to) in [("api", "tmp"), ("harmless", "api"), ("tmp", "harmless")] {
        no_pass(&sb).args(["edit", from, "--rename", to]).succeeds();
    }
    let get = get_later(&sb, "harmless");
    let shown = console.wait_for("allow?");
    assert_has(&shown, "api (renamed harmless since unlock) is asked for");
    console.type_keys("n\n");
    let (code, out, _) = get.join().unwrap();
    assert_eq!((code, out.as_str()), (3, ""));
}

#[test]
fn marking_a_stored_secret_warns_that_older_copies_hold_its_values_unsealed() {
    let sb = Sandbox::new();
    sb.add("old", "stored-before-the-mark");
    sb.succeeds(["edit", "old", "--confirm"])
        .stderr(predicates::str::contains(
            "still hold old's values unsealed",
        ));
    // One added marked was never stored unsealed: nothing to warn about.
    sb.with_stdin(["add", "new", "--confirm"], "sealed-from-the-start")
        .succeeds();
    sb.succeeds(["edit", "new", "--confirm"]).stderr(
        predicates::prelude::PredicateBooleanExt::not(predicates::str::contains("unsealed")),
    );
}

/// The body of an open-confirmed request for the current value of `label`, as a client builds
/// it, read from the vault through the library (the test knows the passphrase).
fn open_confirmed_request(sb: &Sandbox, label: &str) -> Vec<u8> {
    use sesame::agent::protocol::{Request, VALUE_SALT_LEN};
    use sesame::vault::StoredValue;
    let pass = sesame::secret::Passphrase::from_string(PASS.to_string());
    let opened =
        sesame::container::UnlockedVault::open(&sb.vault_bytes(), &pass, &sb.vault).unwrap();
    let secret = opened
        .vault
        .secrets
        .iter()
        .find(|s| s.label.as_str() == label)
        .expect("the secret");
    let StoredValue::Sealed(sealed) = &secret.current.value else {
        panic!("{label} is not sealed");
    };
    Request::OpenConfirmed {
        vault_id: opened.header.vault_id,
        key_generation: opened.header.key_generation,
        salts: vec![sealed.0[..VALUE_SALT_LEN].try_into().unwrap()],
    }
    .encode()
}

/// Connects to the agent (argv 1), hands the socket to a child and becomes `sleep 30`; the child
/// waits until its parent shows as `sleep`, sends the request (argv 2, hex) and prints its pid,
/// then the answer's first byte (0 released, 1 refused), and ends the `sleep`.
const HANDED_OVER: &str = r#"
import os, socket, struct, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
body = bytes.fromhex(sys.argv[2])
if os.fork():
    os.execvp("sleep", ["sleep", "30"])
parent = os.getppid()
for _ in range(1000):
    with open(f"/proc/{parent}/cmdline", "rb") as f:
        if f.read().startswith(b"sleep"):
            break
    time.sleep(0.01)
print(os.getpid(), parent, flush=True)
s.sendall(struct.pack("<I", len(body)) + body)
s.settimeout(30)
head = s.recv(4)
answer = s.recv(struct.unpack("<I", head)[0]) if len(head) == 4 else b"?"
print(answer[:1].hex(), flush=True)
os.kill(parent, 9)
"#;

/// The console showed the process that *connected* (`SO_PEERCRED`, recorded at connect time): a
/// program could connect, hand the socket to a child and replace itself with a harmless-looking
/// one (`exec`); the console then showed that one, and an `a` given to it matched, while the
/// child asked. The request is now the child's, by the credentials the kernel attaches to the
/// bytes it wrote.
#[test]
fn the_console_names_the_process_that_sent_the_request_not_the_one_that_connected() {
    let Some((sb, mut console)) = confirmed_vault_with_console() else {
        return;
    };
    let script = sb.write_file("handed_over.py", HANDED_OVER);
    let mut cmd = command("python3");
    cmd.arg(&script)
        .arg(sb.agent_socket())
        .arg(hex(&open_confirmed_request(&sb, "api")))
        .stdin(Stdio::null())
        .current_dir(sb.dir.path());
    let attack = in_background(cmd);
    let shown = console.wait_for("allow?");
    let request = &shown[shown.find("[1] api").expect("the request")..];
    let line = |name: &str| {
        request
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("command").contains("handed_over.py"), "{request}");
    assert!(line("program").contains("python"), "{request}");
    assert!(!line("command").contains("sleep"), "{request}");
    assert_has(request, ", on a connection opened by pid ");
    console.type_keys("n\n");
    // The script's exit code is that of the `sleep` its child kills.
    let (_, out, err) = attack.join().unwrap();
    let mut printed = out.lines();
    let pids: Vec<&str> = printed.next().unwrap_or_default().split(' ').collect();
    assert_eq!(printed.next(), Some("01"), "not refused: {out}{err}");
    // The sender's pid is the one asked for; the one that connected is named as such.
    assert!(
        request.contains(&format!(
            "is asked for by pid {}, on a connection opened by pid {}",
            pids[0], pids[1]
        )),
        "{request}\n{out}"
    );
    let log = decisions(&sb);
    assert!(
        log.iter().any(|d| d.starts_with("denied: python")
            && d.contains(&format!(
                "(pid {}, on a connection opened by pid {}",
                pids[0], pids[1]
            ))),
        "{log:?}"
    );
}
