//! Age plugin slots through the real age plugin protocol: `tools/age-plugin-sesametest` (built
//! here with the `age-plugin` crate's state machines, as real plugins are) put on PATH. Its
//! recipients and identities carry a mode: 0 plain, 1 asks a PIN (`1234`) through the protocol's
//! callbacks, 2 fails on purpose.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;

use super::age_slots::on_pty;
use super::harness::{Sandbox, assert_has, stderr, stdout};

const PLAIN: (&str, &str) = (
    "age1sesametest1qpcxcctfdckkketea7z9nk",
    "AGE-PLUGIN-SESAMETEST-1QPCXCCTFDCKKKETEQLYR3J",
);
const WITH_PIN: (&str, &str) = (
    "age1sesametest1q9cxjm3dddjhj2y7vn5",
    "AGE-PLUGIN-SESAMETEST-1Q9CXJM3DDDJHJ37YD9C",
);
const FAILING: (&str, &str) = (
    "age1sesametest1qfnxz6tvd9hxwtttv4ushtk4pd",
    "AGE-PLUGIN-SESAMETEST-1QFNXZ6TVD9HXWTTTV4USG07386",
);

/// The folder holding `age-plugin-sesametest`, built once per test run in its own target folder
/// (the running `cargo test` may hold the main one).
fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target = root.join("target").join("plugin-build");
        let status = super::harness::command(env!("CARGO"))
            .args([
                "build",
                "--locked",
                "--quiet",
                "-p",
                "age-plugin-sesametest",
            ])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(root)
            .status()
            .expect("cargo");
        assert!(
            status.success(),
            "building tools/age-plugin-sesametest failed"
        );
        target.join("debug")
    })
}

/// PATH with the test plugin first.
fn path_with_plugin() -> String {
    format!(
        "{}:{}",
        plugin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn with_plugin(mut cmd: Command) -> Command {
    cmd.env("PATH", path_with_plugin());
    cmd
}

/// A vault with one secret and an age slot to the plugin `recipient`, and the identity file.
fn vault_with_plugin_slot((recipient, identity): (&str, &str)) -> (Sandbox, PathBuf) {
    let sb = Sandbox::new();
    sb.add("api/key", "s3cret-value");
    with_plugin(sb.cmd())
        .args(["slot", "add", "age", "-r", recipient])
        .assert()
        .success();
    let file = sb.path("plugin-identity.txt");
    std::fs::write(&file, format!("{identity}\n")).expect("identity file");
    (sb, file)
}

#[test]
fn an_age_plugin_identity_opens_the_vault_through_the_plugin_protocol() {
    let (sb, identity) = vault_with_plugin_slot(PLAIN);
    let open = |sb: &Sandbox| {
        let mut cmd = with_plugin(sb.bare());
        cmd.env("SESAME_VAULT", &sb.vault)
            .args(["get", "api/key", "--identity"])
            .arg(&identity);
        cmd
    };
    let got = open(&sb).assert().success();
    assert_eq!(stdout(&got), "s3cret-value\n");
    // rekey re-encrypts through the plugin, with no identity.
    with_plugin(sb.cmd())
        .args(["rekey", "--no-recovery"])
        .assert()
        .success();
    let got = open(&sb).assert().success();
    assert_eq!(stdout(&got), "s3cret-value\n");
    // Without the plugin on PATH, rekey refuses and changes nothing.
    let out = sb.cmd().args(["rekey", "--no-recovery"]).assert().code(1);
    assert_has(&stderr(&out), "install age-plugin-sesametest on PATH");
}

#[test]
fn a_failing_plugin_says_why_and_the_next_source_is_tried() {
    let (sb, identity) = vault_with_plugin_slot(FAILING);
    let got = with_plugin(sb.cmd())
        .args(["get", "api/key", "--identity"])
        .arg(&identity)
        .assert()
        .success();
    assert_eq!(stdout(&got), "s3cret-value\n");
    let err = stderr(&got);
    assert!(
        err.contains("the age key slot was not used") && err.contains("fails on purpose"),
        "{err}"
    );
}

#[test]
fn a_plugin_asking_for_a_pin_is_answered_on_the_terminal_and_refused_without_one() {
    let (sb, identity) = vault_with_plugin_slot(WITH_PIN);
    // No terminal: the plugin gets no PIN and says so; no passphrase either: exit 2.
    let out = with_plugin(sb.bare())
        .env("SESAME_VAULT", &sb.vault)
        .args(["get", "api/key", "--identity"])
        .arg(&identity)
        .assert()
        .code(2);
    assert_has(&stderr(&out), "no PIN was given");
    // On a pseudo-terminal (util-linux `script`), the PIN typed there opens it.
    let line = format!("\"$SESAME\" get api/key --identity {}", identity.display());
    let Some(shown) = on_pty(&sb, &line, "1234\n", &path_with_plugin()) else {
        return;
    };
    assert_has(&shown, "Test PIN for age-plugin-sesametest");
    assert_has(&shown, "s3cret-value");
    // Typed ahead, the PIN is echoed before the prompt turns echo off; never after it.
    let after_prompt = shown.split("Test PIN").nth(1).unwrap_or_default();
    assert!(
        !after_prompt.contains("1234"),
        "the PIN was echoed: {shown}"
    );
}
