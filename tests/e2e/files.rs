//! The files sesame keeps as and beside the vault: no symlink or FIFO is followed, a symlinked
//! vault is written through, stale temp files are cleaned; the usage log's versions and what
//! `sesame log` shows of it.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::time::Duration;

use super::harness::*;

/// A guard against a hang: these tests fail, not block, if sesame waits on a FIFO.
const HANG_GUARD: Duration = Duration::from_secs(30);

fn mkfifo(path: &Path) {
    let status = command("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

fn warnings(err: &str) -> usize {
    err.matches("sesame: warning:").count()
}

#[test]
fn a_symlinked_log_or_lock_is_refused_not_followed() {
    // What broke: `<vault>.log` and `<vault>.lock` were opened following symlinks, so someone
    // who could write the vault's folder made sesame create or append to any file the user can
    // write (as root: /etc/nologin).
    let sb = Sandbox::new();
    sb.add("a", "alpha");
    let victim = sb.write_file("victim", "untouched");
    let log = sb.vault.with_file_name("vault.sesame.log");
    std::fs::remove_file(&log).unwrap();
    symlink(&victim, &log).unwrap();
    let a = sb.succeeds(["get", "a"]).stdout("alpha\n");
    assert_has(&stderr(&a), "symbolic link");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    // A lock that is a symlink (here to a file that does not exist yet) is not created through.
    let lock = sb.vault.with_file_name("vault.sesame.lock");
    let planted = sb.path("planted");
    std::fs::remove_file(&lock).unwrap();
    symlink(&planted, &lock).unwrap();
    let a = sb.with_stdin(["add", "b"], "beta").assert();
    fails(a, 1, "symbolic link");
    assert!(!planted.exists());
    assert_eq!(sb.labels(), ["a"]);
}

#[test]
fn a_vault_folder_open_to_others_gets_one_warning_with_the_fix() {
    // What broke: nothing said that a group- or world-writable folder lets others plant files
    // beside the vault.
    let sb = Sandbox::new();
    let folder = sb.vault.parent().unwrap();
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o777)).unwrap();
    for args in [&["list"][..], &["add", "b"]] {
        let a = sb.cmd().args(args).write_stdin("beta").succeeds();
        let err = stderr(&a);
        assert_eq!(warnings(&err), 1, "{err}");
        assert!(
            err.contains("can be written by other users")
                && err.contains(&format!("chmod 700 {}", folder.display())),
            "{err}"
        );
    }
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700)).unwrap();
    let a = sb.succeeds(["list"]);
    assert_eq!(warnings(&stderr(&a)), 0, "{}", stderr(&a));
}

#[test]
fn a_fifo_as_vault_log_or_lock_exits_instead_of_hanging() {
    // What broke: a FIFO as the vault made every command block in open() forever.
    let sb = Sandbox::new();
    sb.add("a", "alpha");
    let log = sb.vault.with_file_name("vault.sesame.log");
    std::fs::remove_file(&log).unwrap();
    mkfifo(&log);
    let a = sb.cmd().args(["get", "a"]).timeout(HANG_GUARD).succeeds();
    assert_has(&stderr(&a), "not a regular file");
    let lock = sb.vault.with_file_name("vault.sesame.lock");
    std::fs::remove_file(&lock).unwrap();
    mkfifo(&lock);
    let a = sb
        .with_stdin(["add", "b"], "beta")
        .timeout(HANG_GUARD)
        .assert();
    fails(a, 1, "not a regular file");
    std::fs::remove_file(&sb.vault).unwrap();
    mkfifo(&sb.vault);
    for args in [&["list"][..], &["add", "c"]] {
        let a = sb
            .cmd()
            .args(args)
            .write_stdin("gamma")
            .timeout(HANG_GUARD)
            .assert();
        fails(a, 4, "not a regular file");
    }
}

#[test]
fn a_symlinked_vault_is_written_through_to_its_target() {
    // What broke: the first write renamed a regular file over the symlink, so the link's target
    // (a synced copy) silently stopped receiving changes.
    let sb = Sandbox::empty();
    let synced = sb.path("sync").join("vault.sesame");
    sb.cmd()
        .env("SESAME_VAULT", &synced)
        .args(FAST_KDF)
        .arg("--no-recovery")
        .succeeds();
    let link_folder = sb.vault.parent().unwrap();
    std::fs::create_dir(link_folder).unwrap();
    symlink(&synced, &sb.vault).unwrap();
    sb.add("a", "alpha");
    assert!(
        std::fs::symlink_metadata(&sb.vault)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let through_target = sb
        .cmd()
        .env("SESAME_VAULT", &synced)
        .args(["get", "a"])
        .succeeds();
    assert_eq!(through_target.get_output().stdout, b"alpha\n");
    // The lock, the log and the temp file are beside the target, not the link.
    assert_eq!(
        std::fs::read_dir(link_folder).unwrap().count(),
        1,
        "only the link is in its folder"
    );
    // One lock for every path to the vault: holding the target's lock blocks writes via the link.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(synced.with_file_name("vault.sesame.lock"))
        .unwrap();
    lock.lock().unwrap();
    let a = sb
        .cmd()
        .env("SESAME_LOCK_TIMEOUT", "1s")
        .args(["add", "b"])
        .write_stdin("beta")
        .assert();
    fails(a, 6, "busy");
    drop(lock);
    // A link whose target is missing is not followed: reads fail and init will not replace it.
    std::fs::remove_file(&sb.vault).unwrap();
    symlink(sb.path("nowhere"), &sb.vault).unwrap();
    sb.fails_with(["list"], 4, "symbolic link");
    fails(sb.init(), 2, "already exists");
    assert!(!sb.path("nowhere").exists());
}

#[test]
fn stale_temp_files_from_killed_writers_are_removed_on_the_next_write() {
    // What broke: `kill -9` during a write left `.vault.sesame.*.tmp` files that were never
    // cleaned (3 after 360 kills).
    let sb = Sandbox::new();
    let folder = sb.vault.parent().unwrap();
    let stale = folder.join(".vault.sesame.Ab3xY9.tmp");
    std::fs::write(&stale, "stale").unwrap();
    let victim = sb.write_file("victim", "untouched");
    let keep = [
        // A symlink with the temp name: never followed or removed.
        folder.join(".vault.sesame.Zz9Zz9.tmp"),
        // Names that are not this vault's temp files.
        folder.join(".vault.sesame.notes.tmp"),
        folder.join(".vault.sesame.log.Ab3xY9.tmp"),
        folder.join("vault.sesame.Ab3xY9.tmp"),
    ];
    symlink(&victim, &keep[0]).unwrap();
    for path in &keep[1..] {
        std::fs::write(path, "keep").unwrap();
    }
    // Reads take no lock and remove nothing.
    sb.labels();
    assert!(stale.exists());
    sb.add("a", "alpha");
    assert!(!stale.exists());
    for path in &keep {
        assert!(
            std::fs::symlink_metadata(path).is_ok(),
            "{}",
            path.display()
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    // The write left no temp file of its own.
    let temps = std::fs::read_dir(folder)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.starts_with(".vault.sesame.") && name.len() == ".vault.sesame.Ab3xY9.tmp".len()
        })
        .count();
    assert_eq!(temps, 1, "only the planted symlink");
}

/// A version 1 log made from a version 2 one: the same records after a header without the key
/// generation.
fn as_version_1(log: &[u8]) -> Vec<u8> {
    let mut v1 = log[..26].to_vec();
    v1[8..10].copy_from_slice(&1u16.to_le_bytes());
    v1.extend_from_slice(&log[30..]);
    v1
}

#[test]
fn version_1_and_2_logs_are_read_and_upgraded_to_version_3_on_the_next_append() {
    // Logs written before version 3 (one key per record; version 1 also without the key
    // generation) still show, with their use counts, and the next event rewrites them as version
    // 3 instead of setting them aside. `tests/vectors/v1-basic.log-v2` was written by sesame
    // before version 3 for the vector vault: `get github/token`, `get openai/prod`, `run --env
    // K=github/token -- true`.
    const VECTOR_PASS: &str = "sesame test vector";
    let v2 = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/v1-basic.log-v2"
    ))
    .unwrap();
    assert_eq!(v2[8..10], 2u16.to_le_bytes());
    for (version, old) in [(2u16, v2.clone()), (1, as_version_1(&v2))] {
        let sb = Sandbox::empty();
        std::fs::create_dir_all(sb.vault.parent().unwrap()).unwrap();
        std::fs::write(
            &sb.vault,
            std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/vectors/v1-basic.sesame"
            ))
            .unwrap(),
        )
        .unwrap();
        let log = sb.vault.with_file_name("vault.sesame.log");
        std::fs::write(&log, &old).unwrap();
        let shown = |sb: &Sandbox| sb.log_actions_with(VECTOR_PASS);
        let before = vec!["run".to_string(), "get".into(), "get".into()];
        assert_eq!(
            shown(&sb),
            (before.clone(), String::new()),
            "version {version}"
        );
        let a = sb
            .with_pass(VECTOR_PASS)
            .args(["list", "--json"])
            .succeeds();
        let list: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
        assert_eq!(list[0]["label"], "github/token");
        assert_eq!(list[0]["use_count"], 2, "version {version}");
        sb.with_pass(VECTOR_PASS)
            .args(["get", "openai/prod"])
            .succeeds();
        let bytes = std::fs::read(&log).unwrap();
        assert_eq!(bytes[8..10], 3u16.to_le_bytes(), "version {version}");
        let mut after = vec!["get".to_string()];
        after.extend(before);
        assert_eq!(shown(&sb), (after, String::new()), "version {version}");
        assert!(!sb.vault.with_file_name("vault.sesame.log.old").exists());
    }
}

#[test]
fn a_log_of_an_unknown_version_or_damaged_length_is_reported_and_never_appended_to() {
    // The reader rules the audit found missing: an unknown version, and a record length no
    // writer produces, are reported; the writer keeps such a log aside instead of appending.
    let sb = Sandbox::new();
    let log = sb.vault.with_file_name("vault.sesame.log");
    let aside = sb.vault.with_file_name("vault.sesame.log.old");
    let good = std::fs::read(&log).unwrap();
    let mut newer = good.clone();
    newer[8..10].copy_from_slice(&4u16.to_le_bytes());
    // The only record's leading length (the header is 70 bytes).
    let mut damaged = good.clone();
    damaged[70..74].copy_from_slice(&5u32.to_le_bytes());
    for (n, (bytes, reason)) in [
        (newer, "written by a newer sesame"),
        (damaged, "a usage record is malformed"),
        (good[..20].to_vec(), "header that is cut short"),
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::write(&log, &bytes).unwrap();
        let (actions, err) = sb.log_actions();
        assert!(actions.is_empty() && err.contains(reason), "{err}");
        sb.add(&format!("s{n}"), "value");
        assert_eq!(std::fs::read(&aside).unwrap(), bytes, "{reason}");
        std::fs::remove_file(&aside).unwrap();
        assert_eq!(sb.log_actions(), (vec!["add".into()], String::new()));
    }
}

#[test]
fn a_compacted_log_shows_its_summaries_and_keeps_the_use_counts() {
    // `tests/vectors/v1-basic.log-v3-compacted` was written by this format's sesame for the
    // vector vault: 6,200 times `get github/token`, `get openai/prod`, `run --all -- true`, which
    // took it past 2 MiB and compacted it to the newest 20 events per label and the summaries
    // (9,770 bytes). `list` must still count every use, and `log` show what was not kept.
    const VECTOR_PASS: &str = "sesame test vector";
    let sb = Sandbox::empty();
    std::fs::create_dir_all(sb.vault.parent().unwrap()).unwrap();
    let vector = |name: &str| {
        std::fs::read(format!(
            "{}/tests/vectors/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    std::fs::write(&sb.vault, vector("v1-basic.sesame")).unwrap();
    let log = sb.vault.with_file_name("vault.sesame.log");
    std::fs::write(&log, vector("v1-basic.log-v3-compacted")).unwrap();
    let json = |args: &[&str]| {
        let a = sb
            .with_pass(VECTOR_PASS)
            .args(args)
            .arg("--json")
            .succeeds();
        assert!(stderr(&a).is_empty(), "{}", stderr(&a));
        serde_json::from_slice::<serde_json::Value>(&a.get_output().stdout).unwrap()
    };
    let counts = |listed: serde_json::Value| -> Vec<(String, u64)> {
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let label = s["label"].as_str().unwrap().to_string();
                (label, s["use_count"].as_u64().unwrap())
            })
            .collect()
    };
    assert_eq!(
        counts(json(&["list"])),
        [
            ("github/token".to_string(), 12_400),
            ("multi.line".into(), 6_200),
            ("openai/prod".into(), 12_400)
        ]
    );
    let rows = json(&["log"]);
    let rows = rows.as_array().unwrap();
    let compacted: Vec<(&str, u64)> = rows
        .iter()
        .filter(|r| r["action"] == "compacted")
        .map(|r| {
            (
                r["labels"][0].as_str().unwrap(),
                r["events"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        compacted,
        [
            ("github/token", 12_343),
            ("multi.line", 6_166),
            ("openai/prod", 12_342)
        ]
    );
    // The summaries come last (they stand for the oldest events), after the kept events.
    assert!(
        rows[..rows.len() - 3]
            .iter()
            .all(|r| r["action"] != "compacted")
    );
    let one = json(&["log", "multi.line"]);
    assert_eq!(one.as_array().unwrap().last().unwrap()["events"], 6_166);
    // Appending to it goes on counting.
    sb.with_pass(VECTOR_PASS)
        .args(["get", "multi.line"])
        .succeeds();
    assert_eq!(
        counts(json(&["list"]))[1],
        ("multi.line".to_string(), 6_201)
    );
    assert_eq!(json(&["log"])[0]["action"], "get");
    assert!(!sb.vault.with_file_name("vault.sesame.log.old").exists());
}

/// `log nope/x` said "No events recorded yet" (exit 0) for a label that never existed, and
/// `log` had no way to show only recent events.
#[test]
fn log_of_an_unknown_label_exits_5_and_since_and_n_limit_the_events() {
    let sb = Sandbox::new();
    sb.add("a", "value-a");
    sb.get("a");
    sb.get("a");
    sb.fails_with(["log", "nope/x"], 5, "no secret labelled");
    let json = |args: &[&str]| -> usize {
        let a = sb.cmd().arg("log").args(args).arg("--json").succeeds();
        let v: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
        v.as_array().unwrap().len()
    };
    assert_eq!(json(&["a"]), 3, "add and two gets");
    assert_eq!(json(&["-n", "2"]), 2);
    assert_eq!(json(&["--since", "1h", "a"]), 3);
    // A label removed since still has its history in the log.
    sb.succeeds(["rm", "a"]);
    assert_eq!(json(&["a"]), 4);
}
