//! A private vault per test: a temp folder, an environment with nothing inherited but `PATH`, and
//! helpers that run the real binary the way a user would.

use std::path::{Path, PathBuf};

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
        let mut cmd = Command::cargo_bin("sesame").expect("sesame binary");
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
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("sesame"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("SESAME_VAULT", &self.vault)
            .env("SESAME_PASSPHRASE", PASS)
            .current_dir(self.dir.path());
        cmd
    }

    pub fn add(&self, label: &str, value: &str) {
        self.cmd()
            .args(["add", label])
            .write_stdin(value)
            .assert()
            .success();
    }

    /// `sesame import --dotenv FILE`, with the environment of [`Sandbox::cmd`].
    pub fn import(&self, file: &Path) -> Assert {
        self.cmd().args(["import", "--dotenv"]).arg(file).assert()
    }

    pub fn get(&self, label: &str) -> String {
        let out = self.cmd().args(["get", label]).assert().success();
        String::from_utf8(out.get_output().stdout.clone()).expect("utf-8 value")
    }

    pub fn list_json(&self) -> serde_json::Value {
        let out = self.cmd().args(["list", "--json"]).assert().success();
        serde_json::from_slice(&out.get_output().stdout).expect("list --json is JSON")
    }

    pub fn labels(&self) -> Vec<String> {
        labels_in(&self.list_json())
    }

    /// Labels of the vault file at `path` (a copy or generation), opened with [`PASS`].
    pub fn labels_of(&self, path: &Path) -> Vec<String> {
        let out = self
            .cmd()
            .arg("--vault")
            .arg(path)
            .args(["list", "--json"])
            .assert()
            .success();
        labels_in(&serde_json::from_slice(&out.get_output().stdout).expect("list --json is JSON"))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
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

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

fn labels_in(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|s| s["label"].as_str().expect("label").to_string())
        .collect()
}

/// stderr of a finished command, as text.
pub fn stdout(a: &Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

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
        .skip_while(|l| l.starts_with("sesame: warning: sending the OpenBao token over plain http"))
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
