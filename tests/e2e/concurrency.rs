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
                        .assert()
                        .success();
                }
            });
        }
    });
    let labels = sb.labels();
    assert_eq!(labels.len(), 100, "{labels:?}");
    assert_eq!(sb.get("a/07"), "value-a-7\n");
    assert_eq!(sb.get("b/49"), "value-b-49\n");
}
