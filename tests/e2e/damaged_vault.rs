//! `restore` over a damaged vault, the case it exists for, and generations that stay sound: a
//! damaged vault is set aside once in `backups/damaged/`, never kept as a generation, and pruning
//! never trades a sound generation for a damaged file.

use std::path::PathBuf;

use super::harness::*;

/// Truncated, emptied or overwritten with garbage: `restore --force COPY` failed with "keeping its
/// previous version … failed" and left a damaged "generation" at every try.
#[test]
fn restore_over_a_truncated_empty_or_garbage_vault_sets_it_aside_once() {
    let sb = Sandbox::new();
    sb.add("api", "sk-restore-0001");
    let copy = sb.backup_to("copy.sesame");
    let auto = sb.backups("auto");
    let damaged = sb.backups("damaged");
    let whole = sb.vault_bytes();
    let garbage = vec![0x5a; 200];
    for (what, bytes) in [
        ("truncated", whole[..whole.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("garbage", garbage.clone()),
    ] {
        let generations_before = files_in(&auto);
        // Three tries each: the damaged file is set aside once, never as a generation.
        for _ in 0..3 {
            std::fs::write(&sb.vault, &bytes).unwrap();
            let a = sb.cmd().arg("restore").arg(&copy).arg("--force").succeeds();
            assert!(stderr(&a).contains("Restored"), "{what}: {}", stderr(&a));
            assert_eq!(sb.get("api"), "sk-restore-0001\n", "{what}");
        }
        assert_eq!(
            files_in(&auto),
            generations_before,
            "{what}: a new generation"
        );
        let aside: Vec<Vec<u8>> = files_in(&damaged)
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        let copies = aside.iter().filter(|b| **b == bytes).count();
        let expected = usize::from(!bytes.is_empty());
        assert_eq!(copies, expected, "{what}: set aside {copies} times");
    }
    assert_eq!(
        files_in(&damaged).len(),
        2,
        "the truncated and the garbage file"
    );
    for file in files_in(&damaged) {
        assert_eq!(mode(&file), 0o600);
    }
}

/// Damaged files named like generations (planted, or bit rot) were counted as generations: ten
/// adds after them pruned every sound generation and kept the damaged ones. They are never
/// counted and never removed; the newest ten sound generations stay.
#[test]
fn pruning_keeps_ten_sound_generations_whatever_damaged_files_sit_beside_them() {
    let sb = Sandbox::new();
    sb.add("first", "v");
    let auto = sb.backups("auto");
    // Nine damaged "generations", newer than any sound one (a 2099 stamp sorts them first).
    for i in 0..9 {
        let name = format!("vault-20991231T00000{i}.000Z.sesame");
        std::fs::write(auto.join(name), [0u8; 200]).unwrap();
    }
    for i in 0..12 {
        sb.add(&format!("k{i}"), "v");
    }
    let all = files_in(&auto);
    let sound: Vec<&PathBuf> = all
        .iter()
        .filter(|p| std::fs::read(p).unwrap() != [0u8; 200])
        .collect();
    assert_eq!(sound.len(), 10, "{all:?}");
    assert_eq!(all.len(), 19, "the damaged files are left alone: {all:?}");
    for g in sound {
        // Each opens: a real generation.
        assert!(!sb.labels_of(g).is_empty());
    }
}
