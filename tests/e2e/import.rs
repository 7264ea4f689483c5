//! `import --dotenv` on hostile or unusual input: references, FIFOs, files past the cap, a flood
//! of repeated lines, env names another secret already has.

use std::time::Duration;

use super::harness::*;

/// `export` writes `NAME=sesame://LABEL`; importing that file stored the text `sesame://LABEL` as
/// new secrets' values (9 junk secrets for 9 lines). References are skipped and counted.
#[test]
fn import_skips_references_instead_of_storing_them_as_values() {
    let sb = Sandbox::with_secrets(&[("openai/prod", "sk-proj-0001"), ("github", "ghp-0001")]);
    let refs = sb.succeeds(["export", "--dotenv"]);
    let file = sb.write_file(
        "refs.env",
        format!(
            "{}TEAM=bao://secret/app#token\nNEW_KEY=sk-new-0001\n",
            stdout(&refs)
        ),
    );
    let a = sb.import(&file).success();
    let err = stderr(&a);
    assert_has(&err, "Skipped 3 references");
    assert_has(&err, "1 added");
    let mut labels = sb.labels();
    labels.sort();
    assert_eq!(labels, ["github", "new-key", "openai/prod"]);
    // A file of references only: nothing to import, and no advice to shred a file of pointers.
    let only = sb.write_file("only-refs.env", stdout(&refs));
    let a = fails(
        sb.import(&only),
        2,
        "holds only references (2 NAME=sesame://LABEL or bao:// lines",
    );
    assert_lacks(&stderr(&a), "shred");
}

/// A FIFO (or a file swapped for one) hung `import` until it was killed: refused at once.
#[test]
fn import_refuses_a_fifo_without_waiting_for_a_writer() {
    let sb = Sandbox::new();
    let fifo = sb.path("env.fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    sb.cmd()
        .args(["import", "--dotenv"])
        .arg(&fifo)
        .timeout(Duration::from_secs(20))
        .fails_with(2, "is not a regular file");
}

/// Files were read up to 64 MiB; the cap is 16 MiB now, and the message says it.
#[test]
fn import_refuses_a_file_over_16_mib_and_says_the_cap() {
    let sb = Sandbox::new();
    let big = sb.path("big.env");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(16 * 1024 * 1024 + 1).unwrap();
    fails(
        sb.import(&big),
        2,
        "larger than the 16MiB a dotenv file may be",
    );
}

/// A million repeated lines printed 999,999 warnings: at most ten are shown, then a count.
#[test]
fn import_caps_repeated_warnings_with_a_count() {
    let sb = Sandbox::new();
    let env = sb.path("dup.env");
    let mut text = String::new();
    for i in 0..5000 {
        text.push_str(&format!("SAME=value-{i}\n"));
    }
    std::fs::write(&env, text).unwrap();
    let a = sb.import(&env).success();
    let err = stderr(&a);
    let warnings = err.matches("sesame: warning:").count();
    assert_eq!(warnings, 11, "{err}");
    assert_has(&err, "4989 more warnings not shown");
    assert_eq!(sb.get("same"), "value-4999\n");
}

/// `add` warns when another secret already has the env name (`run --all` refuses the pair);
/// `import` said nothing.
#[test]
fn import_warns_when_an_env_name_is_already_taken() {
    let sb = Sandbox::new();
    sb.with_stdin(["add", "openai", "--env", "OPENAI_API_KEY"], "sk-0001")
        .succeeds();
    let env = sb.write_file(".env", "OPENAI_API_KEY=sk-0002\n");
    let a = sb.import(&env).success();
    let err = stderr(&a);
    assert_has(&err, "openai already uses the env name OPENAI_API_KEY");
}

/// The insert into a sorted list made import quadratic (160,000 lines: 61 s). 50,000 lines in
/// random label order, all present and sorted afterwards (no timing asserted: the figures are in
/// docs/PERFORMANCE.md).
#[test]
fn import_of_many_unsorted_lines_keeps_every_secret_in_order() {
    let sb = Sandbox::new();
    sb.add("key-m", "existing-value");
    let env = sb.path("many.env");
    let mut text = String::new();
    // A fixed permutation of 0..50,000 (7919 is prime, coprime with 50,000).
    for i in 0..50_000u64 {
        let n = (i * 7919) % 50_000;
        text.push_str(&format!("KEY_{n:05}=v{n}\n"));
    }
    std::fs::write(&env, text).unwrap();
    let a = sb
        .cmd()
        .args(["import", "--dotenv"])
        .arg(&env)
        .timeout(Duration::from_secs(120))
        .succeeds();
    assert_has(&stderr(&a), "50000 added");
    let labels = sb.labels();
    assert_eq!(labels.len(), 50_001);
    assert!(labels.windows(2).all(|w| w[0] < w[1]), "not sorted");
    assert_eq!(sb.get("key-m"), "existing-value\n");
    assert_eq!(sb.get("key-31337"), "v31337\n");
}
