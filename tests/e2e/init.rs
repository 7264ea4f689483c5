//! `sesame init`: creating a vault, refusing to overwrite, KDF parameters and their units, file
//! modes.

use super::harness::*;
use sesame::format::read::parse_file;
use sesame::format::{FORMAT_VERSION, Slot};
use sesame::slots::passphrase::PassphraseSlot;

fn first_slot_kdf(bytes: &[u8]) -> (u32, u32, u32) {
    let parsed = parse_file(bytes).expect("a vault");
    let slot: &Slot = &parsed.header.slots[0];
    assert_eq!(
        slot.kind,
        sesame::slots::passphrase::KIND,
        "a passphrase slot first"
    );
    let s = PassphraseSlot::parse(&slot.body).unwrap();
    (s.kdf.memory_kib, s.kdf.iterations, s.kdf.parallelism)
}

#[test]
fn init_creates_a_private_vault_in_a_private_folder() {
    let sb = Sandbox::empty();
    let a = sb.init().success();
    assert!(stderr(&a).contains("Created"));
    assert_eq!(mode(&sb.vault), 0o600);
    assert_eq!(mode(sb.vault.parent().unwrap()), 0o700);
    let bytes = sb.vault_bytes();
    let parsed = parse_file(&bytes).expect("a vault");
    assert_eq!(parsed.header.version, FORMAT_VERSION);
    assert_eq!(parsed.header.key_generation, 1);
    assert_eq!(first_slot_kdf(&bytes), (8192, 1, 1));
    assert!(sb.labels().is_empty());
}

#[test]
fn init_refuses_an_existing_vault_without_force() {
    let sb = Sandbox::new();
    sb.add("keep/me", "v1");
    fails(sb.init(), 2, "already exists");
    assert_eq!(sb.labels(), ["keep/me"]);
    sb.cmd()
        .args(FAST_KDF)
        .args(["--no-recovery", "--force"])
        .succeeds();
    assert!(sb.labels().is_empty());
}

#[test]
fn default_kdf_parameters_are_the_documented_ones() {
    // The one test that pays for the defaults: 64 MiB, t = 3, p = 4 (docs/FORMAT.md).
    let sb = Sandbox::empty();
    let a = sb.succeeds(["init", "--no-recovery"]);
    assert_lacks(&stderr(&a), "warning: Argon2id");
    assert_eq!(first_slot_kdf(&sb.vault_bytes()), (65536, 3, 4));
}

#[test]
fn parameters_below_the_defaults_warn_and_below_the_floor_fail() {
    let sb = Sandbox::empty();
    let a = sb.init().success();
    assert!(stderr(&a).contains("warning: Argon2id parameters below the defaults"));

    let sb = Sandbox::empty();
    for args in [
        ["--kdf-memory", "4MiB"],
        ["--kdf-memory", "64"],
        ["--kdf-memory", "8TiB"],
        ["--kdf-iterations", "0"],
        ["--kdf-iterations", "101"],
        ["--kdf-parallelism", "65"],
    ] {
        sb.cmd()
            .args(["init", "--no-recovery"])
            .args(args)
            .assert()
            .code(2);
        assert!(!sb.vault.exists(), "{args:?} created a vault");
    }
}

#[test]
fn default_vault_path_follows_xdg_data_home_then_home() {
    let sb = Sandbox::empty();
    let xdg = sb.path("xdg");
    sb.bare()
        .env("XDG_DATA_HOME", &xdg)
        .env("SESAME_PASSPHRASE", PASS)
        .args(FAST_KDF)
        .arg("--no-recovery")
        .succeeds();
    assert!(xdg.join("sesame/vault.sesame").is_file());

    sb.bare()
        .env("SESAME_PASSPHRASE", PASS)
        .args(FAST_KDF)
        .arg("--no-recovery")
        .succeeds();
    assert!(sb.path(".local/share/sesame/vault.sesame").is_file());
    assert_eq!(mode(&sb.path(".local/share/sesame")), 0o700);
}

#[test]
fn vault_flag_wins_over_the_environment_before_or_after_the_subcommand() {
    let sb = Sandbox::new();
    let other = sb.path("other.sesame");
    sb.cmd()
        .args(["--vault"])
        .arg(&other)
        .args(FAST_KDF)
        .arg("--no-recovery")
        .succeeds();
    sb.cmd()
        .args(["add", "only/other"])
        .arg("--vault")
        .arg(&other)
        .write_stdin("x")
        .succeeds();
    assert!(sb.labels().is_empty());
    sb.succeeds_on(&other, ["get", "only/other"]).stdout("x\n");
}

#[test]
fn commands_on_a_missing_vault_exit_5_and_suggest_init() {
    let sb = Sandbox::empty();
    for args in [
        vec!["get", "a"],
        vec!["list"],
        vec!["rm", "a"],
        vec!["edit", "a", "--note", "n"],
    ] {
        sb.cmd().args(&args).fails_with(5, "sesame init");
    }
    sb.with_stdin(["add", "a"], "v")
        .fails_with(5, "sesame init");
}

#[test]
fn usage_errors_exit_2_with_sesame_prefix() {
    let sb = Sandbox::new();
    sb.fails_with(["frobnicate"], 2, "unrecognized subcommand");
    sb.fails_with(["get"], 2, "required");
    sb.fails_with(["get", "x", "--bogus"], 2, "--bogus");
    sb.succeeds(["--help"]);
    sb.succeeds(["--version"]);
}

#[test]
fn sesame_runs_without_core_dumps() {
    // The passphrase command is a child of sesame and inherits its limits.
    let sb = Sandbox::new();
    if !std::path::Path::new("/proc/self/limits").exists() {
        eprintln!("skipped: no /proc/self/limits on this platform");
        return;
    }
    let a = sb
        .cmd()
        .env_remove("SESAME_PASSPHRASE")
        .env(
            "SESAME_PASSPHRASE_COMMAND",
            format!("grep 'core file' /proc/self/limits >&2; echo '{PASS}'"),
        )
        .arg("list")
        .succeeds();
    let err = stderr(&a);
    let line = err
        .lines()
        .find(|l| l.contains("core file"))
        .expect("limits");
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{line}");
}

#[test]
fn kdf_target_never_chooses_less_than_the_defaults() {
    // `--kdf-target` measures this machine; a target no machine can meet at the defaults
    // (64 MiB over 3 passes in 10 ms) must keep the defaults rather than weaken the vault.
    let sb = Sandbox::empty();
    let a = sb.succeeds(["init", "--no-recovery", "--kdf-target", "10ms"]);
    assert_has(&stderr(&a), "keeping them");
    assert_eq!(first_slot_kdf(&sb.vault_bytes()), (65536, 3, 4));
    // The lanes asked for are kept.
    let sb = Sandbox::empty();
    sb.succeeds([
        "init",
        "--no-recovery",
        "--kdf-target",
        "10ms",
        "--kdf-parallelism",
        "2",
    ]);
    assert_eq!(first_slot_kdf(&sb.vault_bytes()), (65536, 3, 2));
}

#[test]
fn kdf_target_refuses_explicit_memory_or_passes_and_silly_times() {
    let sb = Sandbox::empty();
    for args in [
        ["--kdf-target", "1s", "--kdf-memory", "8MiB"],
        ["--kdf-target", "1s", "--kdf-iterations", "2"],
        ["--kdf-target", "1ms", "--kdf-parallelism", "4"],
        ["--kdf-target", "2h", "--kdf-parallelism", "4"],
        ["--kdf-target", "fast", "--kdf-parallelism", "4"],
    ] {
        let a = sb.cmd().arg("init").args(args).assert().code(2);
        assert!(!sb.vault.exists(), "{args:?}: {}", stderr(&a));
    }
}

/// "Argon2 memory 5242880 KiB is outside 32..=4194304 KiB" for `--kdf-memory 5GiB`.
#[test]
fn kdf_memory_limits_are_said_in_the_unit_typed() {
    let sb = Sandbox::empty();
    sb.fails_with(
        ["init", "--kdf-memory", "5GiB"],
        2,
        "--kdf-memory 5GiB is over the 4GiB limit",
    );
    sb.fails_with(
        ["init", "--kdf-memory", "4MiB"],
        2,
        "--kdf-memory 4MiB is under the 8MiB minimum",
    );
    sb.fails_with(
        ["init", "--kdf-memory", "5000000KiB"],
        2,
        "over the 4194304KiB limit",
    );
}
