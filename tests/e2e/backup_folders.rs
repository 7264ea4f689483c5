//! The backups folders as someone else may have left them: a `backups` or `backups/auto` that
//! is a symbolic link, copies opened as vaults, files planted where copies go.

use std::path::PathBuf;

use super::harness::*;

#[test]
fn a_backups_folder_that_is_a_symbolic_link_is_refused_and_nothing_is_written_or_pruned_through_it()
{
    // Generations and copies were written into the link's target, and pruning deleted three
    // files there.
    for linked in ["backups", "backups/auto"] {
        let sb = Sandbox::new();
        sb.add("svc", "value-0123456789abcdef");
        let folder = sb.vault.parent().unwrap().join(linked);
        std::fs::remove_dir_all(sb.vault.parent().unwrap().join("backups")).unwrap();
        std::fs::create_dir_all(folder.parent().unwrap()).unwrap();
        let target = sb.path("elsewhere");
        std::fs::create_dir_all(&target).unwrap();
        // Files named as generations of this vault, which pruning would delete.
        for i in 0..12 {
            std::fs::write(
                target.join(format!(
                    "vault-2020010{}T000000.00{}Z.sesame",
                    i % 9 + 1,
                    i % 10
                )),
                "not mine to delete",
            )
            .unwrap();
        }
        std::fs::create_dir_all(target.join("auto")).unwrap();
        std::os::unix::fs::symlink(&target, &folder).unwrap();
        let before = (
            files_in(&target),
            files_in(&target.join("auto")),
            sb.vault_bytes(),
        );

        let a = sb
            .with_stdin(["add", "other"], "value-abcdef0123456789")
            .assert();
        fails(a, 1, "is a symbolic link");
        if linked == "backups" {
            sb.fails_with(["backup"], 1, "is a symbolic link");
        }
        sb.fails_with(["backups"], 1, "is a symbolic link");
        let after = (
            files_in(&target),
            files_in(&target.join("auto")),
            sb.vault_bytes(),
        );
        assert!(
            before == after,
            "{linked}: something changed behind the link"
        );

        // Without automatic copies the write goes on (and writes nothing through the link).
        sb.cmd()
            .env("SESAME_AUTO_BACKUPS", "0")
            .args(["add", "other"])
            .write_stdin("value-abcdef0123456789")
            .succeeds();
        assert_eq!(files_in(&target), before.0);
    }
}

#[test]
fn a_copy_in_a_backups_folder_opens_read_only_with_no_files_beside_it() {
    // Reading a generation as a vault created its .lock and .log in backups/auto (never
    // pruned); a write created backups/auto/backups/auto/….
    let sb = Sandbox::with_secrets(&[
        ("svc", "value-0123456789abcdef"),
        ("other", "value-abcdef0123456789"),
    ]);
    let auto = sb.backups("auto");
    let before = files_in(&auto);
    let copy = before.last().unwrap().clone();
    let a = sb
        .cmd()
        .env("SESAME_VAULT", &copy)
        .args(["get", "svc"])
        .succeeds();
    assert_eq!(stdout(&a), "value-0123456789abcdef\n");
    sb.cmd()
        .env("SESAME_VAULT", &copy)
        .args(["run", "--env", "SVC=svc", "--", "true"])
        .succeeds();
    let a = sb
        .cmd()
        .env("SESAME_VAULT", &copy)
        .args(["add", "third"])
        .write_stdin("value-0000000000000000")
        .assert();
    fails(a, 2, "opens read-only");
    sb.cmd()
        .env("SESAME_VAULT", &copy)
        .args(["rm", "svc", "--yes"])
        .fails_with(2, "sesame restore");
    sb.cmd()
        .env("SESAME_VAULT", &copy)
        .arg("backup")
        .fails_with(2, "name where the new copy goes");
    let elsewhere = sb.path("kept.sesame");
    sb.cmd()
        .env("SESAME_VAULT", &copy)
        .arg("backup")
        .arg(&elsewhere)
        .succeeds();
    assert_eq!(files_in(&auto), before, "files appeared beside the copies");
    // A manual copy in backups/ too.
    let a = sb.ok(["backup"]);
    let manual = PathBuf::from(a.trim());
    let manual_folder = files_in(manual.parent().unwrap());
    sb.cmd()
        .env("SESAME_VAULT", &manual)
        .args(["get", "svc"])
        .succeeds();
    sb.cmd()
        .env("SESAME_VAULT", &manual)
        .args(["add", "x"])
        .write_stdin("value-0000000000000000")
        .fails_with(2, "opens read-only");
    assert_eq!(files_in(manual.parent().unwrap()), manual_folder);
    // The vault itself is untouched and still writable.
    sb.add("third", "value-1111111111111111");
}

#[test]
fn files_planted_as_copies_are_judged_by_their_header_and_listed_as_damaged() {
    // 20 sparse 256 MiB "copies" were each read whole by `backups` (10.5 s) and `passwd`
    // (4.4 s), and `verify`/`restore` read a whole 256 MiB file before checking its magic.
    let sb = Sandbox::new();
    sb.add("svc", "value-0123456789abcdef");
    let auto = sb.backups("auto");
    for i in 0..20 {
        let f = std::fs::File::create(auto.join(format!(
            "vault-2020010{}T0000{:02}Z.sesame",
            i % 9 + 1,
            i
        )))
        .unwrap();
        f.set_len(256 << 20).unwrap();
    }
    // A well-formed header with a sparse tail it does not announce.
    let padded = sb.write_file("padded.sesame", sb.vault_bytes());
    std::fs::OpenOptions::new()
        .write(true)
        .open(&padded)
        .unwrap()
        .set_len(200 << 20)
        .unwrap();

    let rows = sb.json(["backups", "--json"]);
    let damaged = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["opens_with"] == "damaged")
        .count();
    assert_eq!(damaged, 20, "{rows}");
    let a = sb
        .cmd()
        .args(["verify", "--structure-only"])
        .arg(auto.join("vault-20200101T000000Z.sesame"))
        .assert();
    fails(a, 4, "does not start with sesame's magic bytes");
    let a = sb
        .cmd()
        .args(["verify", "--structure-only"])
        .arg(&padded)
        .assert();
    fails(a, 4, "unexpected bytes follow the payload");
    let a = sb.cmd().args(["restore", "--force"]).arg(&padded).assert();
    fails(a, 4, "unexpected bytes follow the payload");
    sb.cmd()
        .args(["passwd"])
        .env(
            "SESAME_NEW_PASSPHRASE",
            "another passphrase for the vault 42",
        )
        .succeeds();
}
