//! Nothing lost: `backup`, automatic generations, `backups`, `verify`, `restore`, and `.env`
//! import and export, as a user would run them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::harness::*;

/// The vault's automatic generations, oldest first.
fn generations(sb: &Sandbox) -> Vec<PathBuf> {
    let folder = sb.backups("auto");
    let mut all: Vec<PathBuf> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    all.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    all
}

#[test]
fn backup_writes_a_checked_0600_copy_to_a_file_a_folder_or_the_default_place() {
    let sb = Sandbox::new();
    sb.add("openai/prod", "sk-proj-0123456789");
    let to_file = sb.path("copy.sesame");
    let folder = sb.path("elsewhere");
    std::fs::create_dir(&folder).unwrap();

    let a = sb.cmd().arg("backup").arg(&to_file).succeeds();
    assert_eq!(stdout(&a).trim(), to_file.display().to_string());
    assert!(stderr(&a).contains("opens with the vault's current passphrase"));
    let a = sb.cmd().arg("backup").arg(&folder).succeeds();
    let in_folder = PathBuf::from(stdout(&a).trim());
    assert_eq!(in_folder.parent(), Some(folder.as_path()));
    let a = sb.ok(["backup"]);
    let default = PathBuf::from(a.trim());
    assert_eq!(
        default.parent(),
        Some(sb.vault.parent().unwrap().join("backups").as_path())
    );
    let name = default.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("vault-") && name.ends_with("Z.sesame"),
        "{name}"
    );

    for copy in [&to_file, &in_folder, &default] {
        assert_eq!(std::fs::read(copy).unwrap(), sb.vault_bytes());
        assert_eq!(mode(copy), 0o600);
        assert_eq!(sb.labels_of(copy), vec!["openai/prod"]);
    }
    // An existing file is never overwritten.
    sb.cmd()
        .arg("backup")
        .arg(&to_file)
        .fails_with(2, "already exists");
}

#[test]
fn every_write_keeps_the_replaced_vault_and_rm_can_be_undone_with_restore() {
    let sb = Sandbox::with_secrets(&[("keep", "value-keep"), ("precious", "value-precious")]);
    let before_rm = generations(&sb).len();
    sb.succeeds(["rm", "precious"]);
    let gens = generations(&sb);
    assert_eq!(gens.len(), before_rm + 1, "rm kept one generation");
    let newest = gens.last().unwrap();
    assert_eq!(sb.labels_of(newest), vec!["keep", "precious"]);
    assert_eq!(mode(newest), 0o600);

    let json = sb.json(["backups", "--json"]);
    assert_eq!(json[0]["path"], newest.display().to_string());
    assert_eq!(json[0]["kind"], "auto");
    assert_eq!(json[0]["secrets"], 2);
    assert_eq!(json[0]["opens_with"], "the current passphrase");

    let a = sb
        .cmd()
        .arg("restore")
        .arg(newest)
        .arg("--force")
        .succeeds();
    assert!(stderr(&a).contains("only in the copy (brought back): precious"));
    assert_eq!(sb.get("precious"), "value-precious\n");
    // The vault that restore replaced is itself kept.
    let last = generations(&sb).last().cloned().unwrap();
    assert_eq!(sb.labels_of(&last), vec!["keep"]);
}

#[test]
fn generations_keep_the_newest_n_and_sesame_auto_backups_0_turns_them_off() {
    let sb = Sandbox::new();
    for i in 0..5 {
        sb.cmd()
            .env("SESAME_AUTO_BACKUPS", "3")
            .args(["add", &format!("k{i}")])
            .write_stdin("v")
            .succeeds();
    }
    let gens = generations(&sb);
    assert_eq!(gens.len(), 3);
    // The newest three: the vault before the 3rd, 4th and 5th add.
    assert_eq!(sb.labels_of(&gens[0]), vec!["k0", "k1"]);
    assert_eq!(sb.labels_of(&gens[2]), vec!["k0", "k1", "k2", "k3"]);

    sb.cmd()
        .env("SESAME_AUTO_BACKUPS", "0")
        .args(["add", "off"])
        .write_stdin("v")
        .succeeds();
    assert_eq!(
        generations(&sb),
        gens,
        "no generation with SESAME_AUTO_BACKUPS=0"
    );
    sb.cmd()
        .env("SESAME_AUTO_BACKUPS", "many")
        .args(["add", "bad"])
        .write_stdin("v")
        .fails_with(2, "SESAME_AUTO_BACKUPS");
    // The default keeps ten.
    for i in 0..12 {
        sb.add(&format!("d{i}"), "v");
    }
    assert_eq!(generations(&sb).len(), 10);
}

#[test]
fn verify_checks_structure_without_a_key_and_everything_with_one() {
    let sb = Sandbox::with_secrets(&[("a", "value-a"), ("b", "value-b")]);
    let a = sb
        .bare()
        .arg("--vault")
        .arg(&sb.vault)
        .arg("verify")
        .succeeds();
    assert!(stdout(&a).contains("structure  ok"));
    assert!(stdout(&a).contains("not checked (no key)"));
    let a = sb.ok(["verify"]);
    assert_has(&a, "contents   ok (authenticated; 2 secrets, 2 versions");

    // A flipped byte in the payload: the structure is fine, the contents are not.
    let mut damaged = sb.vault_bytes();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    let file = sb.write_file("damaged.sesame", &damaged);
    sb.bare().arg("verify").arg(&file).succeeds();
    sb.cmd()
        .arg("verify")
        .arg(&file)
        .fails_with(4, "failed authentication");

    let truncated = sb.write_file("truncated.sesame", &sb.vault_bytes()[..60]);
    sb.bare()
        .arg("verify")
        .arg(&truncated)
        .fails_with(4, "truncated");
    sb.cmd()
        .arg("verify")
        .arg(&truncated)
        .fails_with(4, "truncated");

    sb.with_pass("wrong")
        .arg("verify")
        .fails_with(3, "wrong passphrase");
    let json = sb.json(["verify", "--json"]);
    assert_eq!(json["authenticated"], true);
    assert_eq!(json["secrets"], 2);
}

#[test]
fn restore_refuses_damaged_copies_and_wrong_passphrases_and_changes_nothing() {
    let sb = Sandbox::new();
    sb.add("a", "value-a");
    let copy = sb.backup_to("copy.sesame");
    sb.add("b", "value-b");
    let vault_before = sb.vault_bytes();
    let gens_before = generations(&sb);

    let mut damaged = std::fs::read(&copy).unwrap();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    let bad = sb.write_file("bad.sesame", &damaged);
    sb.cmd()
        .arg("restore")
        .arg(&bad)
        .arg("--force")
        .fails_with(4, "failed authentication");
    std::fs::write(&bad, b"not a vault at all").unwrap();
    sb.cmd()
        .arg("restore")
        .arg(&bad)
        .arg("--force")
        .fails_with(4, "not a sesame vault");
    // A copy from before `passwd` and `rekey` opens only with the old passphrase.
    sb.passwd("a new passphrase");
    sb.with_pass("a new passphrase")
        .args(["rekey", "--no-recovery"])
        .succeeds();
    let vault_before = {
        assert_ne!(sb.vault_bytes(), vault_before);
        sb.vault_bytes()
    };
    let gens_before = {
        assert!(generations(&sb).len() > gens_before.len());
        generations(&sb)
    };
    sb.with_pass("a new passphrase")
        .arg("restore")
        .arg(&copy)
        .arg("--force")
        .fails_with(3, "wrong passphrase");
    // Without a terminal and without --force: refused, before anything changes.
    let older = sb.path("older.sesame");
    std::fs::copy(generations(&sb).last().unwrap(), &older).unwrap();
    sb.with_pass("a new passphrase")
        .arg("restore")
        .arg(&older)
        .fails_with(2, "--force");
    assert_eq!(sb.vault_bytes(), vault_before);
    assert_eq!(generations(&sb), gens_before);
}

#[test]
fn a_restored_copy_from_before_passwd_still_opens_with_todays_passphrase() {
    let sb = Sandbox::new();
    sb.add("a", "value-a");
    let copy = sb.backup_to("copy.sesame");
    sb.passwd("a new passphrase");
    sb.with_pass("a new passphrase")
        .args(["rm", "a"])
        .succeeds();
    // The copy is of the same data key, so today's passphrase opens it; the vault keeps its keys.
    let a = sb
        .with_pass("a new passphrase")
        .arg("restore")
        .arg(&copy)
        .arg("--force")
        .succeeds();
    assert!(stderr(&a).contains("passphrase and recovery code are unchanged"));
    let get = sb
        .with_pass("a new passphrase")
        .args(["get", "a"])
        .succeeds();
    assert_eq!(stdout(&get), "value-a\n");
    sb.fails_with(["get", "a"], 3, "wrong passphrase");
}

#[test]
fn a_missing_vault_is_restored_byte_for_byte_from_a_copy() {
    let sb = Sandbox::new();
    sb.add("a", "value-a");
    let copy = sb.backup_to("copy.sesame");
    std::fs::remove_file(&sb.vault).unwrap();
    sb.cmd().arg("restore").arg(&copy).arg("--force").succeeds();
    assert_eq!(sb.vault_bytes(), std::fs::read(&copy).unwrap());
    assert_eq!(sb.get("a"), "value-a\n");
}

#[test]
fn passwd_says_how_many_copies_still_open_with_the_old_passphrase_and_prune_removes_them() {
    let sb = Sandbox::new();
    sb.add("a", "value-a");
    sb.succeeds(["backup"]);
    let a = sb.passwd("a new passphrase");
    // The manual copy and the generations of init, add and passwd itself.
    assert!(
        stderr(&a).contains("copies of the vault in") && stderr(&a).contains("backups --prune"),
        "{}",
        stderr(&a)
    );
    let new = |cmd: &mut assert_cmd::Command| {
        cmd.env("SESAME_PASSPHRASE", "a new passphrase");
    };
    let mut prune = sb.cmd();
    new(&mut prune);
    prune.args(["backups", "--prune"]).fails_with(2, "--yes");
    let mut prune = sb.cmd();
    new(&mut prune);
    prune.args(["backups", "--prune", "--yes"]).succeeds();
    let mut list = sb.cmd();
    new(&mut list);
    let out = list.args(["backups", "--json"]).succeeds();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .all(|c| c["opens_with"] == "the current passphrase"),
        "{json}"
    );
}

#[test]
fn kill_9_during_backup_and_restore_leaves_the_vault_whole() {
    let sb = Sandbox::new();
    sb.add("a", "value-a");
    let copy = sb.backup_to("copy.sesame");
    sb.add("b", "value-b");
    for round in 0..30u64 {
        let args: Vec<std::ffi::OsString> = if round % 2 == 0 {
            vec!["restore".into(), copy.clone().into(), "--force".into()]
        } else {
            vec!["backup".into(), sb.path(&format!("b{round}.sesame")).into()]
        };
        let mut child = sb
            .process()
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros((round * 2_654_435_761) % 30_000));
        let _ = child.kill();
        let _ = child.wait();
        let labels = sb.labels();
        assert!(
            labels == vec!["a"] || labels == vec!["a", "b"],
            "round {round}: {labels:?}"
        );
    }
}

#[test]
fn import_reads_a_realistic_dotenv_in_one_write() {
    let sb = Sandbox::new();
    sb.add("stripe-key", "sk_live_old");
    let env = sb.write_file(
        ".env",
        "\u{feff}# Production settings\r\n\
         OPENAI_API_KEY=sk-proj-abc123 # rotated monthly\r\n\
         export GITHUB_TOKEN=\"ghp_0123456789\"\r\n\
         export\tTF_VAR_db_password='p@ss # word'\r\n\
         STRIPE_KEY=sk_live_new\r\n\
         EMPTY=\r\n\
         PRIVATE_KEY=\"-----BEGIN KEY-----\nMIIabc\n-----END KEY-----\"\r\n",
    );
    let gens = generations(&sb).len();
    let a = sb.cmd().args(["import", "--dotenv"]).arg(&env).succeeds();
    let err = stderr(&a);
    assert_has(&err, "4 added, 0 rotated");
    assert_has(&err, "EMPTY skipped");
    assert_has(&err, "Skipped 1 existing label (stripe-key)");
    assert_has(&err, "delete the plaintext file");
    assert!(!err.contains("sk-proj-abc123") && !err.contains("ghp_"));
    assert_eq!(generations(&sb).len(), gens + 1, "one transaction");
    assert_eq!(sb.get("openai-api-key"), "sk-proj-abc123\n");
    assert_eq!(sb.get("github-token"), "ghp_0123456789\n");
    assert_eq!(sb.get("tf-var-db-password"), "p@ss # word\n");
    assert_eq!(
        sb.get("private-key"),
        "-----BEGIN KEY-----\nMIIabc\n-----END KEY-----\n"
    );
    let tf = sb.secret_json("tf-var-db-password");
    assert_eq!(tf["env"], "TF_VAR_db_password");

    // --overwrite rotates, keeping the old value in history; --prefix puts labels under P/.
    sb.cmd()
        .args(["import", "--overwrite", "--dotenv"])
        .arg(&env)
        .succeeds();
    assert_eq!(sb.get("stripe-key"), "sk_live_new\n");
    let history = sb.json(["history", "stripe-key", "--json"]);
    assert_eq!(history.as_array().unwrap().len(), 2);
    sb.cmd()
        .args(["import", "--prefix", "team", "--dotenv"])
        .arg(&env)
        .succeeds();
    assert_eq!(sb.get("team/openai-api-key"), "sk-proj-abc123\n");

    std::fs::write(&env, "A=1\nthis line is wrong\n").unwrap();
    sb.cmd()
        .args(["import", "--dotenv"])
        .arg(&env)
        .fails_with(2, ".env:2:");
}

#[test]
fn importing_10000_lines_is_one_transaction() {
    let sb = Sandbox::new();
    let env = sb.path("big.env");
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&format!("KEY_{i:05}=value-number-{i:05}-0123456789\n"));
    }
    std::fs::write(&env, text).unwrap();
    let gens = generations(&sb).len();
    let a = sb
        .cmd()
        .args(["import", "--dotenv"])
        .arg(&env)
        .timeout(Duration::from_secs(60))
        .succeeds();
    assert_has(&stderr(&a), "10000 added");
    assert_eq!(generations(&sb).len(), gens + 1);
    assert_eq!(sb.list_json().as_array().unwrap().len(), 10_000);
    assert_eq!(sb.get("key-09999"), "value-number-09999-0123456789\n");
    // One log record names every label, the last one too (it used to stop at 500).
    let log = sb.ok(["log", "key-09999"]);
    assert_has(&log, "import");
    assert_has(&log, "from big.env");
}

#[test]
fn export_prints_references_or_with_plaintext_values_that_import_reads_back() {
    let sb = Sandbox::new();
    sb.add("openai/prod", "sk-proj-abc");
    sb.with_stdin(["add", "multi", "--raw"], "line one\nit's \"quoted\"\n")
        .succeeds();
    let refs = sb.succeeds(["export", "--dotenv"]);
    let refs = stdout(&refs);
    assert_has(&refs, "OPENAI_PROD=sesame://openai/prod\n");
    assert!(refs.contains("MULTI=sesame://multi\n"));
    assert!(!refs.contains("sk-proj-abc"));
    // The references work with run --env-file as they are.
    let file = sb.write_file("refs.env", &refs);
    let a = sb
        .cmd()
        .args(["run", "--env-file"])
        .arg(&file)
        .args(["--", "sh", "-c", "printf %s \"$OPENAI_PROD\""])
        .succeeds();
    assert_eq!(stdout(&a), "sk-proj-abc");

    let plain = sb.succeeds(["export", "--dotenv", "--plaintext"]);
    let plain = stdout(&plain);
    assert_has(&plain, "OPENAI_PROD='sk-proj-abc'\n");
    // What export writes, import reads back byte for byte.
    let other = Sandbox::new();
    let file = other.write_file("plain.env", &plain);
    other
        .cmd()
        .args(["import", "--dotenv"])
        .arg(&file)
        .succeeds();
    assert_eq!(other.get("multi"), "line one\nit's \"quoted\"\n\n");
    assert_eq!(other.get("openai-prod"), "sk-proj-abc\n");
}

#[test]
fn export_plaintext_refuses_a_terminal_unless_forced() {
    let sb = Sandbox::new();
    sb.add("openai/prod", "sk-proj-abc");
    let bin = sesame_path();
    let run = |extra: &str| {
        command("script")
            .args(["-qfec"])
            .arg(format!(
                "{} export --dotenv --plaintext {extra}",
                bin.display()
            ))
            .arg("/dev/null")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("SESAME_VAULT", &sb.vault)
            .env("SESAME_PASSPHRASE", PASS)
            .env("XDG_RUNTIME_DIR", sb.runtime_dir())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("script (util-linux) runs")
    };
    let refused = run("");
    let text = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(2), "{text}");
    assert!(
        text.contains("--force") && !text.contains("sk-proj-abc"),
        "{text}"
    );
    let forced = run("--force");
    assert!(String::from_utf8_lossy(&forced.stdout).contains("OPENAI_PROD='sk-proj-abc'"));
}

#[test]
fn an_automatic_generation_is_the_replaced_vault_file_itself_not_a_copy() {
    // Every write used to copy the whole vault into backups/auto and fsync it, doubling the
    // bytes written. The generation is now a hard link to the file about to be replaced: the
    // same inode, the same bytes, and the vault's new file is a different inode.
    use std::os::unix::fs::MetadataExt;
    let sb = Sandbox::new();
    sb.add("first", "v1");
    let before = std::fs::metadata(&sb.vault).unwrap();
    let old_bytes = sb.vault_bytes();
    sb.add("second", "v2");
    let newest = generations(&sb).pop().expect("a generation");
    let kept = std::fs::metadata(&newest).unwrap();
    assert_eq!((kept.dev(), kept.ino()), (before.dev(), before.ino()));
    assert_eq!(std::fs::read(&newest).unwrap(), old_bytes);
    assert_ne!(std::fs::metadata(&sb.vault).unwrap().ino(), before.ino());
    assert_eq!(kept.mode() & 0o777, 0o600);
}

/// Found by the `backup_file` fuzz target: two vaults in one folder, `work.sesame` and
/// `work-2.sesame`, share `backups/auto/`, and a name starting `work-` plus a digit was taken for
/// a copy of `work`. So pruning `work`'s generations deleted `work-2`'s, and `backups` listed them
/// as `work`'s. A copy now belongs to a vault only when the rest of its name is a whole stamp.
#[test]
fn pruning_one_vaults_generations_keeps_those_of_a_vault_whose_name_extends_it() {
    let sb = Sandbox::new();
    let work = sb.vault.parent().unwrap().join("work.sesame");
    let work2 = sb.vault.parent().unwrap().join("work-2.sesame");
    for vault in [&work2, &work] {
        sb.cmd()
            .arg("--vault")
            .arg(vault)
            .args(FAST_KDF)
            .arg("--no-recovery")
            .succeeds();
    }
    let add = |vault: &Path, label: &str| {
        sb.cmd()
            .arg("--vault")
            .arg(vault)
            .env("SESAME_AUTO_BACKUPS", "1")
            .args(["add", label])
            .write_stdin("value")
            .succeeds();
    };
    let auto = sb.backups("auto");
    let of = |stem: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&auto)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!("{stem}-20")))
            .collect();
        names.sort();
        names
    };
    add(&work2, "a");
    let kept = of("work-2");
    assert_eq!(kept.len(), 1);
    add(&work, "a");
    add(&work, "b");
    assert_eq!(of("work").len(), 1, "work keeps one generation");
    assert_eq!(
        of("work-2"),
        kept,
        "work's pruning deleted work-2's generation"
    );
    let listed = sb.succeeds_on(&work, ["backups"]);
    assert!(
        !stdout(&listed).contains("work-2-"),
        "work lists work-2's copies: {}",
        stdout(&listed)
    );
}
