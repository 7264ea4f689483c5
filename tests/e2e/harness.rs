//! A private vault per test: a temp folder, an environment with nothing inherited but `PATH`, and
//! helpers that run the real binary the way a user would.
//!
//! Every process a test starts is made here ([`command`]), detached from the developer's terminal:
//! a session of its own (no controlling terminal, so no prompt can find `/dev/tty` and Ctrl-C
//! reaches cargo, not a child), stdin at `/dev/null`, and none of the developer's `SESAME_*`,
//! `BAO_*`, `VAULT_*` or `SSH_AUTH_SOCK`. A test that needs a terminal makes one of its own
//! (`script`). `every_test_process_is_started_through_the_harness` keeps it that way.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use assert_cmd::assert::Assert;
use tempfile::TempDir;

pub const PASS: &str = "correct horse battery staple";

/// The small Argon2 parameters every test uses (the defaults are checked once, in `init`).
pub const FAST_KDF: [&str; 7] = [
    "init",
    "--kdf-memory",
    "8MiB",
    "--kdf-iterations",
    "1",
    "--kdf-parallelism",
    "1",
];

pub struct Sandbox {
    pub dir: TempDir,
    pub vault: PathBuf,
}

impl Sandbox {
    /// A sandbox without a vault. Agents it starts live in its own runtime folder.
    pub fn empty() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let vault = dir.path().join("data").join("vault.sesame");
        Sandbox { dir, vault }
    }

    /// `$XDG_RUNTIME_DIR` of this sandbox: where its agents' sockets go.
    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// The socket of this sandbox's running agent.
    pub fn agent_socket(&self) -> PathBuf {
        let folder = self.runtime_dir().join("sesame");
        std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "sock"))
            .expect("an agent socket")
    }

    /// A sandbox with a new vault (passphrase [`PASS`], no recovery code).
    pub fn new() -> Sandbox {
        let sb = Sandbox::empty();
        sb.init().success();
        sb
    }

    pub fn init(&self) -> Assert {
        self.cmd().args(FAST_KDF).arg("--no-recovery").assert()
    }

    /// `sesame` with the vault and passphrase set through the environment.
    pub fn cmd(&self) -> Command {
        let mut cmd = self.bare();
        cmd.env("SESAME_VAULT", &self.vault)
            .env("SESAME_PASSPHRASE", PASS);
        cmd
    }

    /// `sesame` with an environment holding only PATH and a private HOME.
    pub fn bare(&self) -> Command {
        let mut cmd = Command::from_std(sesame());
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .current_dir(self.dir.path());
        cmd
    }

    /// The same as [`Sandbox::cmd`] as a `std::process::Command`, for tests that talk to a
    /// running sesame through pipes or signals.
    pub fn process(&self) -> std::process::Command {
        let mut cmd = self.helper_process(sesame_path());
        cmd.env("SESAME_PASSPHRASE", PASS)
            .stdin(Stdio::null())
            .current_dir(self.dir.path());
        cmd
    }

    /// `program` as git or docker runs a credential helper: only PATH, HOME, XDG_RUNTIME_DIR and
    /// this sandbox's vault in its environment (no passphrase source), stdin a pipe.
    pub fn helper_process(&self, program: impl AsRef<OsStr>) -> std::process::Command {
        let mut cmd = command(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("SESAME_VAULT", &self.vault)
            .stdin(Stdio::piped());
        cmd
    }

    /// `script -qfec LINE /dev/null`: the shell line LINE on a pseudo-terminal of its own, with
    /// `$SESAME` the binary under test and this sandbox's vault and passphrase in its
    /// environment, `TERM=xterm`, in the sandbox's folder.
    pub fn on_pty(&self, line: &str) -> std::process::Command {
        let mut cmd = command("script");
        cmd.args(["-qfec", line, "/dev/null"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("SESAME", sesame_path())
            .env("SESAME_VAULT", &self.vault)
            .env("SESAME_PASSPHRASE", PASS)
            .env("TERM", "xterm")
            .current_dir(self.dir.path());
        cmd
    }

    /// [`Sandbox::on_pty`] with no passphrase source, so that sesame asks on the terminal, and
    /// the three streams piped.
    pub fn on_pty_asking(&self, line: &str) -> std::process::Command {
        let mut cmd = self.on_pty(line);
        cmd.env_remove("SESAME_PASSPHRASE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// A sandbox with a new vault holding `(label, value)` each, under its default env name.
    pub fn with_secrets(secrets: &[(&str, &str)]) -> Sandbox {
        let sb = Sandbox::new();
        for (label, value) in secrets {
            sb.add(label, value);
        }
        sb
    }

    /// A sandbox with a new vault holding only `gh` (env `GH_TOKEN`) = `ghp_token_abc`.
    pub fn with_gh_token() -> Sandbox {
        let sb = Sandbox::new();
        sb.add_with_env("gh", "GH_TOKEN", "ghp_token_abc");
        sb
    }

    /// A sandbox with a new vault holding `openai/prod` = `sk-live-0123456789` and `gh`
    /// (env `GH_TOKEN`) = `ghp_token_abc`: the two secrets most `run` tests select.
    pub fn with_run_secrets() -> Sandbox {
        let sb = Sandbox::new();
        sb.add("openai/prod", "sk-live-0123456789");
        sb.add_with_env("gh", "GH_TOKEN", "ghp_token_abc");
        sb
    }

    /// `sesame` with `pass` as the passphrase in place of [`PASS`].
    pub fn with_pass(&self, pass: &str) -> Command {
        let mut cmd = self.cmd();
        cmd.env("SESAME_PASSPHRASE", pass);
        cmd
    }

    /// [`Sandbox::cmd`] pointed at the OpenBao server at `addr` with `token`.
    pub fn with_bao(&self, addr: impl AsRef<OsStr>, token: impl AsRef<OsStr>) -> Command {
        let mut cmd = self.cmd();
        cmd.env("BAO_ADDR", addr).env("BAO_TOKEN", token);
        cmd
    }

    /// `sesame ARGS` with `input` on its stdin.
    pub fn with_stdin<I, S>(&self, args: I, input: impl Into<Vec<u8>>) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.cmd();
        cmd.args(args).write_stdin(input);
        cmd
    }

    /// `sesame ARGS`, which must succeed.
    pub fn succeeds<I, S>(&self, args: I) -> Assert
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd().args(args).succeeds()
    }

    /// `sesame --vault VAULT ARGS` (another vault file, this sandbox's passphrase), which must
    /// succeed.
    pub fn succeeds_on<I, S>(&self, vault: &Path, args: I) -> Assert
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd().arg("--vault").arg(vault).args(args).succeeds()
    }

    /// `sesame ARGS`, which must succeed; its stdout.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        stdout(&self.succeeds(args))
    }

    /// `sesame ARGS`, which must fail with `code` and an error containing `needle` ([`fails`]).
    pub fn fails_with<I, S>(&self, args: I, code: i32, needle: &str) -> Assert
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd().args(args).fails_with(code, needle)
    }

    /// What `sesame ARGS` prints, which must succeed and be JSON (`--json` output).
    pub fn json<I, S>(&self, args: I) -> serde_json::Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        serde_json::from_slice(&self.succeeds(args).get_output().stdout).expect("JSON output")
    }

    /// `sesame run ARGS -- sh -c SCRIPT`, not yet judged.
    pub fn run_sh(&self, args: &[&str], script: &str) -> Assert {
        self.cmd()
            .arg("run")
            .args(args)
            .args(["--", "sh", "-c", script])
            .assert()
    }

    /// `sesame run --env-file FILE -- sh -c SCRIPT`, not yet judged.
    pub fn run_env_file_sh(&self, file: &Path, script: &str) -> Assert {
        self.cmd()
            .args(["run", "--env-file"])
            .arg(file)
            .args(["--", "sh", "-c", script])
            .assert()
    }

    /// What the terminal showed while SCRIPT ran in `sh` on a new one ([`Sandbox::on_pty`]), with
    /// an input that stays open and empty, `\r\n` turned into `\n`; at most 30 s.
    pub fn shown_on_pty(&self, script: &str) -> String {
        let mut cmd = self.on_pty(script);
        // An input that stays open and empty: at end of input `script` types a NUL, which the
        // terminal echoes as `^@`.
        cmd.stdin(Stdio::piped());
        let out = with_deadline(cmd);
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
    }

    /// `sesame add LABEL` with `value` on stdin, which must succeed.
    pub fn add(&self, label: &str, value: &str) {
        self.with_stdin(["add", label], value).succeeds();
    }

    /// `sesame add LABEL --env NAME` with `value` on stdin, which must succeed.
    pub fn add_with_env(&self, label: &str, env: &str, value: &str) {
        self.with_stdin(["add", label, "--env", env], value)
            .succeeds();
    }

    /// `sesame passwd` to `new` (small KDF parameters), which must succeed.
    pub fn passwd(&self, new: &str) -> Assert {
        self.cmd()
            .args(["passwd", "--kdf-memory", "8MiB", "--kdf-iterations", "1"])
            .env("SESAME_NEW_PASSPHRASE", new)
            .succeeds()
    }

    /// `sesame get LABEL --identity FILE` with the vault set and no passphrase source: the
    /// identity (an age identity or an SSH key) must open the vault by itself.
    pub fn get_with_identity(&self, label: &str, identity: &Path) -> Assert {
        let mut cmd = self.bare();
        cmd.env("SESAME_VAULT", &self.vault)
            .args(["get", label, "--identity"])
            .arg(identity);
        cmd.assert()
    }

    /// `sesame import --dotenv FILE`, with the environment of [`Sandbox::cmd`].
    pub fn import(&self, file: &Path) -> Assert {
        self.cmd().args(["import", "--dotenv"]).arg(file).assert()
    }

    pub fn get(&self, label: &str) -> String {
        let out = self.succeeds(["get", label]);
        String::from_utf8(out.get_output().stdout.clone()).expect("utf-8 value")
    }

    pub fn list_json(&self) -> serde_json::Value {
        self.json(["list", "--json"])
    }

    pub fn labels(&self) -> Vec<String> {
        labels_in(&self.list_json())
    }

    /// Labels of the vault file at `path` (a copy or generation), opened with [`PASS`].
    pub fn labels_of(&self, path: &Path) -> Vec<String> {
        let list = self
            .cmd()
            .arg("--vault")
            .arg(path)
            .args(["list", "--json"])
            .succeeds();
        labels_in(&serde_json::from_slice(&list.get_output().stdout).expect("list --json is JSON"))
    }

    /// The entry of `list --json` labelled `label`.
    pub fn secret_json(&self, label: &str) -> serde_json::Value {
        labelled(&self.list_json(), label)
    }

    /// The actions `sesame log --json` lists (newest first) with passphrase `pass`, and its stderr.
    pub fn log_actions_with(&self, pass: &str) -> (Vec<String>, String) {
        let a = self.with_pass(pass).args(["log", "--json"]).succeeds();
        let log: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
        let actions = log
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect();
        (actions, stderr(&a))
    }

    /// [`Sandbox::log_actions_with`] the sandbox's passphrase.
    pub fn log_actions(&self) -> (Vec<String>, String) {
        self.log_actions_with(PASS)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `sesame backup` to the file `name` in the sandbox's folder, which must succeed; its path.
    pub fn backup_to(&self, name: &str) -> PathBuf {
        let copy = self.path(name);
        self.cmd().arg("backup").arg(&copy).succeeds();
        copy
    }

    /// The folder `backups/KIND` beside the vault (`auto`: its generations; `damaged`: what
    /// was set aside).
    pub fn backups(&self, kind: &str) -> PathBuf {
        self.vault
            .parent()
            .expect("the vault is in a folder")
            .join("backups")
            .join(kind)
    }

    /// Writes `content` to the file `name` in the sandbox's folder; its path.
    pub fn write_file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, content).expect("write a test file");
        path
    }

    pub fn vault_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.vault).expect("vault file")
    }

    /// The vault's data key in hex, opened in the test through the library (never the CLI).
    pub fn data_key_hex(&self) -> String {
        use sesame::container::UnlockedVault;
        use sesame::secret::Passphrase;
        let pass = Passphrase::new(zeroize::Zeroizing::new(PASS.as_bytes().to_vec()));
        let unlocked = UnlockedVault::open(&self.vault_bytes(), &pass, &self.vault).unwrap();
        hex(unlocked.data_key().unwrap().expose())
    }
}

/// The arguments of `slot add bao-transit --mount MOUNT --key sesame`.
pub fn transit_slot_add(mount: &str) -> [&str; 7] {
    [
        "slot",
        "add",
        "bao-transit",
        "--mount",
        mount,
        "--key",
        "sesame",
    ]
}

/// The variables of the developer's environment no test process may inherit: they would point
/// sesame at a real vault, agent, OpenBao server or SSH agent.
fn inherited_by_mistake(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    ["SESAME_", "BAO_", "VAULT_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || name == "SSH_AUTH_SOCK"
}

/// `program`, detached from the terminal the tests were started from (see the module header).
/// The test may still set stdin, the environment and the working folder as it needs.
pub fn command(program: impl AsRef<OsStr>) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(program);
    for (name, _) in std::env::vars_os() {
        if inherited_by_mistake(&name) {
            cmd.env_remove(name);
        }
    }
    cmd.stdin(Stdio::null());
    // SAFETY: the closure runs in the forked child before exec and only calls setsid(2), which
    // is async-signal-safe and touches no memory shared with the parent.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(|| {
            rustix::process::setsid()
                .map(drop)
                .map_err(std::io::Error::from)
        });
    }
    cmd
}

/// The binary under test, through [`command`].
pub fn sesame() -> std::process::Command {
    command(sesame_path())
}

/// The path of the binary under test (for a shell line that runs it as `$SESAME`).
pub fn sesame_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("sesame")
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `cmd` to its end, failing the test if it takes more than 30 s (a hang guard).
pub fn with_deadline(mut cmd: std::process::Command) -> std::process::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let input = child.stdin.take();
        let _ = tx.send(child.wait_with_output());
        drop(input);
    });
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("sesame did not finish within 30 s")
        .unwrap()
}

/// Counts the copies of each `(name, hex)` needle in process `pid`'s memory with
/// `tools/scan_agent_memory.py` (one line `NAME copies=N` each, or `copies=N` for a lone
/// unnamed needle). `None`, with a note, where the scan cannot run: reading the memory of
/// sesame (non-dumpable) needs root, and the tool needs python3.
pub fn scan_memory(pid: u32, needles: &[(&str, &str)]) -> Option<String> {
    if !rustix::process::getuid().is_root() {
        eprintln!("skipped: reading a non-dumpable process's memory needs root (CAP_SYS_PTRACE)");
        return None;
    }
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/scan_agent_memory.py");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(&tool).arg(pid.to_string());
    for (name, needle) in needles {
        if name.is_empty() {
            cmd.arg(needle);
        } else {
            cmd.arg(format!("{name}={needle}"));
        }
    }
    match cmd.output() {
        Ok(out) if out.status.success() => {
            Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        other => {
            eprintln!("skipped: tools/scan_agent_memory.py could not run: {other:?}");
            None
        }
    }
}

impl Drop for Sandbox {
    /// Stops the agents this sandbox started (they would also end once the vault is deleted).
    fn drop(&mut self) {
        if self.runtime_dir().join("sesame").exists() {
            let _ = self.bare().args(["lock", "--all"]).output();
        }
    }
}

/// The entry labelled `label` in a JSON array of secrets (`list --json`).
pub fn labelled(list: &serde_json::Value, label: &str) -> serde_json::Value {
    list.as_array()
        .expect("array")
        .iter()
        .find(|s| s["label"] == label)
        .unwrap_or_else(|| panic!("no secret labelled {label:?}: {list}"))
        .clone()
}

fn labels_in(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|s| s["label"].as_str().expect("label").to_string())
        .collect()
}

/// How a finished `sesame` must have ended, said at the end of the command's builder chain.
pub trait Ends {
    /// Runs the command, which must succeed.
    fn succeeds(&mut self) -> Assert;
    /// Runs the command, which must fail with `code` and an error containing `needle` ([`fails`]).
    fn fails_with(&mut self, code: i32, needle: &str) -> Assert;
}

impl Ends for Command {
    fn succeeds(&mut self) -> Assert {
        self.assert().success()
    }
    fn fails_with(&mut self, code: i32, needle: &str) -> Assert {
        fails(self.assert(), code, needle)
    }
}

impl Ends for std::process::Command {
    fn succeeds(&mut self) -> Assert {
        use assert_cmd::assert::OutputAssertExt;
        self.assert().success()
    }
    fn fails_with(&mut self, code: i32, needle: &str) -> Assert {
        use assert_cmd::assert::OutputAssertExt;
        fails(self.assert(), code, needle)
    }
}

/// util-linux `script`, which gives a test a terminal of its own.
pub const SCRIPT: &str = "/usr/bin/script";

/// Whether [`SCRIPT`] is missing, saying so: a test that needs a terminal then passes, skipped.
pub fn script_missing() -> bool {
    let missing = !Path::new(SCRIPT).exists();
    if missing {
        eprintln!("skipped: {SCRIPT} is not installed");
    }
    missing
}

/// Starts `cmd` with its three streams piped, writes `input` to its stdin and closes it; how it
/// ended.
pub fn fed(mut cmd: std::process::Command, input: impl AsRef<[u8]>) -> std::process::Output {
    use std::io::Write;
    let mut child = start_piped(cmd.stderr(Stdio::piped()));
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_ref()).expect("input");
    drop(stdin);
    child.wait_with_output().expect("its output")
}

/// `cmd` started with its stdin and stdout piped (stderr as the caller set it).
fn start_piped(cmd: &mut std::process::Command) -> std::process::Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the program under test")
}

/// [`fed`] for a terminal (`script`): what it showed, as text.
pub fn typed_into(cmd: std::process::Command, input: &str) -> String {
    String::from_utf8_lossy(&fed(cmd, input).stdout).into_owned()
}

/// Starts `cmd` (a [`Sandbox::on_pty`] command) with its stdin piped, its stdout read on a
/// thread of its own into the buffer returned, and its stderr discarded: a terminal a test
/// types on while it watches what it shows.
pub fn spawn_watched(
    mut cmd: std::process::Command,
) -> (
    KilledOnDrop,
    Option<std::process::ChildStdin>,
    Arc<Mutex<Vec<u8>>>,
) {
    use std::io::Read;
    let mut child = start_piped(cmd.stderr(Stdio::null()));
    let keys = child.stdin.take();
    let mut out = child.stdout.take().expect("stdout");
    let shown = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&shown);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    (KilledOnDrop(child), keys, shown)
}

/// A process the test started (a server, an agent, a terminal), killed and waited for when the
/// test lets go of it, also when the test fails.
pub struct KilledOnDrop(pub std::process::Child);

impl std::ops::Deref for KilledOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for KilledOnDrop {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (at most `seconds`, a hang guard) until `shown()`, what a terminal has shown so far,
/// holds `needle` `times` times; what it showed then.
#[track_caller]
pub fn wait_until_shown(
    shown: impl Fn() -> String,
    needle: &str,
    times: usize,
    seconds: u64,
) -> String {
    let start = std::time::Instant::now();
    loop {
        let text = shown();
        if text.matches(needle).count() >= times {
            return text;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(seconds),
            "the terminal never showed {needle:?} {times} time(s) in {seconds} s; it showed:\n{text:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Asserts that `text` contains `needle`, showing `text` when it does not.
#[track_caller]
pub fn assert_has(text: &str, needle: &str) {
    assert!(text.contains(needle), "expected {needle:?} in: {text}");
}

/// Asserts that `text` contains `needle` exactly `times` times, showing `text` when not.
#[track_caller]
pub fn assert_count(text: &str, needle: &str, times: usize) {
    assert_eq!(text.matches(needle).count(), times, "{text:?}");
}

/// Asserts that `text` does not contain `needle`, showing `text` when it does.
#[track_caller]
pub fn assert_lacks(text: &str, needle: &str) {
    assert!(
        !text.contains(needle),
        "did not expect {needle:?} in: {text}"
    );
}

/// stdout of a finished command, as text.
pub fn stdout(a: &Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

/// stderr of a finished command, as text.
pub fn stderr(a: &Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// Asserts a failure with `code` and a `sesame: error:` message containing `needle`.
pub fn fails(a: Assert, code: i32, needle: &str) -> Assert {
    let a = a.code(code);
    let all = stderr(&a);
    // Tests against a dev OpenBao use plain http to loopback, which every such command warns of.
    let err: String = all
        .split_inclusive('\n')
        .skip_while(|l| l.starts_with("sesame: warning: sending the OpenBao token"))
        .collect();
    assert!(
        err.starts_with("sesame: error:") && err.contains(needle),
        "expected an error containing {needle:?}, got: {err}"
    );
    assert!(!err.contains("panicked"), "sesame panicked: {err}");
    a
}

/// The entries of `folder`, sorted (none when it cannot be read).
pub fn files_in(folder: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    all.sort();
    all
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// Writes a passphrase file as a careful user would: mode 0600 (a file others can read gets a
/// warning on stderr).
pub fn write_private(path: &Path, content: impl AsRef<[u8]>) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, content).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// A test process that found the developer's terminal would prompt on it and wait (`cargo test`
/// hung at a terminal): every process runs in a session of its own, so it has no controlling
/// terminal, with stdin at /dev/null.
#[test]
fn test_processes_run_detached_from_the_terminal() {
    let mut child = command("sleep")
        .arg("30")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("sleep");
    let pid = child.id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    let stdin = std::fs::read_link(format!("/proc/{pid}/fd/0")).expect("/proc fd");
    let _ = child.kill();
    let _ = child.wait();
    // After the command name in parentheses: state ppid pgrp session tty_nr ...
    let fields: Vec<&str> = stat[stat.rfind(')').expect("stat") + 2..]
        .split(' ')
        .collect();
    assert_eq!(fields[3], pid.to_string(), "session: {stat}");
    assert_eq!(fields[4], "0", "a controlling terminal: {stat}");
    assert_eq!(stdin, Path::new("/dev/null"));
    for name in [
        "SESAME_VAULT",
        "SESAME_PASSPHRASE",
        "BAO_TOKEN",
        "VAULT_ADDR",
    ] {
        assert!(inherited_by_mistake(OsStr::new(name)), "{name}");
    }
    assert!(inherited_by_mistake(OsStr::new("SSH_AUTH_SOCK")));
    assert!(!inherited_by_mistake(OsStr::new("PATH")));
}

/// Whether the command spawned on the last of `lines` had its stderr set: within its statement
/// (from the last `let`), or, for `let child = cmd.spawn()`, since `let mut cmd`.
fn builder_sets_stderr(lines: &[&str]) -> bool {
    let last = lines.len() - 1;
    let start = lines.iter().rposition(|l| l.contains("let ")).unwrap_or(0);
    if lines[start..].iter().any(|l| l.contains("stderr(")) {
        return true;
    }
    let Some(var) = lines[last]
        .split(".spawn()")
        .next()
        .and_then(|s| s.rsplit(['=', ' ']).next())
        .filter(|v| !v.is_empty())
    else {
        return false;
    };
    let built = format!("let mut {var} ");
    lines
        .iter()
        .rposition(|l| l.contains(&built))
        .is_some_and(|from| lines[from..].iter().any(|l| l.contains("stderr(")))
}

/// The detachment above holds only if no test starts a process by itself.
#[test]
fn every_test_process_is_started_through_the_harness() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let mut strays = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/e2e") {
        let path = entry.expect("entry").path();
        if path.file_name() == Some(OsStr::new("harness.rs")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("test source");
        for needle in ["Command::new(", "cargo_bin(", "Command::from_std("] {
            if text.contains(needle) {
                strays.push(format!("{}: {needle}", path.display()));
            }
        }
        // A spawned process's stderr is the terminal unless the test sets it: a sesame there
        // draws its unlock status line on the developer's screen. (`output()` captures it.)
        let lines: Vec<&str> = text.lines().collect();
        for (i, _) in lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains(".spawn()"))
        {
            if !builder_sets_stderr(&lines[..=i]) {
                strays.push(format!(
                    "{}:{}: spawn without stderr",
                    path.display(),
                    i + 1
                ));
            }
        }
    }
    assert!(
        strays.is_empty(),
        "start processes with harness::command / sesame() / Sandbox::cmd, and set stderr \
         before spawn(): {strays:?}"
    );
}
