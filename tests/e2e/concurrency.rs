//! Two sesame processes writing at once lose nothing.

use super::harness::*;

#[test]
fn two_writers_adding_50_secrets_each_end_with_all_100() {
    let sb = Sandbox::new();
    std::thread::scope(|scope| {
        for writer in ["a", "b"] {
            let sb = &sb;
            scope.spawn(move || {
                for i in 0..50 {
                    sb.cmd()
                        .args(["add", &format!("{writer}/{i:02}")])
                        .write_stdin(format!("value-{writer}-{i}"))
                        .succeeds();
                }
            });
        }
    });
    let labels = sb.labels();
    assert_eq!(labels.len(), 100, "{labels:?}");
    assert_eq!(sb.get("a/07"), "value-a-7\n");
    assert_eq!(sb.get("b/49"), "value-b-49\n");
}

#[test]
fn concurrent_writers_and_readers_keep_every_change_log_record_and_the_newest_generations() {
    // A writer lets go of the lock once its file is renamed into place and its use logged; the
    // fsync of the folder and the pruning of old generations come after, while the next writer
    // already works. None of that may lose a secret, a log record or a generation.
    let sb = Sandbox::new();
    sb.add("shared", "read-me");
    std::thread::scope(|scope| {
        for writer in 0..4 {
            let sb = &sb;
            scope.spawn(move || {
                for i in 0..8 {
                    sb.cmd()
                        .env("SESAME_AUTO_BACKUPS", "3")
                        .args(["add", &format!("w{writer}/{i}")])
                        .write_stdin(format!("value-{writer}-{i}"))
                        .succeeds();
                }
            });
        }
        let sb = &sb;
        scope.spawn(move || {
            for _ in 0..8 {
                assert_eq!(sb.get("shared"), "read-me\n");
            }
        });
    });
    assert_eq!(sb.labels().len(), 33);
    assert_eq!(sb.get("w3/7"), "value-3-7\n");
    let log = sb.json(["log", "--json"]);
    let count = |action: &str| {
        log.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action)
            .count()
    };
    assert_eq!((count("add"), count("get")), (33, 9), "{log}");
    // The three newest generations: the vault before each of the last three writes.
    let auto = sb.backups("auto");
    let mut gens: Vec<_> = std::fs::read_dir(&auto)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    gens.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    let sizes: Vec<usize> = gens.iter().map(|g| sb.labels_of(g).len()).collect();
    assert_eq!(sizes, [30, 31, 32]);
}
