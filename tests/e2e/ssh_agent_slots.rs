//! ssh-agent slots with OpenSSH's own `ssh-agent`, `ssh-add` and `ssh-keygen`: a private agent
//! per test, on a socket in the sandbox.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use assert_cmd::assert::Assert;

use super::age_slots::{age_key, pub_file, ssh_key, tool};
use super::harness::{KilledOnDrop, Sandbox, assert_has, stderr, stdout};

/// A running `ssh-agent -D` on a socket of the sandbox; stopped on drop.
struct SshAgent {
    /// Held for its drop, which stops the process.
    _process: KilledOnDrop,
    socket: PathBuf,
}

impl SshAgent {
    fn start(sb: &Sandbox) -> SshAgent {
        let socket = sb.path("ssh-agent.sock");
        let child = Process::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh-agent (install openssh-client)");
        let started = Instant::now();
        while !socket.exists() && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        SshAgent {
            _process: KilledOnDrop(child),
            socket,
        }
    }

    fn add(&self, key: &Path) {
        let out = Process::new("ssh-add")
            .arg("-q")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .output()
            .expect("ssh-add");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn remove_all(&self) {
        let out = Process::new("ssh-add")
            .arg("-D")
            .env("SSH_AUTH_SOCK", &self.socket)
            .output()
            .expect("ssh-add");
        assert!(out.status.success());
    }

    /// `sesame` with the vault and this agent, and no passphrase.
    fn sesame(&self, sb: &Sandbox) -> Command {
        let mut cmd = sb.bare();
        cmd.env("SESAME_VAULT", &sb.vault)
            .env("SSH_AUTH_SOCK", &self.socket);
        cmd
    }

    /// `sesame ARGS` with the vault, the passphrase and this agent, which must succeed.
    fn succeeds(&self, sb: &Sandbox, args: &[&str]) -> Assert {
        self.sesame_with_passphrase(sb)
            .args(args)
            .assert()
            .success()
    }

    /// `sesame get LABEL` with only this agent to open the vault, which must succeed.
    fn get(&self, sb: &Sandbox, label: &str) -> Assert {
        self.sesame(sb).args(["get", label]).assert().success()
    }

    /// `sesame` with the vault, the passphrase and this agent.
    fn sesame_with_passphrase(&self, sb: &Sandbox) -> Command {
        let mut cmd = sb.cmd();
        cmd.env("SSH_AUTH_SOCK", &self.socket);
        cmd
    }
}

fn fingerprint(key: &Path) -> String {
    let line = tool("ssh-keygen", &["-l", "-f", &pub_file(key)]);
    line.split(' ').nth(1).unwrap_or_default().to_string()
}

#[test]
fn ed25519_and_rsa_keys_in_ssh_agent_open_the_vault_without_a_passphrase() {
    let sb = Sandbox::new();
    sb.add("api/key", "s3cret-value");
    let agent = SshAgent::start(&sb);
    let ed = ssh_key(&sb, "id_ed25519", "ed25519", "");
    let rsa = ssh_key(&sb, "id_rsa", "rsa", "");
    agent.add(&ed);
    agent.add(&rsa);
    // The default key: the agent's only ed25519 key.
    agent.succeeds(&sb, &["slot", "add", "ssh-agent"]);
    agent.succeeds(
        &sb,
        &["slot", "add", "ssh-agent", "--key", &fingerprint(&rsa)],
    );
    let got = agent.get(&sb, "api/key");
    assert_eq!(stdout(&got), "s3cret-value\n");
    let status = agent.sesame(&sb).arg("status").assert().success();
    assert_has(&stdout(&status), "opened by  slot 1 (ssh-agent)");
    let list = agent.sesame(&sb).args(["slot", "list"]).assert().success();
    let list = stdout(&list);
    assert!(
        list.contains(&format!("ssh-ed25519 {}", fingerprint(&ed))),
        "{list}"
    );
    assert!(
        list.contains(&format!("ssh-rsa {}", fingerprint(&rsa))),
        "{list}"
    );
    // Without the ed25519 key, the RSA slot opens it.
    Process::new("ssh-add")
        .arg("-d")
        .arg(pub_file(&ed))
        .env("SSH_AUTH_SOCK", &agent.socket)
        .output()
        .expect("ssh-add -d");
    let got = agent.get(&sb, "api/key");
    assert_eq!(stdout(&got), "s3cret-value\n");
}

/// A vault holding `api/key` and an agent holding the ed25519 key `id_ed25519` (no passphrase).
fn vault_and_agent_with_ed25519() -> (Sandbox, SshAgent) {
    let sb = Sandbox::new();
    sb.add("api/key", "s3cret-value");
    let agent = SshAgent::start(&sb);
    let ed = ssh_key(&sb, "id_ed25519", "ed25519", "");
    agent.add(&ed);
    (sb, agent)
}

#[test]
fn ecdsa_keys_cannot_make_an_ssh_agent_slot() {
    let sb = Sandbox::new();
    let agent = SshAgent::start(&sb);
    let ec = ssh_key(&sb, "id_ecdsa", "ecdsa", "");
    agent.add(&ec);
    let out = agent
        .sesame_with_passphrase(&sb)
        .args(["slot", "add", "ssh-agent", "--key", &pub_file(&ec)])
        .assert()
        .code(2);
    assert_has(&stderr(&out), "ECDSA signatures are randomized");
}

#[test]
fn the_default_key_must_be_the_agents_only_ed25519_key() {
    let sb = Sandbox::new();
    let agent = SshAgent::start(&sb);
    let one = ssh_key(&sb, "one", "ed25519", "");
    let two = ssh_key(&sb, "two", "ed25519", "");
    agent.add(&one);
    agent.add(&two);
    let out = agent
        .sesame_with_passphrase(&sb)
        .args(["slot", "add", "ssh-agent"])
        .assert()
        .code(2);
    let err = stderr(&out);
    assert_has(&err, "choose the agent's key with --key");
    assert!(
        err.contains(&fingerprint(&one)) && err.contains(&fingerprint(&two)),
        "{err}"
    );
    agent.succeeds(&sb, &["slot", "add", "ssh-agent", "--key", &pub_file(&two)]);
}

#[test]
fn an_agent_without_the_key_falls_through_to_the_next_source() {
    let (sb, agent) = vault_and_agent_with_ed25519();
    agent.succeeds(&sb, &["slot", "add", "ssh-agent"]);
    agent.remove_all();
    let got = agent.succeeds(&sb, &["get", "api/key"]);
    assert_eq!(stdout(&got), "s3cret-value\n");
    assert_has(&stderr(&got), "it does not hold the slot's key");
    // No passphrase either: the note, then "no passphrase source".
    let out = agent.sesame(&sb).args(["get", "api/key"]).assert().code(2);
    assert_has(&stderr(&out), "trying the next source");
}

#[test]
fn rekey_keeps_every_slot_it_can_reach_and_refuses_otherwise() {
    let (sb, agent) = vault_and_agent_with_ed25519();
    let (identity, recipient) = age_key(&sb, "me.txt");
    agent.succeeds(&sb, &["slot", "add", "ssh-agent"]);
    agent.succeeds(&sb, &["slot", "add", "age", "-r", &recipient]);
    agent.succeeds(&sb, &["rekey", "--no-recovery"]);
    let got = agent.get(&sb, "api/key");
    assert_eq!(stdout(&got), "s3cret-value\n");
    let got = sb.get_with_identity("api/key", &identity).success();
    assert_eq!(stdout(&got), "s3cret-value\n");
    // The agent no longer holds the key: rekey refuses, or drops the slot when told to.
    agent.remove_all();
    let out = agent
        .sesame_with_passphrase(&sb)
        .args(["rekey", "--no-recovery"])
        .assert()
        .code(2);
    assert_has(&stderr(&out), "--drop-unreachable");
    agent.succeeds(&sb, &["rekey", "--no-recovery", "--drop-unreachable"]);
    let list = sb.succeeds(["slot", "list"]);
    let list = stdout(&list);
    assert!(
        !list.contains("ssh-agent") && list.contains("name=age"),
        "{list}"
    );
}

#[test]
fn an_ssh_agent_slot_copied_from_another_vault_is_refused() {
    let a = Sandbox::new();
    a.add("api/key", "s3cret-value");
    let b = Sandbox::new();
    let agent = SshAgent::start(&a);
    let ed = ssh_key(&a, "id_ed25519", "ed25519", "");
    agent.add(&ed);
    for sb in [&a, &b] {
        agent.succeeds(sb, &["slot", "add", "ssh-agent"]);
    }
    // The two slot records have the same length (same key): put B's in place of A's.
    let record = |bytes: &[u8]| {
        let at = bytes
            .windows(6)
            .rposition(|w| w[..2] == [5, 0] && w[2..] == [153, 0, 0, 0])
            .expect("an ssh-agent slot record");
        at..at + 6 + 153
    };
    let (a_bytes, b_bytes) = (a.vault_bytes(), b.vault_bytes());
    let (in_a, in_b) = (record(&a_bytes), record(&b_bytes));
    let mut moved = a_bytes.clone();
    moved[in_a].copy_from_slice(&b_bytes[in_b]);
    std::fs::write(&a.vault, &moved).expect("write");
    let out = agent.sesame(&a).args(["get", "api/key"]).assert().code(3);
    assert_has(&stderr(&out), "does not open its ssh-agent slot");
}
